// Golden files, in the style of Caddy's caddyfile_adapt tests: every DIR/NAME.yaml is
// loaded and compared with NAME.json (the normalized config) or NAME.errors.txt (the
// error lines, exact). `UPDATE_GOLDEN=1` rewrites the expected files from the results;
// review the diff before committing it. Shared by the gateway's and the hub's configs.
//
// In NAME.json, `undefined` is written as null (configs hold no null of their own) and
// the testdata folder as <testdata>, so that the files do not depend on the checkout.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { ConfigIssue } from "./types.ts";
import { formatIssue } from "./issues.ts";

type Load = (text: string, dir: string) => { ok: true; config: unknown } | { ok: false; issues: readonly ConfigIssue[] };

/**
 * Registers one test per `*.yaml` file in `dir`.
 *
 * @example
 * runGoldenTests(join(import.meta.dirname, "testdata"), (text, dir) => loadConfig(text, { env, baseDir: dir }));
 */
export function runGoldenTests(dir: string, load: Load, minCases = 5): void {
  const update = process.env.UPDATE_GOLDEN === "1";
  const render = (value: unknown): string =>
    `${JSON.stringify(value, (_key, v: unknown) => (v === undefined ? null : v), 2).replaceAll(dir, "<testdata>")}\n`;
  const cases = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

  test(`there are golden files in ${dir}`, () => assert.ok(cases.length >= minCases));

  for (const file of cases) {
    const name = file.slice(0, -".yaml".length);
    test(`golden: ${name}`, () => {
      const r = load(readFileSync(join(dir, file), "utf8"), dir);
      const jsonFile = join(dir, `${name}.json`);
      const errorsFile = join(dir, `${name}.errors.txt`);
      const [actual, expectedFile, otherFile] = r.ok
        ? [render(r.config), jsonFile, errorsFile]
        : [r.issues.map((i) => `${formatIssue(i)}\n`).join(""), errorsFile, jsonFile];
      if (update) {
        writeFileSync(expectedFile, actual);
        rmSync(otherFile, { force: true });
        return;
      }
      assert.ok(!existsSync(otherFile), `${name}: expected ${otherFile}, but the config ${r.ok ? "loaded" : "failed"}:\n${actual}`);
      assert.ok(existsSync(expectedFile), `${name}: no ${expectedFile} (run with UPDATE_GOLDEN=1):\n${actual}`);
      assert.equal(actual, readFileSync(expectedFile, "utf8"));
    });
  }
}
