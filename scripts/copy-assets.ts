/**
 * Copies the files the built package reads at run time besides its compiled modules
 * (the dashboards' stylesheet and script: `src/**\/*.css`, `src/**\/*.js`) into `dist/`,
 * at the same paths. Run by `npm run build`.
 *
 * @example
 * // npm run build
 * copyAssets(); // ["admin/kit/dashboard.css", "admin/dashboard/dashboard.js"]
 */
import { cpSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export function copyAssets(src = join(ROOT, "src"), out = join(ROOT, "dist")): string[] {
  const copied: string[] = [];
  for (const e of readdirSync(src, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !/\.(css|js)$/.test(e.name)) continue;
    const from = join(e.parentPath, e.name);
    const rel = relative(src, from);
    cpSync(from, join(out, rel));
    copied.push(rel);
  }
  return copied;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(`copied ${copyAssets().join(", ")}`);
