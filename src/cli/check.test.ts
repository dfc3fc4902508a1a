// `holdfast check`: loadConfigFile's outcomes as exit codes 0, 1 and 2.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfigFile } from "../config/load.ts";
import { runCheck } from "./check.ts";

const MINIMAL = `
listeners:
  - { name: web, mode: http, listen: ":8080", routes: [{ backend: app }] }
backends:
  app: { servers: [{ name: a, address: "127.0.0.1:3000" }] }
`;

test("loadConfigFile and runCheck: exit codes 0, 1, 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-config-"));
  try {
    const good = join(dir, "good.yaml");
    const bad = join(dir, "bad.yaml");
    writeFileSync(good, MINIMAL);
    writeFileSync(bad, "workers: 0\nlisteners: []\nbackends: {}\n");
    const out: string[] = [];
    const err: string[] = [];
    const w = (to: string[]) => ({ write: (s: string) => to.push(s) });

    assert.equal(runCheck(good, w(out), w(err), {}), 0);
    assert.deepEqual(out, ["ok: 1 listener, 1 backend, 1 server\n"]);

    assert.equal(runCheck(bad, w(out), w(err), {}), 1);
    assert.deepEqual(err, [
      'workers: expected "auto" or an integer >= 1, got 0\n',
      "listeners: needs at least one listener\n",
      "backends: needs at least one backend\n",
    ]);

    err.length = 0;
    const missing = join(dir, "missing.yaml");
    assert.equal(runCheck(missing, w(out), w(err), {}), 2);
    assert.deepEqual(err, [`cannot read ${missing}: no such file\n`]);
    const r = loadConfigFile(missing, {});
    assert.ok(!r.ok && "unreadable" in r);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
