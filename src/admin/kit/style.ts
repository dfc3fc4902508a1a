import { readFileSync } from "node:fs";

/**
 * The dashboards' stylesheet (the gateway's and the hub's): system fonts only, tabular
 * numbers, one palette of CSS variables for light and one for dark
 * (`prefers-color-scheme`). State colours are always paired with a word, never colour
 * alone. The stylesheet is `dashboard.css` beside this file (linted as CSS), read once
 * at import; `npm run build` copies it into dist/.
 *
 * @example
 * `<style>${DASHBOARD_CSS}</style>`
 */
export const DASHBOARD_CSS: string = readFileSync(new URL("./dashboard.css", import.meta.url), "utf8");
