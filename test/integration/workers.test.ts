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
import { childPids, ownerOf } from "../support/procs.ts";
import { rawClient } from "../support/raw.ts";
import { waitFor, within } from "../support/wait.ts";

const TOKEN = "workers-test-token-0123456789";

// Every admin request on its own connection: a kept-alive one that the admin server
// closes for idleness as the next request goes out fails that request ("other side
// closed"), which a machine at load 15 made happen here.
const CLOSE = { connection: "close" };

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
  const started = new Promise<{ proc: ChildProcess; port: number; admin: string; out: () => string }>((resolve, reject) => {
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
  return within(started, 30_000, "the gateway to print its ports and 'workers serve'").catch((e: unknown) => {
    proc.kill("SIGKILL");
    throw new Error(`${(e as Error).message}:\n${out}`);
  });
}

/** A keep-alive connection to the gateway and the worker process that accepted it. */
interface OnWorker {
  readonly worker: number;
  readonly c: ReturnType<typeof rawClient>;
}

/** Requests sent through the gateway by {@link served}. */
let sent = 0;

/** `GET path` on `c`; the name of the server that answered. */
async function served(c: ReturnType<typeof rawClient>, path = "/"): Promise<string> {
  sent++;
  const r = await c.request(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
  assert.match(r, /^HTTP\/1\.1 200 /);
  return r.slice(r.indexOf("\r\n\r\n") + 4);
}

/** Keep-alive connections until each of `pids` holds one (the kernel spreads them); the others are closed. */
async function oneOnEach(port: number, pids: readonly number[]): Promise<Map<number, OnWorker>> {
  const want = pids;
  const got = new Map<number, OnWorker>();
  for (let i = 0; i < 200 && got.size < want.length; i++) {
    const c = rawClient(port);
    await served(c); // accepted and answered: a worker holds it now
    const worker = ownerOf(port, c.socket.localPort!, pids);
    if (worker !== undefined && want.includes(worker) && !got.has(worker)) got.set(worker, { worker, c });
    else c.close();
  }
  assert.equal(got.size, want.length, `connections held by ${[...got.keys()].join(",")} of workers ${want.join(",")}`);
  return got;
}

test("workers: 2 — each worker serves, the admin API sums them, drain and reload reach each worker, a killed worker is replaced, SIGTERM exits 0 and stops all", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-workers-"));
  const bs = await Promise.all(["s1", "s2", "s3"].map(backend));
  const file = join(dir, "gw.yaml");
  writeFileSync(file, yaml(bs.slice(0, 2)));
  const gw = await start(file);
  const auth = { authorization: `Bearer ${TOKEN}` };
  try {
    const workers = childPids(gw.proc.pid!);
    assert.equal(workers.length, 2, "two worker processes");
    // Each worker answers on a connection it accepted (read from /proc, not guessed).
    const conns = await oneOnEach(gw.port, workers);
    for (const { c } of conns.values()) assert.match(await served(c), /^s[12]$/);
    // Many short connections; the model sums the workers' snapshots (one per second).
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`http://127.0.0.1:${gw.port}/`, { headers: { connection: "close" } });
      assert.equal(r.status, 200);
      await r.text();
      sent++;
    }
    let total = 0;
    for (let i = 0; i < 40 && total < sent; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const o = (await (await fetch(`${gw.admin}/api/backends`, { headers: CLOSE })).json()) as { totals: { requests: number } };
      total = o.totals.requests;
    }
    assert.equal(total, sent, "requests summed over the workers");

    // One malformed request refused by each worker: the primary's /metrics sums their
    // HF_ERR_* counts.
    for (const { c } of (await oneOnEach(gw.port, workers)).values()) {
      assert.match(await c.request("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), /^HTTP\/1\.1 400 /);
      c.close();
    }
    const badRequests = async () => Number(/^holdfast_errors_total\{code="HF_ERR_BAD_REQUEST"\} (\d+)$/m.exec(await (await fetch(`${gw.admin}/metrics`, { headers: CLOSE })).text())?.[1]);
    await waitFor("the workers' 400s in the primary's /metrics", async () => (await badRequests()) >= 2, 10_000, 100);
    assert.equal(await badRequests(), 2, "holdfast_errors_total summed over the workers");

    // WebSockets on both workers; a drain through the admin API closes those on s1 in each.
    const clients = await Promise.all(
      Array.from({ length: 40 }, () => new Promise<{ ws: WebSocket; server: string; localPort: number }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/`);
        let localPort = 0;
        ws.once("upgrade", (res) => (localPort = res.socket.localPort!));
        ws.once("message", (d) => resolve({ ws, server: String(d), localPort }));
        ws.once("error", reject);
      })).map((p) => p.then((c) => ({ ...c, worker: 0 }))),
    );
    for (const c of clients) c.worker = ownerOf(gw.port, c.localPort, workers) ?? 0;
    const onS1 = clients.filter((c) => c.server === "s1");
    assert.deepEqual(new Set(onS1.map((c) => c.worker)), new Set(workers), "tunnels to s1 in each worker");
    const closed = onS1.map((c) => once(c.ws, "close"));
    const res = await fetch(`${gw.admin}/api/backends/b/servers/s1/drain`, { method: "POST", headers: { ...auth, ...CLOSE } });
    assert.equal(res.status, 200);
    const codes = (await within(Promise.all(closed), 10_000, "every tunnel on s1 to close (drainTimeout 200ms + drainSpread 500ms)")).map(([code]) => code as number);
    assert.deepEqual(codes, onS1.map(() => 1012), "every tunnel on s1, in each worker, closed with 1012");
    assert.ok(clients.filter((c) => c.server !== "s1").every((c) => c.ws.readyState === WebSocket.OPEN), "the others stay open");
    for (const c of clients) c.ws.terminate();

    // Reload: s3 added, s1 removed. The API answers once every worker has applied it;
    // then, on each worker's own connection, s1 is gone and s3 serves.
    writeFileSync(file, yaml([bs[1]!, bs[2]!]));
    const reload = await fetch(`${gw.admin}/api/reload`, { method: "POST", headers: { ...auth, ...CLOSE } });
    const body = await reload.text();
    assert.equal(reload.status, 200, body);
    assert.match(body, /applied by 2 workers/);
    for (const { worker, c } of conns.values()) {
      const seen: string[] = [];
      for (let i = 0; i < 20 && !seen.includes("s3"); i++) seen.push(await served(c));
      assert.ok(seen.includes("s3") && !seen.includes("s1"), `worker ${worker} after the reload: ${seen.join(", ")}`);
      c.close();
    }

    // A worker killed is replaced by the primary, and the new one serves the current config.
    const [victim, survivor] = workers as [number, number];
    process.kill(victim, "SIGKILL");
    const replaced = await waitFor("a new worker", () => {
      const now = childPids(gw.proc.pid!);
      return now.length === 2 && !now.includes(victim) && now.includes(survivor) && now.find((p) => p !== survivor);
    }, 10_000);
    const onNew = await waitFor("a connection accepted by the new worker", async () => {
      const c = rawClient(gw.port);
      try {
        const by = await served(c, "/new");
        return ownerOf(gw.port, c.socket.localPort!, [replaced]) === replaced && by;
      } finally {
        c.close();
      }
    }, 10_000);
    assert.match(onNew, /^s[23]$/, "the new worker has the reloaded config");
    assert.match(gw.out(), /worker died: starting a new one/);

    gw.proc.kill("SIGTERM");
    const [code, signal] = (await once(gw.proc, "exit")) as [number | null, string | null];
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    for (const p of [survivor, replaced]) assert.throws(() => readFileSync(`/proc/${p}/stat`), `worker ${p} exited`);
  } finally {
    if (gw.proc.exitCode === null) gw.proc.kill("SIGKILL");
    await Promise.all(bs.map((b) => b.close()));
  }
});
