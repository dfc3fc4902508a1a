// Lint: the recommended JS and TypeScript rules; type errors are tsc's job (npm run typecheck).
// The dashboards' browser script and stylesheet are real files linted as browser JS and CSS.
import css from "@eslint/css";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const BROWSER = Object.fromEntries(
  ["window", "document", "location", "history", "navigator", "sessionStorage", "localStorage", "fetch", "EventSource", "setTimeout",
    "clearTimeout", "setInterval", "clearInterval", "requestAnimationFrame", "console", "URL", "Intl", "HTMLElement", "Event"].map((g) => [g, "readonly"]),
);

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "docs/", "bench/results/", ".holdfast/", ".cache/", ".stryker-tmp/", "reports/"] },
  {
    files: ["**/*.{js,mjs,cjs,ts}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: { URL: "readonly", process: "readonly", Buffer: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // Served to browsers as is: a classic script, browser globals only. Written in the
  // ES5 style on purpose (var, apply), so the TypeScript-minded rules stay off here.
  { files: ["src/**/*.js"], languageOptions: { sourceType: "script", globals: BROWSER }, rules: { "no-var": "off", "prefer-spread": "off" } },
  {
    files: ["**/*.css"],
    plugins: { css },
    language: "css/css",
    rules: {
      ...css.configs.recommended.rules,
      // A font stack names newer families first and falls back; that is what stacks are for.
      "css/use-baseline": ["error", { allowPropertyValues: { "font-family": ["ui-monospace"] } }],
    },
  },
);
