/**
 * Builds the browser bundle of `holdfast/client` (DESIGN §7): one self-contained ES
 * module, `dist/browser/holdfast-client.js`, with no bare imports, that a plain
 * `<script type="module">` can import. Run by `npm run build`, `npm test` (so a fresh
 * clone's browser tests load what this builds) and `prepack`.
 *
 * @example
 * // npm run build:browser
 * const { path, bytes, gzipBytes } = await buildBrowserBundle();
 */
import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the bundle goes. */
export const BUNDLE_PATH = join(ROOT, "dist/browser/holdfast-client.js");

export interface BundleReport {
  path: string;
  bytes: number;
  /** gzip -9, what a CDN would send. */
  gzipBytes: number;
  code: string;
}

/**
 * Bundles and minifies `src/client/index.ts` for browsers (ES2022), writing the file
 * atomically so a concurrent reader never sees half of it.
 *
 * @example
 * await buildBrowserBundle("/tmp/holdfast-client.js");
 */
export async function buildBrowserBundle(path = BUNDLE_PATH): Promise<BundleReport> {
  const r = await build({
    entryPoints: [join(ROOT, "src/client/index.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const code = r.outputFiles[0]!.text;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
  return { path, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code, { level: 9 }).length, code };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await buildBrowserBundle();
  console.log(`${r.path}: ${(r.bytes / 1024).toFixed(1)} KiB, ${(r.gzipBytes / 1024).toFixed(1)} KiB gzipped`);
}
