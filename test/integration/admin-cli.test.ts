import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Overview } from "../../src/admin/overview.ts";
import { CACHE_MS, startAdmin } from "../../src/admin/server.ts";
import { adminRequest, parseExposition, sumSamples } from "../support/admin.ts";
import { deadPort, httpBackend, type Backend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { waitFor, within } from "../support/wait.ts";
import { BIN, runCli } from "../support/cli.ts";

// The admin surface seen from the command line: `holdfast status` and the admin server
// that `holdfast gateway` starts.

const TOKEN = "s3cret-admin-token";

describe("admin from the command line", () => {
  test("prints the listeners and every server with its state, aligned, without colours when piped", async () => {
    const a = await httpBackend("a");
    const b = await httpBackend("b");
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }, { name: "b", port: b.port }]));
    const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
    try {
      for (let i = 0; i < 4; i++) await (await fetch(`http://127.0.0.1:${gw.port()}/x`)).text();
      await adminRequest(admin.url, "POST", "/api/backends/b/servers/a/drain", { token: TOKEN });
      const r = await runCli(["status", "--admin", admin.url]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes("\u001b["), "no ANSI escapes when stdout is not a TTY");
      const lines = r.stdout.split("\n");
      assert.match(lines[0]!, /^holdfast: up \d+s · pid \d+ · [\d.]+ req\/s · 1\/2 servers up$/);
      const head = lines.find((l) => l.trimStart().startsWith("SERVER"))!;
      assert.ok(head, r.stdout);
      for (const col of ["STATE", "WEIGHT", "ACTIVE", "TUNNELS", "REQ/S", "ERRORS", "P50", "P99", "CHECKS"]) assert.ok(head.includes(col), col);
      const rowA = lines.find((l) => /^ {2}a {2}/.test(l))!;
      const rowB = lines.find((l) => /^ {2}b {2}/.test(l))!;
      assert.match(rowA, /draining/);
      assert.match(rowB, / up /);
      // aligned: the STATE column starts at the same offset on every row
      assert.equal(rowA.indexOf("draining"), head.indexOf("STATE"));
      assert.equal(rowB.indexOf("up "), head.indexOf("STATE"));
      assert.match(r.stdout, /^LISTENER +MODE +ADDRESS/m);
      assert.match(r.stdout, new RegExp(`web +http +127\\.0\\.0\\.1:${gw.port()} +b`));

      const json = await runCli(["status", "--admin", admin.url, "--json"]);
      assert.equal((JSON.parse(json.stdout) as Overview).backends[0]!.servers[0]!.state, "draining");
    } finally {
      await admin.close();
      await gw.close();
      await a.close();
      await b.close();
    }
  });

  test("holdfast gateway serves the admin API: reload through it, healthz 503 once stopping", async () => {
    const a = await httpBackend("a");
    const b = await httpBackend("b");
    const dir = mkdtempSync(join(tmpdir(), "holdfast-admin-"));
    const file = join(dir, "gw.yaml");
    const yaml = (servers: Backend[], extra = "") => `
admin: { listen: 127.0.0.1:0, token: ${TOKEN} }
shutdown: { delay: 1s, timeout: 2s }
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]
backends:
  b:
${extra}
    servers:
${servers.map((x, i) => `      - { name: s${i}, address: 127.0.0.1:${x.port} }`).join("\n")}
`;
    writeFileSync(file, yaml([a]));
    const proc = spawn(process.execPath, [BIN, "gateway", "-c", file], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOLDFAST_LOG: "silent" } });
    try {
      let out = "";
      const url = await within(new Promise<string>((resolve, reject) => {
        proc.on("exit", (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
        proc.stdout.on("data", (d) => {
          out += d;
          const m = /admin on (http:\/\/127\.0\.0\.1:\d+) /.exec(out);
          if (m) resolve(m[1]!);
        });
      }), 30_000, "the gateway to print its admin address");
      proc.removeAllListeners("exit");
      assert.equal((await adminRequest(url, "GET", "/healthz")).status, 200);
      writeFileSync(file, yaml([a, b]));
      const ok = await adminRequest(url, "POST", "/api/reload", { token: TOKEN });
      assert.equal(ok.status, 200, ok.text);
      assert.match(ok.json().summary as string, /backends \+0 -0 ~1/);
      await sleep(CACHE_MS + 20);
      const o = (await adminRequest(url, "GET", "/api/backends")).json() as unknown as Overview;
      assert.deepEqual(o.backends[0]!.servers.map((s) => s.name), ["s0", "s1"]);
      writeFileSync(file, yaml([a, b], "    balance: nope"));
      const bad = await adminRequest(url, "POST", "/api/reload", { token: TOKEN });
      assert.equal(bad.status, 422);
      assert.match(bad.json().error as string, /backends\.b\.balance/);
      await sleep(CACHE_MS + 20);
      const m = parseExposition((await adminRequest(url, "GET", "/metrics")).text).samples;
      assert.equal(sumSamples(m, "holdfast_config_reloads_total"), 1);
      assert.equal(sumSamples(m, "holdfast_config_reload_failures_total"), 1);
      const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
      proc.kill("SIGTERM");
      await waitFor("healthz to answer 503", async () => (await adminRequest(url, "GET", "/healthz")).status === 503, 3000, 20);
      // Graceful: delay 1s, then nothing left to wait for; shutdown.timeout (2s) bounds the rest.
      assert.equal(await within(exited, 1000 + 2000 + 5000, "the gateway to exit after SIGTERM"), 0);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("exits 1 with a clear message when the admin API is unreachable", async () => {
    const port = await deadPort();
    const r = await runCli(["status", "--admin", `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    assert.match(r.stderr, /--admin/);
    assert.equal(r.stdout, "");
  });
});
