// Golden files, in the style of Caddy's caddyfile_adapt tests: every testdata/NAME.yaml
// is loaded and compared with NAME.json (the normalized config) or NAME.errors.txt (the
// error lines, exact). `UPDATE_GOLDEN=1` rewrites the expected files from the results;
// review the diff before committing it.
//
// In NAME.json, `undefined` is written as null (Config itself holds no null) and the
// testdata folder as <testdata>, so that the files do not depend on the checkout.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { formatIssue } from "./issues.ts";
import { loadConfig } from "./load.ts";

const dir = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";

/** The environment every golden file sees; `${UNSET_*}` variables are missing on purpose. */
const env = {
  HOLDFAST_ADMIN_TOKEN: "test-admin-token",
  REDIS_URL: "redis://redis.internal:6379",
  WORKERS: "4",
  API_PORT: "8080",
  EMPTY: "",
};

const render = (value: unknown): string =>
  `${JSON.stringify(value, (_key, v: unknown) => (v === undefined ? null : v), 2).replaceAll(dir, "<testdata>")}\n`;

const cases = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

test("there are golden files", () => assert.ok(cases.length > 10));

for (const file of cases) {
  const name = file.slice(0, -".yaml".length);
  test(`golden: ${name}`, () => {
    const r = loadConfig(readFileSync(join(dir, file), "utf8"), { env, baseDir: dir });
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
