import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { closeServer } from "../support/backends.ts";
import { BIN } from "../support/cli.ts";

const TOKEN = "workers-test-token-0123456789";

async function backend(name: string) {
  const server = createServer((_q, r) => {
    r.setHeader("x-served-by", name);
    r.end(name);
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => ws.send(name));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

function yaml(servers: { name: string; port: number }[], extra = ""): string {
  return `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }
workers: 2
shutdown: { delay: 100ms, timeout: 5s }
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]
backends:
  b:
    balance: least-conn
    drainTimeout: 200ms
    drainSpread: 500ms
${extra}
    servers:
${servers.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;
}

async function start(file: string): Promise<{ proc: ChildProcess; port: number; admin: string; out: () => string }> {
  const proc = spawn(process.execPath, [BIN, "gateway", "-c", file, "--pid-file", `${file}.pid`], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOLDFAST_LOG: "warn" } });
  let out = "";
  proc.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    proc.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    proc.stdout!.on("data", (d) => {
      out += d;
      const port = /listener web \(http\) listening on [\d.]+:(\d+)/.exec(out);
      const admin = /admin on (http:\/\/[\d.:]+)/.exec(out);
      if (port && admin && /workers serve/.test(out)) {
        proc.removeAllListeners("exit");
        resolve({ proc, port: Number(port[1]), admin: admin[1]!, out: () => out });
      }
    });
  });
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}

function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

test("workers: 2 — both workers serve, the admin API sums them, drain and reload reach every worker, SIGTERM stops all", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-workers-"));
  const bs = await Promise.all(["s1", "s2", "s3"].map(backend));
  const file = join(dir, "gw.yaml");
  writeFileSync(file, yaml(bs.slice(0, 2)));
  const gw = await start(file);
  try {
    const workers = children(gw.proc.pid!);
    assert.equal(workers.length, 2, "two worker processes");
    const before = workers.map(cpuTicks);
    // Many short connections: SO_REUSEPORT spreads them over both workers.
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`http://127.0.0.1:${gw.port}/`, { headers: { connection: "close" } });
      assert.equal(r.status, 200);
      await r.text();
    }
    const used = workers.map((p, i) => cpuTicks(p) - before[i]!);
    assert.ok(used.every((t) => t > 0), `both workers did work: ${used.join(", ")} ticks`);
    // The model sums the workers' snapshots (one per second).
    let total = 0;
    for (let i = 0; i < 40 && total < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const o = (await (await fetch(`${gw.admin}/api/backends`)).json()) as { totals: { requests: number } };
      total = o.totals.requests;
    }
    assert.equal(total, 300, "requests summed over the workers");

    // WebSockets spread over both workers; a drain through the admin API reaches them all.
    const clients = await Promise.all(
      Array.from({ length: 40 }, () => new Promise<{ ws: WebSocket; server: string }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/`);
        ws.once("message", (d) => resolve({ ws, server: String(d) }));
        ws.once("error", reject);
      })),
    );
    const onS1 = clients.filter((c) => c.server === "s1");
    assert.ok(onS1.length > 0);
    const closed = onS1.map((c) => once(c.ws, "close"));
    const res = await fetch(`${gw.admin}/api/backends/b/servers/s1/drain`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const codes = (await Promise.all(closed)).map(([code]) => code as number);
    assert.ok(codes.every((c) => c === 1012), `close codes: ${codes.join(",")}`);
    for (const c of clients) c.ws.terminate();

    // Reload: s3 added, s1 removed; every worker applies it.
    writeFileSync(file, yaml([bs[1]!, bs[2]!]));
    gw.proc.kill("SIGHUP");
    const seen = new Set<string>();
    for (let i = 0; i < 60 && !seen.has("s3"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const r = await fetch(`http://127.0.0.1:${gw.port}/`, { headers: { connection: "close" } });
      seen.add(await r.text());
    }
    assert.ok(seen.has("s3"), `after reload: ${[...seen].join(", ")}`);

    gw.proc.kill("SIGTERM");
    const [code] = (await once(gw.proc, "exit")) as [number];
    assert.equal(code, 0);
    for (const p of workers) assert.throws(() => readFileSync(`/proc/${p}/stat`), "worker exited");
  } finally {
    if (gw.proc.exitCode === null) gw.proc.kill("SIGKILL");
    await Promise.all(bs.map((b) => b.close()));
  }
});
