// reloadFromFile (SIGHUP, `holdfast reload`, --watch and POST /api/reload all call it) on
// an in-process gateway: what it answers, what it counts and logs, what keeps serving.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { reloadFromFile } from "../../src/control/reload.ts";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";

/** A pino logger that keeps every line it writes. */
function recordingLog() {
  const lines: { level: number; msg: string; errors?: string[]; err?: string; file?: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

const yaml = (servers: Backend[], extra = "") => `
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] }
${extra}
backends:
  b:
    servers:
${servers.map((s, i) => `      - { name: s${i}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;

const get = async (port: number) => (await rawExchange(port, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).text;

test("reloadFromFile: a change is applied and summarised; the same file again is 'no changes'; an invalid file is refused, counted and logged, and the old config serves", async () => {
  const [a, b] = [await httpBackend("a"), await httpBackend("b")];
  const dir = mkdtempSync(join(tmpdir(), "holdfast-reload-"));
  const file = join(dir, "gw.yaml");
  writeFileSync(file, yaml([a]));
  const gw = await startGateway(yaml([a]));
  const { log, lines } = recordingLog();
  try {
    writeFileSync(file, yaml([a, b]));
    assert.deepEqual(await reloadFromFile(gw.gw, file, log), { ok: true, summary: "listeners +0 -0 ~0, backends +0 -0 ~1" });
    assert.deepEqual(gw.gw.backends.get("b")!.servers.map((s) => s.name), ["s0", "s1"]);
    assert.deepEqual(await reloadFromFile(gw.gw, file, log), { ok: true, summary: "no changes" });
    assert.equal(gw.gw.counters.reloadFailures, 0);

    writeFileSync(file, yaml([a, b]).replace("servers:", "balance: nope\n    servers:"));
    const bad = await reloadFromFile(gw.gw, file, log);
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.errors.length === 1 && /^backends\.b\.balance: /.test(bad.errors[0]!), JSON.stringify(bad));
    assert.equal(gw.gw.counters.reloadFailures, 1);
    const logged = lines.filter((l) => l.level === 50);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.msg, "reload refused: the new config is invalid; the old one keeps serving");
    assert.deepEqual(logged[0]!.errors, !bad.ok ? bad.errors : []);
    assert.equal(logged[0]!.file, file);
    assert.deepEqual(gw.gw.backends.get("b")!.servers.map((s) => s.name), ["s0", "s1"], "the old config keeps serving");
    assert.match(await get(gw.port()), /^HTTP\/1\.1 200 /);
  } finally {
    await gw.close();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("reloadFromFile: a listener that cannot bind fails the reload with the bind error, counted and logged; the settings that need a restart are named in the summary, comma-separated", async () => {
  const a = await httpBackend("a");
  const taken: Server = createServer();
  taken.listen(0, "127.0.0.1");
  await once(taken, "listening");
  const port = (taken.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), "holdfast-reload-"));
  const file = join(dir, "gw.yaml");
  const gw = await startGateway(yaml([a]));
  const { log, lines } = recordingLog();
  try {
    writeFileSync(file, yaml([a], `  - { name: more, mode: http, listen: 127.0.0.1:${port}, routes: [ { backend: b } ] }`));
    const r = await reloadFromFile(gw.gw, file, log);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.length === 1 && r.errors[0]!.includes("EADDRINUSE"), JSON.stringify(r));
    assert.equal(gw.gw.counters.reloadFailures, 1);
    const logged = lines.filter((l) => l.level === 50);
    assert.deepEqual(logged.map((l) => [l.msg, l.err, l.file]), [["reload failed; the old config keeps serving", !r.ok ? r.errors[0] : "", file]]);
    assert.match(await get(gw.port()), /^HTTP\/1\.1 200 /, "the old config keeps serving");

    // Two settings that apply only on a restart: both named, comma-separated.
    writeFileSync(file, yaml([a]).replace("admin: { listen: 127.0.0.1:0 }", "admin: { listen: 127.0.0.1:0, token: t0ken }\nworkers: 2"));
    const restart = await reloadFromFile(gw.gw, file, log);
    assert.deepEqual(restart, { ok: true, summary: "listeners +0 -0 ~0, backends +0 -0 ~0; needs a restart to apply: admin, workers" });
  } finally {
    await gw.close();
    await a.close();
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("reloadFromFile: reloads run one after the other, each reading the file when its turn comes; during a stop a reload is ignored", async () => {
  const [a, b, c] = [await httpBackend("a"), await httpBackend("b"), await httpBackend("c")];
  const dir = mkdtempSync(join(tmpdir(), "holdfast-reload-"));
  const file = join(dir, "gw.yaml");
  const gw = await startGateway(yaml([a]));
  const { log, lines } = recordingLog();
  try {
    writeFileSync(file, yaml([a, b]));
    const first = reloadFromFile(gw.gw, file, log);
    // Written in the same tick: a reload reads the file only when its turn comes, so both
    // read this one; the second, run after the first applied it, finds nothing to change.
    writeFileSync(file, yaml([a, b, c]));
    const second = reloadFromFile(gw.gw, file, log);
    assert.deepEqual(await first, { ok: true, summary: "listeners +0 -0 ~0, backends +0 -0 ~1" });
    assert.deepEqual(await second, { ok: true, summary: "no changes" }, "the second ran after the first had applied the same file");
    assert.deepEqual(gw.gw.backends.get("b")!.servers.map((s) => s.name), ["s0", "s1", "s2"]);

    const stopped = gw.gw.shutdown(0, 1000); // graceful: stopping from its first instant
    const during = await reloadFromFile(gw.gw, file, log);
    await stopped;
    assert.deepEqual(during, { ok: false, errors: ["the gateway is stopping; the reload was not applied"] });
    assert.equal(gw.gw.counters.reloadFailures, 0, "an ignored reload is not a failed one");
    assert.deepEqual(lines.filter((l) => l.level === 40).map((l) => [l.msg, l.file]), [["reload ignored: the gateway is stopping", file]]);
  } finally {
    await gw.close();
    await Promise.all([a.close(), b.close(), c.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
