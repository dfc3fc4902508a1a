import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test as nodeTest } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket, WebSocketServer } from "ws";
import { defaultPidFile } from "../../src/cli/lifecycle.ts";
import { closeServer } from "../support/backends.ts";
import { PROCESS_START_MS, until, within } from "../support/wait.ts";
import { BIN, runCli } from "../support/cli.ts";
import { concurrentTests } from "../support/concurrent.ts";

/**
 * The lifecycle of a real `holdfast gateway` process (issue 5 §3, §4, "Bad input"): graceful
 * stop under HTTP and WebSocket load, hot reload through `holdfast reload`, an invalid
 * reload, `--watch`, signals while starting and a forced second signal. Every gateway is a
 * child process (`node bin/holdfast.js gateway -c FILE --pid-file ...`) and every client,
 * backend and load generator lives in this process, on 127.0.0.1 only. Each test stops
 * what it started; a last hook SIGKILLs any gateway a failed test left behind.
 */

const ENV = { ...process.env, HOLDFAST_LOG: "info" };
/** Gateways started by this file (killed by pid in `after` if a test failed half-way). */
const started = new Set<ChildProcess>();

after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

const now = () => performance.now();

function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-lifecycle-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ------------------------------------------------------------------ gateway processes

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

interface Proc {
  readonly proc: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** stderr JSON lines (pino), parsed. */
  logs(): Record<string, unknown>[];
  readonly exit: Promise<Exit>;
  exited(): Exit | undefined;
  signal(sig: NodeJS.Signals): number;
  /** SIGKILL if still running; waits for the exit. */
  kill(): Promise<void>;
}

function spawnGateway(file: string, args: readonly string[]): Proc {
  const proc = spawn(process.execPath, [BIN, "gateway", "-c", file, ...args], { stdio: ["ignore", "pipe", "pipe"], env: ENV });
  started.add(proc);
  let out = "";
  let err = "";
  let exited: Exit | undefined;
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<Exit>((resolve) =>
    proc.once("exit", (code, signal) => {
      exited = { code, signal, at: now() };
      resolve(exited);
    }),
  );
  return {
    proc,
    pid: proc.pid!,
    stdout: () => out,
    stderr: () => err,
    logs: () => {
      const lines: Record<string, unknown>[] = [];
      for (const line of err.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a line still being written
        }
      }
      return lines;
    },
    exit,
    exited: () => exited,
    signal: (sig) => {
      const at = now();
      proc.kill(sig);
      return at;
    },
    kill: async () => {
      if (exited === undefined) proc.kill("SIGKILL");
      await exit;
    },
  };
}

interface Running extends Proc {
  readonly port: number;
  readonly admin: string;
}

/** Starts a gateway and waits until it printed its listener ports, admin URL and pid file. */
async function startGatewayProcess(file: string, args: readonly string[]): Promise<Running> {
  const p = spawnGateway(file, args);
  try {
    await until(() => /holdfast: pid \d+ in /.test(p.stdout()) || p.exited() !== undefined, PROCESS_START_MS, () => `the gateway to start:\n${p.stdout()}\n${p.stderr()}`);
  } catch (e) {
    await p.kill();
    throw e;
  }
  const out = p.stdout();
  if (p.exited() !== undefined) throw new Error(`the gateway exited while starting (${JSON.stringify(p.exited())}):\n${out}\n${p.stderr()}`);
  const port = /listener web \(\w+\) listening on [\d.]+:(\d+)/.exec(out);
  const admin = /admin on (http:\/\/[\d.]+:\d+)/.exec(out);
  assert.ok(port !== null && admin !== null, out);
  return { ...p, port: Number(port[1]), admin: admin[1]! };
}

/** SIGTERM and wait for a clean exit (used in `finally` blocks; SIGKILL after `ms`). */
async function stopGatewayProcess(g: Proc | undefined, ms = 15_000): Promise<Exit | undefined> {
  if (g === undefined) return undefined;
  if (g.exited() === undefined) g.signal("SIGTERM");
  try {
    return await within(g.exit, ms, "the gateway to exit after SIGTERM");
  } catch {
    process.stdout.write(`# gateway ${g.pid} did not exit within ${ms} ms of SIGTERM: SIGKILL. Its last log lines:\n${g.stderr().slice(-3000).replace(/^/gm, "#   ")}\n`);
    await g.kill();
    return g.exited();
  }
}

/** True when `pid` has a handler for signal number `sig` (Linux: /proc/PID/status SigCgt). */
function catches(pid: number, sig: number): boolean {
  try {
    const m = /SigCgt:\s*([0-9a-fA-F]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m !== null && (parseInt(m[1]!.slice(-8), 16) & (1 << (sig - 1))) !== 0;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ configs

interface ServerRef {
  readonly name: string;
  readonly port: number;
}

/**
 * These tests drive the single-process gateway (`workers: 1`; the default `auto` would
 * depend on the machine's cores). `HOLDFAST_TEST_WORKERS=2` runs the same file against
 * the multi-process mode: `npm run test:workers`, which `.ci/run` runs after `npm test`
 * (about three minutes on two cores, most of it "signals while starting": 14 starts of a
 * primary and two workers). Within `npm test`, lifecycle-workers.test.ts runs only the
 * graceful stop under HTTP and under WebSocket load in that mode, which the primary and
 * its workers implement apart from the single process (a reload reaching each worker is
 * workers.test.ts's).
 */
const WORKERS = process.env.HOLDFAST_TEST_WORKERS ?? "1";
const ALSO_WITH_WORKERS = [/^SIGTERM under HTTP load:/, /^SIGTERM closes 200 tunnels/];
// Three at a time: each test owns its gateway processes, backends and temporary files,
// and most of each is waiting on a stop window, a drain or a process start. One at a
// time against workers: 2, where each gateway is three processes. The two graceful
// stops under load (ALSO_WITH_WORKERS) measure how closes spread over time, which a
// busy neighbour distorts (41 % of 200 closes in one 500 ms seen at load 12, against a
// bound of 40 %): they run first, one at a time, before the others.
const tests = concurrentTests(WORKERS === "1" ? 3 : 1);
const timing = concurrentTests(1);
const test: typeof nodeTest = ((name: string, ...rest: unknown[]) => {
  const stopUnderLoad = ALSO_WITH_WORKERS.some((r) => r.test(name));
  if (process.env.HOLDFAST_TEST_WORKERS_SUBSET === "1" && !stopUnderLoad) return;
  return ((stopUnderLoad ? timing : tests).test as (...a: unknown[]) => unknown)(name, ...rest);
}) as typeof nodeTest;

function configYaml(o: { servers: readonly ServerRef[]; shutdown: string; token?: string; backendExtra?: string }): string {
  return `admin: { listen: 127.0.0.1:0${o.token === undefined ? "" : `, token: ${o.token}`} }
workers: ${WORKERS}
shutdown: ${o.shutdown}
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] }
backends:
  b:
${o.backendExtra ?? ""}    servers:
${o.servers.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;
}

// ------------------------------------------------------------------ backends

interface TestBackend extends ServerRef {
  /** Requests received, by path prefix `/held` (the ones a test keeps in flight). */
  held: number;
  requests: number;
  close(): Promise<void>;
}

/**
 * An HTTP backend (and, with `ws`, a WebSocket server on the same port that sends its
 * name first, then echoes). `/slow?ms=N` and `/held?ms=N` answer after N ms (300 by
 * default); everything else answers at once. Every answer carries `x-served-by`.
 */
async function backend(name: string, opts: { ws?: boolean } = {}): Promise<TestBackend> {
  const b = { name, port: 0, held: 0, requests: 0 } as TestBackend;
  const server: Server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    b.requests++;
    const url = new URL(req.url ?? "/", "http://x");
    const answer = () => {
      res.setHeader("x-served-by", name);
      res.end(`${name} ${url.pathname}`);
    };
    req.resume();
    if (url.pathname === "/slow" || url.pathname === "/held") {
      if (url.pathname === "/held") b.held++;
      setTimeout(answer, Number(url.searchParams.get("ms") ?? 300));
    } else req.on("end", answer);
  });
  const wss = opts.ws === true ? new WebSocketServer({ server, perMessageDeflate: false }) : undefined;
  wss?.on("connection", (ws) => {
    ws.send(name);
    ws.on("message", (d, binary) => ws.send(d, { binary }));
    ws.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  (b as { port: number }).port = (server.address() as AddressInfo).port;
  b.close = async () => {
    for (const c of wss?.clients ?? []) c.terminate();
    wss?.close();
    await closeServer(server);
  };
  return b;
}

/** A WebSocket server that completes the handshake and then ignores everything, forever. */
async function stubbornWsServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      s.on("data", () => {}); // reads (so nothing backs up), never answers, never closes
    };
    s.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return closeServer(server);
    },
  };
}

// ------------------------------------------------------------------ clients

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function httpGet(port: number, path: string, agent: Agent | false, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent, method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 15_000} ms`)));
    req.on("error", reject);
    req.end();
  });
}

function adminGet(admin: string, path: string, opts: { method?: string; token?: string } = {}): Promise<Reply> {
  const u = new URL(admin);
  return httpGet(Number(u.port), path, false, { method: opts.method, headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }, timeoutMs: 5000 });
}

interface Sample {
  readonly loop: number;
  readonly target: string;
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly status: number;
  readonly servedBy: string;
  readonly connectionClose: boolean;
  readonly error?: string;
}

interface Target {
  readonly target: string;
  readonly port: number;
  readonly agent: Agent;
  readonly path: string;
}

/**
 * `loops` concurrent request loops (each sequential, keep-alive through its target's
 * agent); `choose` picks the target of each request; every request becomes a Sample.
 */
function load(loops: number, choose: (loop: number, n: number) => Target, onSample?: (s: Sample) => void) {
  const samples: Sample[] = [];
  let stopped = false;
  const one = async (loop: number, t: Target): Promise<Sample> => {
    const start = now();
    try {
      const r = await httpGet(t.port, t.path, t.agent);
      const served = r.headers["x-served-by"];
      return { loop, target: t.target, path: t.path, start, end: now(), status: r.status, servedBy: typeof served === "string" ? served : "", connectionClose: r.headers.connection === "close", ...(r.status === 200 ? {} : { error: `status ${r.status}: ${r.body.slice(0, 200)}` }) };
    } catch (e) {
      return { loop, target: t.target, path: t.path, start, end: now(), status: 0, servedBy: "", connectionClose: false, error: (e as Error).message };
    }
  };
  const run = async (loop: number) => {
    for (let n = 0; !stopped; n++) {
      const s = await one(loop, choose(loop, n));
      samples.push(s);
      onSample?.(s);
      await sleep(2); // leave the (2-core) machine some air for the gateways themselves
    }
  };
  const running = Array.from({ length: loops }, (_, i) => run(i));
  return {
    samples,
    failures: () => samples.filter((s) => s.error !== undefined),
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

function describeFailures(f: readonly Sample[]): string {
  return `${f.length} failed request(s): ${JSON.stringify(f.slice(0, 5))}`;
}

interface WsClient {
  readonly ws: WebSocket;
  readonly server: string;
  /** `at`: performance.now(); `wall`: Date.now(), comparable with the gateway's log times. */
  closed?: { code: number; reason: string; at: number; wall: number };
}

/** Opens a WebSocket through the gateway; resolves with the backend's name (its first message). */
function openWs(port: number, path = "/ws"): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, handshakeTimeout: 15_000 });
    ws.once("error", reject);
    ws.once("message", (d) => {
      const c: WsClient = { ws, server: String(d) };
      ws.on("error", () => {});
      ws.once("close", (code, reason) => (c.closed = { code, reason: reason.toString(), at: now(), wall: Date.now() }));
      resolve(c);
    });
  });
}

async function openMany(port: number, n: number, batch = 50): Promise<WsClient[]> {
  const out: WsClient[] = [];
  for (let i = 0; i < n; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => openWs(port)))));
  return out;
}

function closeAll(clients: readonly WsClient[]): void {
  for (const c of clients) if (c.closed === undefined) c.ws.terminate();
}

function echo(c: WsClient, msg: string, ms = 10_000): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      c.ws.once("message", (d) => resolve(String(d)));
      c.ws.send(msg);
    }),
    ms,
    `an echo on a tunnel to ${c.server}`,
  );
}

const RETRY_AFTER = /^retry-after=\d+$/;

// ================================================================== 1

test("SIGTERM under HTTP load: zero failed requests, healthz 503 before the listeners close, in-flight requests finish, exit 0", { timeout: 90_000 }, async () => {
  const tmp = tempDir();
  const s1 = await backend("s1");
  const s2 = await backend("s2");
  const agentA = new Agent({ keepAlive: true });
  const agentB = new Agent({ keepAlive: true });
  let A: Running | undefined;
  let B: Running | undefined;
  let traffic: ReturnType<typeof load> | undefined;
  let polling = true;
  try {
    // shutdown.delay is the time a load balancer gets to stop sending before the idle
    // keep-alive connections close (a request sent on one as it closes fails: HTTP/1.1's
    // own race). This test's balancer polls /healthz every 50 ms, but on a loaded machine
    // a poll can take longer than 500 ms (seen at load 15: a request failed): 1500 ms.
    const DELAY = 1500;
    const yaml = configYaml({ servers: [s1, s2], shutdown: `{ delay: ${DELAY}ms, timeout: 10s }` });
    writeFileSync(join(tmp.dir, "a.yaml"), yaml);
    writeFileSync(join(tmp.dir, "b.yaml"), yaml);
    [A, B] = await Promise.all([
      startGatewayProcess(join(tmp.dir, "a.yaml"), ["--pid-file", join(tmp.dir, "a.pid")]),
      startGatewayProcess(join(tmp.dir, "b.yaml"), ["--pid-file", join(tmp.dir, "b.pid")]),
    ]);
    const a = A;
    const b = B;

    // The cloud load balancer: healthz every 50 ms; A is out of rotation from its first 503.
    let aInRotation = true;
    let outOfRotation = Infinity;
    let first503 = Infinity;
    let firstHealthError = Infinity;
    const poller = (async () => {
      while (polling) {
        try {
          const r = await adminGet(a.admin, "/healthz");
          if (r.status === 503 && first503 === Infinity) first503 = now();
          if (r.status !== 200 && aInRotation) [aInRotation, outOfRotation] = [false, now()];
        } catch {
          if (firstHealthError === Infinity) firstHealthError = now();
          if (aInRotation) [aInRotation, outOfRotation] = [false, now()];
        }
        await sleep(50);
      }
    })();

    // 20 keep-alive loops, 5 of them on the 300 ms endpoint; a loop that got
    // `Connection: close` from A moves to B.
    const movedToB = new Set<number>();
    traffic = load(
      20,
      (loop, n) => {
        const path = loop < 5 ? "/slow" : "/fast";
        const useA = aInRotation && !movedToB.has(loop) && n % 2 === 0;
        return useA ? { target: "A", port: a.port, agent: agentA, path } : { target: "B", port: b.port, agent: agentB, path };
      },
      (s) => {
        if (s.target === "A" && s.connectionClose) movedToB.add(s.loop);
      },
    );
    await sleep(1500);
    assert.ok(traffic.samples.some((s) => s.target === "A" && s.status === 200), "A served before the stop");

    // Requests in flight at the moment of SIGTERM: five on the 300 ms endpoint, and three
    // that last past the listeners' close (they must finish too, with Connection: close).
    const heldBefore = s1.held + s2.held;
    const short = Array.from({ length: 5 }, () => httpGet(a.port, "/held?ms=300", agentA));
    const long = Array.from({ length: 3 }, () => httpGet(a.port, `/held?ms=${DELAY + 1000}`, agentA));
    await until(() => s1.held + s2.held - heldBefore === 8, 10_000, () => `8 held requests at the backends (${s1.held + s2.held - heldBefore})`);
    const beforeSignal = traffic.samples.length;
    const tSig = a.signal("SIGTERM");

    // Find the moment A's listener stops accepting: a connect every 20 ms.
    let refusedAt = Infinity;
    let accepted = 0;
    const prober = (async () => {
      while (refusedAt === Infinity && a.exited() === undefined) {
        await new Promise<void>((resolve) => {
          const s = connect(a.port, "127.0.0.1");
          s.once("connect", () => {
            accepted++;
            s.destroy();
            resolve();
          });
          s.once("error", () => {
            refusedAt = now();
            resolve();
          });
        });
        await sleep(20);
      }
    })();

    const shortReplies = await Promise.all(short);
    const longReplies = await Promise.all(long);
    const exit = await within(a.exit, 15_000, "A to exit after SIGTERM");
    await prober;
    // B keeps serving alone: a few requests after A's exit, however long they take.
    const t = traffic;
    await until(() => t.samples.filter((s) => s.start > exit.at).length >= 5, 10_000, "5 requests after A's exit");
    await traffic.stop();
    polling = false;
    await poller;

    assert.deepEqual(traffic.failures(), [], `${describeFailures(traffic.failures())}; SIGTERM at ${Math.round(tSig)}, ` +
      `A out of rotation at ${Math.round(outOfRotation)}, its listener closed at ${Math.round(refusedAt)} (ms, the samples' clock)`);
    assert.equal(exit.code, 0, `A's exit: ${JSON.stringify(exit)}\n${a.stderr().slice(-2000)}`);
    assert.ok(exit.at - tSig <= 10_000, `A exited ${Math.round(exit.at - tSig)} ms after SIGTERM (shutdown.timeout 10s)`);
    assert.ok(first503 < Infinity, "A's /healthz answered 503 during the stop");
    assert.ok(refusedAt < Infinity, "A's listener stopped accepting");
    assert.ok(first503 < refusedAt, `healthz 503 at +${Math.round(first503 - tSig)} ms, listener closed at +${Math.round(refusedAt - tSig)} ms`);
    assert.ok(refusedAt - tSig >= DELAY - 20, `A kept accepting for shutdown.delay (${DELAY} ms): closed at +${Math.round(refusedAt - tSig)} ms`);
    assert.ok(accepted > 0, "A still accepted connections during shutdown.delay");
    for (const r of shortReplies) assert.equal(r.status, 200, `in-flight 300 ms request: ${r.status} ${r.body}`);
    for (const r of longReplies) {
      assert.equal(r.status, 200, `request in flight across the listener close: ${r.status} ${r.body}`);
      assert.equal(r.headers.connection, "close", "a busy keep-alive connection gets Connection: close on its last response");
    }
    const afterStop = traffic.samples.filter((s) => s.start > exit.at);
    assert.ok(afterStop.length > 0 && afterStop.every((s) => s.target === "B" && s.status === 200), "B serves alone after A left");
    const slowOnA = traffic.samples.filter((s) => s.target === "A" && s.path === "/slow" && s.start < tSig && s.end > tSig);
    for (const s of slowOnA) assert.equal(s.status, 200);
    process.stdout.write(
      `# SIGTERM: ${traffic.samples.length} requests (${beforeSignal} before the signal), 0 failed; healthz 503 at +${Math.round(first503 - tSig)} ms, ` +
        `listener closed at +${Math.round(refusedAt - tSig)} ms, admin gone at +${Math.round(firstHealthError - tSig)} ms, exit at +${Math.round(exit.at - tSig)} ms; ${slowOnA.length} load-loop /slow requests were on A at SIGTERM\n`,
    );
  } finally {
    polling = false;
    await traffic?.stop();
    await Promise.all([stopGatewayProcess(A), stopGatewayProcess(B)]);
    agentA.destroy();
    agentB.destroy();
    await Promise.all([s1.close(), s2.close()]);
    tmp.remove();
  }
});

// ================================================================== 2

test("SIGTERM closes 200 tunnels with 1001 and retry-after, spread over the stop window; exit 0", { timeout: 90_000 }, async () => {
  const tmp = tempDir();
  const w1 = await backend("w1", { ws: true });
  let A: Running | undefined;
  let clients: WsClient[] = [];
  try {
    const file = join(tmp.dir, "gw.yaml");
    // The bounds below come from these two values.
    const DELAY = 200;
    const TIMEOUT = 6000;
    writeFileSync(file, configYaml({ servers: [w1], shutdown: `{ delay: ${DELAY}ms, timeout: ${TIMEOUT}ms }` }));
    A = await startGatewayProcess(file, ["--pid-file", join(tmp.dir, "gw.pid")]);
    clients = await openMany(A.port, 200);
    assert.equal(clients.length, 200);
    const tSig = A.signal("SIGTERM");
    await within(
      until(() => clients.every((c) => c.closed !== undefined), 60_000, () => "every tunnel to close"),
      61_000,
      "tunnels to close",
    );
    const exit = await within(A.exit, 15_000, "the gateway to exit");

    const codes = new Map<number, number>();
    for (const c of clients) codes.set(c.closed!.code, (codes.get(c.closed!.code) ?? 0) + 1);
    assert.deepEqual([...codes], [[1001, 200]], "every client got 1001 (going away)");
    for (const c of clients) assert.match(c.closed!.reason, RETRY_AFTER);
    const times = clients.map((c) => c.closed!.at - tSig).sort((x, y) => x - y);
    const first = times[0]!;
    const last = times.at(-1)!;
    assert.ok(first >= DELAY - 20, `no tunnel closes before shutdown.delay (first at +${Math.round(first)} ms)`);
    // The gateway spreads the closes over half of what is left of the window after the
    // delay (2.9 s here). Seen by the clients, in this process, behind its event loop:
    // LAG allows for that (and, with workers, for the primary passing the signal on),
    // still short of the cut at shutdown.timeout that a wider spread would run into.
    const SPREAD = (TIMEOUT - DELAY) / 2;
    const LAG = 2000;
    assert.ok(last <= DELAY + SPREAD + LAG, `every close within shutdown.delay + the spread (${DELAY} + ${SPREAD} ms): last at +${Math.round(last)} ms`);
    assert.ok(last - first >= SPREAD / 2, `closes spread over ${Math.round(last - first)} ms (the spread: ${SPREAD} ms)`);
    const bins = new Map<number, number>();
    for (const t of times) bins.set(Math.floor(t / 500), (bins.get(Math.floor(t / 500)) ?? 0) + 1);
    const peak = Math.max(...bins.values());
    assert.ok(peak <= 80, `at most 40% of the closes in any 500 ms (peak ${peak}: ${JSON.stringify([...bins])})`);
    assert.equal(exit.code, 0, A.stderr().slice(-2000));
    assert.ok(exit.at - tSig <= TIMEOUT + 3000, `exit at +${Math.round(exit.at - tSig)} ms (shutdown.timeout ${TIMEOUT} ms, + 3 s for the process to end)`);
    process.stdout.write(`# 200 tunnels: 1001 from +${Math.round(first)} to +${Math.round(last)} ms, peak ${peak} per 500 ms, exit at +${Math.round(exit.at - tSig)} ms\n`);
  } finally {
    closeAll(clients);
    await stopGatewayProcess(A);
    await w1.close();
    tmp.remove();
  }
});

// ================================================================== 3

test("holdfast reload under HTTP + WebSocket load (s1 removed, s3 added): no failed request, s2 tunnels untouched, s1 tunnels get 1012 after drainTimeout", { timeout: 120_000 }, async () => {
  const tmp = tempDir();
  const [s1, s2, s3] = await Promise.all([backend("s1", { ws: true }), backend("s2", { ws: true }), backend("s3", { ws: true })]);
  const agent = new Agent({ keepAlive: true });
  const file = join(tmp.dir, "gw.yaml");
  // `holdfast reload -c FILE` finds the gateway through the default pid file of FILE.
  const pidFile = defaultPidFile(file);
  // keepAlive.idleTimeout 1s: see the todo test "a gateway whose reload removed a server
  // still exits within shutdown.timeout" (an upstream connection orphaned by the reload
  // would otherwise keep the gateway alive after SIGTERM); this test stops > 1 s later.
  const extra = "    drainTimeout: 1s\n    drainSpread: 1s\n    keepAlive: { idleTimeout: 1s }\n";
  let G: Running | undefined;
  let clients: WsClient[] = [];
  let traffic: ReturnType<typeof load> | undefined;
  try {
    writeFileSync(file, configYaml({ servers: [s1, s2], shutdown: "{ delay: 100ms, timeout: 3s }", backendExtra: extra }));
    G = await startGatewayProcess(file, []);
    const g = G;
    assert.equal(readFileSync(pidFile, "utf8").trim(), String(g.pid));
    clients = await openMany(g.port, 100);
    const on1 = clients.filter((c) => c.server === "s1");
    const on2 = clients.filter((c) => c.server === "s2");
    assert.equal(on1.length + on2.length, 100);
    assert.ok(on1.length > 0 && on2.length > 0, `tunnels on both servers (${on1.length}/${on2.length})`);
    traffic = load(10, () => ({ target: "G", port: g.port, agent, path: "/fast" }));
    await sleep(700);

    writeFileSync(file, configYaml({ servers: [s2, s3], shutdown: "{ delay: 100ms, timeout: 3s }", backendExtra: extra }));
    const tSent0 = now();
    const wall0 = Date.now();
    const cli = await runCli(["reload", "-c", file], ENV);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`sent SIGHUP to ${g.pid}`));
    await until(() => g.logs().some((l) => l.msg === "config reloaded"), 10_000, () => `"config reloaded" in the log:\n${g.stderr().slice(-2000)}`);
    const tApplied = now();
    await until(() => on1.every((c) => c.closed !== undefined), 15_000, () => `s1's tunnels to close (${on1.filter((c) => c.closed === undefined).length} open)`);
    const fresh = await Promise.all(Array.from({ length: 10 }, () => openWs(g.port)));
    clients.push(...fresh);
    await sleep(700);
    await traffic.stop();

    assert.deepEqual(traffic.failures(), [], describeFailures(traffic.failures()));
    for (const c of on1) {
      assert.equal(c.closed!.code, 1012, `a tunnel on the removed server closes with 1012 (got ${c.closed!.code})`);
      assert.match(c.closed!.reason, RETRY_AFTER);
    }
    // Timed from the gateway's own "draining" log line (the moment the reload planned the
    // closes; same wall clock): none before drainTimeout, all within drainTimeout + drainSpread.
    const draining = g.logs().find((l) => l.msg === "draining" && JSON.stringify(l.servers) === '["s1"]');
    assert.ok(draining !== undefined, `a "draining" log line for s1:\n${g.stderr().slice(-2000)}`);
    const drainedAt = Number(draining.time);
    const t1 = on1.map((c) => c.closed!.wall - drainedAt).sort((x, y) => x - y);
    assert.ok(t1[0]! >= 1000 - 5, `s1 tunnels stay until drainTimeout (first close at +${t1[0]} ms)`);
    assert.ok(t1.at(-1)! <= 1000 + 1000 + 1500, `s1 tunnels closed within drainTimeout + drainSpread (+ 1.5 s slack): last at +${t1.at(-1)} ms`);
    assert.ok(t1.at(-1)! - t1[0]! >= 300, `the 1012 closes are spread over drainSpread (${t1.at(-1)! - t1[0]!} ms)`);
    assert.ok(drainedAt >= wall0 && on1.every((c) => c.closed!.at > tSent0), "the reload happened after `holdfast reload` ran");
    assert.deepEqual(on2.filter((c) => c.closed !== undefined).map((c) => c.closed), [], "no tunnel on s2 was closed");
    const echoes = await Promise.all(on2.map((c, i) => echo(c, `still here ${i}`)));
    assert.deepEqual(echoes, on2.map((_, i) => `still here ${i}`), "s2 tunnels still carry messages");
    const late = traffic.samples.filter((s) => s.start > tApplied);
    const servedLate = new Set(late.map((s) => s.servedBy));
    assert.ok(late.length > 20, `requests after the reload (${late.length})`);
    assert.ok(!servedLate.has("s1"), `no request after the reload reached s1: ${JSON.stringify([...servedLate])}`);
    assert.ok(servedLate.has("s2") && servedLate.has("s3"), `requests after the reload reach s2 and s3: ${JSON.stringify([...servedLate])}`);
    for (const c of fresh) assert.ok(c.server === "s2" || c.server === "s3", `a new tunnel lands on ${c.server}`);
    process.stdout.write(
      `# reload: ${traffic.samples.length} requests, 0 failed; ${on1.length} s1 tunnels closed 1012 from +${t1[0]} to +${t1.at(-1)} ms after the drain began; ${on2.length} s2 tunnels kept\n`,
    );
    closeAll(clients);
    const exit = await stopGatewayProcess(g);
    assert.equal(exit?.code, 0);
    assert.ok(!existsSync(pidFile), "the pid file is removed on a clean exit");
  } finally {
    await traffic?.stop();
    closeAll(clients);
    await stopGatewayProcess(G);
    if (existsSync(pidFile)) unlinkSync(pidFile);
    agent.destroy();
    await Promise.all([s1.close(), s2.close(), s3.close()]);
    tmp.remove();
  }
});

// ================================================================== 4

test("an invalid reload is refused with its errors (log, POST /api/reload, metric) and the old config keeps serving", { timeout: 90_000 }, async () => {
  const tmp = tempDir();
  const [s1, s2] = await Promise.all([backend("s1"), backend("s2")]);
  const agent = new Agent({ keepAlive: true });
  const file = join(tmp.dir, "gw.yaml");
  const token = "t0ken-for-tests";
  let G: Running | undefined;
  let traffic: ReturnType<typeof load> | undefined;
  const metric = async (admin: string, name: string) => {
    const r = await adminGet(admin, "/metrics");
    const m = new RegExp(`^${name} (\\d+)`, "m").exec(r.body);
    assert.ok(m !== null, `${name} in /metrics`);
    return Number(m[1]);
  };
  try {
    writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 100ms, timeout: 3s }", token }));
    G = await startGatewayProcess(file, ["--pid-file", join(tmp.dir, "gw.pid")]);
    const g = G;
    traffic = load(5, () => ({ target: "G", port: g.port, agent, path: "/fast" }));
    assert.equal(await metric(g.admin, "holdfast_config_reload_failures_total"), 0);

    const broken = configYaml({ servers: [s1, s2], shutdown: "{ delay: 5 seconds, timeout: 3s }", token }).replace("routes: [ { backend: b } ] }", "routes: [ { backend: b } ], bogus: 1 }");
    assert.match(broken, /bogus: 1/);
    writeFileSync(file, broken);
    g.signal("SIGHUP");
    await until(() => g.logs().some((l) => String(l.msg).startsWith("reload refused")), 10_000, () => `a refusal in the log:\n${g.stderr().slice(-2000)}`);
    const logged = g.logs().find((l) => String(l.msg).startsWith("reload refused"))!;
    const loggedErrors = (logged.errors as string[]).join("\n");
    assert.match(loggedErrors, /shutdown\.delay/);
    assert.match(loggedErrors, /listeners\[0\]\.bogus/);
    assert.equal(logged.level, 50, "logged as an error");

    const anon = await adminGet(g.admin, "/api/reload", { method: "POST" });
    assert.equal(anon.status, 401, `no token: ${anon.status} ${anon.body}`);
    const api = await adminGet(g.admin, "/api/reload", { method: "POST", token });
    assert.equal(api.status, 422, api.body);
    const body = JSON.parse(api.body) as { error: string; errors: string[] };
    assert.match(body.error, /refused/);
    assert.ok(body.errors.some((e) => e.includes("shutdown.delay")) && body.errors.some((e) => e.includes("listeners[0].bogus")), JSON.stringify(body.errors));
    await sleep(250); // metrics are cached for 200 ms
    assert.equal(await metric(g.admin, "holdfast_config_reload_failures_total"), 2, "the SIGHUP and the API reload were both counted");
    assert.equal(await metric(g.admin, "holdfast_config_reloads_total"), 0);
    // Ten requests after the refusals, however long they take on a loaded machine (at
    // load 17, three tests beside it: none had ended within 500 ms).
    const tRefused = now();
    const refusedPhase = () => traffic!.samples.filter((s) => s.start > tRefused);
    await until(() => refusedPhase().length >= 10, 10_000, () => `10 requests after the refusals (${refusedPhase().length})`);
    assert.deepEqual(refusedPhase().filter((s) => s.servedBy !== "s1"), [], "the old config (s1 only) keeps serving");

    // A valid file afterwards is applied: the refusals left nothing half-done.
    writeFileSync(file, configYaml({ servers: [s1, s2], shutdown: "{ delay: 100ms, timeout: 3s }", token }));
    const ok = await adminGet(g.admin, "/api/reload", { method: "POST", token });
    assert.equal(ok.status, 200, ok.body);
    const tOk = now();
    await until(() => traffic!.samples.some((s) => s.start > tOk && s.servedBy === "s2"), 10_000, "a request served by s2, which the valid reload added");
    await traffic.stop();
    await sleep(250);
    assert.equal(await metric(g.admin, "holdfast_config_reloads_total"), 1);
    assert.deepEqual(traffic.failures(), [], describeFailures(traffic.failures()));
    assert.equal((await stopGatewayProcess(g))?.code, 0);
  } finally {
    await traffic?.stop();
    await stopGatewayProcess(G);
    agent.destroy();
    await Promise.all([s1.close(), s2.close()]);
    tmp.remove();
  }
});

// ================================================================== 5

test("--watch: a changed file is applied once it settled (200 ms after the last write); a deleted file is refused and the gateway keeps serving", { timeout: 90_000 }, async () => {
  const tmp = tempDir();
  const [s1, s2] = await Promise.all([backend("s1"), backend("s2")]);
  const agent = new Agent({ keepAlive: true });
  const file = join(tmp.dir, "gw.yaml");
  let G: Running | undefined;
  let traffic: ReturnType<typeof load> | undefined;
  try {
    // keepAlive.idleTimeout 1s and the 1.5 s pause before the stop: see test 3.
    const extra = "    keepAlive: { idleTimeout: 1s }\n";
    writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 100ms, timeout: 3s }", backendExtra: extra }));
    G = await startGatewayProcess(file, ["--pid-file", join(tmp.dir, "gw.pid"), "--watch"]);
    const g = G;
    traffic = load(4, () => ({ target: "G", port: g.port, agent, path: "/fast" }));
    const t = traffic;
    await sleep(300);

    const tWrite = now();
    writeFileSync(file, configYaml({ servers: [s1, s2], shutdown: "{ delay: 100ms, timeout: 3s }", backendExtra: extra }));
    const written = statSync(file).mtimeMs;
    await until(() => t.samples.some((s) => s.servedBy === "s2"), 10_000, () => "s2 to get traffic");
    const seen = t.samples.find((s) => s.servedBy === "s2")!.end - tWrite;
    // Editors write in several steps: the watch waits 200 ms after the last change
    // (docs/config.md), measured on the gateway's own log clock.
    const applied = g.logs().find((l) => l.msg === "config reloaded");
    assert.ok(applied !== undefined, `"config reloaded" in the log:\n${g.stderr().slice(-2000)}`);
    assert.ok(Number(applied.time) - written >= 200 - 1, `applied ${(Number(applied.time) - written).toFixed(0)} ms after the write (the watch waits 200 ms)`);

    const failuresBefore = g.logs().filter((l) => String(l.msg).startsWith("reload refused")).length;
    unlinkSync(file);
    await until(
      () => g.logs().filter((l) => String(l.msg).startsWith("reload refused")).length > failuresBefore,
      10_000,
      () => `a refusal after the file vanished:\n${g.stderr().slice(-2000)}`,
    );
    const refusal = g.logs().filter((l) => String(l.msg).startsWith("reload refused")).at(-1)!;
    assert.match((refusal.errors as string[]).join("\n"), /cannot read .*gw\.yaml/);
    const tGone = now();
    const gone = () => t.samples.filter((s) => s.start > tGone);
    await until(() => gone().length >= 10, 10_000, () => `10 requests after the file was removed (${gone().length})`);
    const afterGone = new Set(gone().map((s) => s.servedBy));
    assert.deepEqual([...afterGone].sort(), ["s1", "s2"], "the last good config keeps serving");
    assert.equal(g.exited(), undefined, "the gateway is still running");

    // The directory is still watched: the file coming back is applied. The "reload" line
    // (its summary) is written once the reload is done: with workers > 1, once every
    // worker has applied it.
    const reloaded = () => g.logs().filter((l) => l.msg === "reload").length;
    const reloadsBefore = reloaded();
    writeFileSync(file, configYaml({ servers: [s2], shutdown: "{ delay: 100ms, timeout: 3s }", backendExtra: extra }));
    await until(() => reloaded() > reloadsBefore, 10_000, () => "the recreated file to be applied");
    const tBack = now();
    await until(() => t.samples.filter((s) => s.start > tBack).length >= 10, 10_000, "10 requests after the file came back");
    await traffic.stop();
    const afterBack = new Set(t.samples.filter((s) => s.start > tBack).map((s) => s.servedBy));
    assert.deepEqual([...afterBack], ["s2"], "the recreated file (s2 only) is applied");
    assert.deepEqual(t.failures(), [], describeFailures(t.failures()));
    process.stdout.write(`# --watch: new server served ${Math.round(seen)} ms after the write\n`);
    assert.equal((await stopGatewayProcess(g))?.code, 0);
  } finally {
    await traffic?.stop();
    await stopGatewayProcess(G);
    agent.destroy();
    await Promise.all([s1.close(), s2.close()]);
    tmp.remove();
  }
});

// ================================================================== 6

/**
 * How long a SIGTERM during startup may take to end the process: the rest of the start
 * plus the graceful stop (shutdown.delay 200 ms, at most timeout 3 s) on a machine where
 * starting Node alone can take seconds under load. What it rules out is a hang (the
 * process waiting for something that never comes), not a slow machine: 5 s did not.
 */
const STARTING_EXIT_MS = 30_000;

test("signals while starting: SIGTERM stops it promptly (never hangs), SIGHUP does not crash it", { timeout: 180_000 }, async () => {
  const tmp = tempDir();
  const s1 = await backend("s1");
  const file = join(tmp.dir, "gw.yaml");
  writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 200ms, timeout: 3s }" }));
  const pid = join(tmp.dir, "gw.pid");
  const outcomes: string[] = [];
  try {
    // (a) Blind: SIGTERM at various moments after spawn, most of them before any port is
    // printed. Before holdfast's own handlers exist, Node's default action ends the
    // process (killed by SIGTERM); after, it starts, then stops gracefully (exit 0).
    for (const delay of [0, 30, 100, 250, 400, 600]) {
      const p = spawnGateway(file, ["--pid-file", pid]);
      await sleep(delay);
      const beforePorts = !/listening on/.test(p.stdout());
      // holdfast's handlers already installed when it is sent (bin/holdfast.js's first
      // lines catch SIGTERM, SIGINT, then SIGHUP; Node itself catches SIGTERM from its
      // start, only to die of it, so SIGHUP is the sign): exit 0, nothing else. (With
      // SIGHUP first, a SIGTERM sent between the two was seen to kill it, at load 15.)
      const handled = catches(p.pid, 1);
      const tSig = p.signal("SIGTERM");
      const exit = await within(p.exit, STARTING_EXIT_MS, `exit within ${STARTING_EXIT_MS / 1000} s of a SIGTERM sent ${delay} ms after spawn`).catch(async (e: unknown) => {
        await p.kill();
        throw e;
      });
      outcomes.push(`+${delay}ms${beforePorts ? " (before ports)" : ""}${handled ? " (caught)" : ""}: ${exit.code ?? exit.signal} in ${Math.round(exit.at - tSig)} ms`);
      // Killed by the signal itself (before the handlers), or a graceful stop: exit 0, nothing else.
      const outcome = exit.code === null ? `killed by ${exit.signal}` : `exit ${exit.code}`;
      assert.ok(outcome === "exit 0" || (!handled && outcome === "killed by SIGTERM"), `SIGTERM ${delay} ms after spawn${handled ? " (caught)" : ""}: ${outcome}\n${p.stderr()}`);
      assert.ok(!existsSync(pid), "no pid file left behind");
    }

    // (b) In the window where holdfast's handlers are installed (SIGHUP caught, per
    // /proc/PID/status) but the listeners are not up yet: SIGTERM → started, then a
    // graceful stop, exit 0 (within STARTING_EXIT_MS).
    let hitWindow = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = spawnGateway(file, ["--pid-file", pid]);
      await until(() => catches(p.pid, 1) || p.exited() !== undefined, 30_000, () => "the SIGHUP handler to be installed");
      const beforePorts = !/listening on/.test(p.stdout());
      if (beforePorts) hitWindow++;
      const tSig = p.signal("SIGTERM");
      const exit = await within(p.exit, STARTING_EXIT_MS, `exit within ${STARTING_EXIT_MS / 1000} s of a SIGTERM during startup`).catch(async (e: unknown) => {
        await p.kill();
        throw e;
      });
      outcomes.push(`handlers up${beforePorts ? " (before ports)" : ""}: ${exit.code ?? exit.signal} in ${Math.round(exit.at - tSig)} ms`);
      assert.equal(exit.code, 0, `SIGTERM during startup: ${JSON.stringify(exit)}\n${p.stdout()}\n${p.stderr()}`);
      assert.ok(!existsSync(pid), "no pid file left behind");
    }

    // (c) SIGHUP in the same window: the gateway starts, serves, and stops normally.
    for (let attempt = 0; attempt < 3; attempt++) {
      const p = spawnGateway(file, ["--pid-file", pid]);
      try {
        await until(() => catches(p.pid, 1) || p.exited() !== undefined, 30_000, () => "the SIGHUP handler to be installed");
        const beforePorts = !/listening on/.test(p.stdout());
        if (beforePorts) hitWindow++;
        p.signal("SIGHUP");
        await until(() => /holdfast: pid \d+ in /.test(p.stdout()) || p.exited() !== undefined, 30_000, () => "the gateway to start after a SIGHUP");
        assert.equal(p.exited(), undefined, `SIGHUP during startup killed it: ${JSON.stringify(p.exited())}\n${p.stderr()}`);
        const port = Number(/listener web \(\w+\) listening on [\d.]+:(\d+)/.exec(p.stdout())![1]);
        const r = await httpGet(port, "/after-hup", false);
        assert.equal(r.status, 200);
        assert.equal(r.body, "s1 /after-hup");
        outcomes.push(`SIGHUP${beforePorts ? " (before ports)" : ""}: survived, served`);
        assert.equal((await stopGatewayProcess(p))?.code, 0);
      } finally {
        await stopGatewayProcess(p);
      }
    }
    process.stdout.write(`# signals while starting (${hitWindow} of 8 precise attempts landed before the ports were printed):\n#   ${outcomes.join("\n#   ")}\n`);
  } finally {
    await s1.close();
    tmp.remove();
  }
});

// ================================================================== 7

test("a second SIGTERM during a long graceful stop exits with 130 before shutdown.timeout (60 s) could end the stop", { timeout: 120_000 }, async () => {
  const tmp = tempDir();
  const stubborn = await stubbornWsServer();
  let G: Running | undefined;
  const clients: WebSocket[] = [];
  try {
    const file = join(tmp.dir, "gw.yaml");
    writeFileSync(file, configYaml({ servers: [{ name: "stubborn", port: stubborn.port }], shutdown: "{ delay: 200ms, timeout: 60s }" }));
    G = await startGatewayProcess(file, ["--pid-file", join(tmp.dir, "gw.pid")]);
    const g = G;
    // Five tunnels: a graceful stop closes each at a random moment over half of
    // shutdown.timeout (30 s here), and a client answers the close frame. One tunnel
    // alone ended the stop within the first second in about 1 run in 25 (seen: exit 0
    // before the second SIGTERM); all five that early, about never.
    for (let i = 0; i < 5; i++) {
      const client = new WebSocket(`ws://127.0.0.1:${g.port}/forever`, { perMessageDeflate: false });
      clients.push(client);
      client.on("error", () => {});
      await within(once(client, "open"), 10_000, "the WebSocket to open");
    }
    let closed = 0;
    for (const c of clients) c.once("close", () => closed++);

    const tFirst = g.signal("SIGTERM");
    await until(() => g.logs().some((l) => l.msg === "stopping gracefully"), 10_000, () => "the graceful stop to begin");
    const hz = await adminGet(g.admin, "/healthz");
    assert.equal(hz.status, 503, "healthz answers 503 during the stop");
    await sleep(1000);
    assert.equal(g.exited(), undefined, "still stopping gracefully: the tunnels hold it (shutdown.timeout 60s)");

    const tSecond = g.signal("SIGTERM");
    // 20 s rules out a hang, not a slow machine; what tells the forced exit from the
    // graceful one is its code, its log line, and that it came before shutdown.timeout.
    const exit = await within(g.exit, 20_000, "exit after the second SIGTERM");
    assert.equal(exit.code, 130, `forced exit: ${JSON.stringify(exit)}`);
    assert.ok(exit.at - tFirst < 60_000, `exited ${Math.round(exit.at - tFirst)} ms after the first SIGTERM (${Math.round(exit.at - tSecond)} ms after the second): before shutdown.timeout`);
    assert.match(g.stderr(), /SIGTERM again: exiting now/);
    await until(() => closed === clients.length, 10_000, () => `the clients to see their connections end (${closed} of ${clients.length})`);
  } finally {
    for (const c of clients) c.terminate();
    await stopGatewayProcess(G);
    await stubborn.close();
    tmp.remove();
  }
});

// ================================================================== 8

test("a reload during the graceful stop is not applied (SIGHUP, POST /api/reload): no listener reopens", { timeout: 60_000 }, async () => {
  const tmp = tempDir();
  const [s1, s2] = await Promise.all([backend("s1"), backend("s2")]);
  const token = "t0ken-for-tests";
  const file = join(tmp.dir, "gw.yaml");
  let G: Running | undefined;
  try {
    writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 200ms, timeout: 20s }", token }));
    G = await startGatewayProcess(file, ["--pid-file", join(tmp.dir, "gw.pid")]);
    const g = G;
    // A request in flight keeps the stop going for 4 s.
    const held = httpGet(g.port, "/held?ms=4000", false);
    await until(() => s1.held === 1, 10_000, () => "the held request to reach s1");
    g.signal("SIGTERM");
    await until(() => g.logs().some((l) => l.msg === "stopping gracefully"), 10_000, () => "the graceful stop to begin");

    // A new config that adds a listener on a known free port and a server.
    const free = createNetServer();
    free.listen(0, "127.0.0.1");
    await once(free, "listening");
    const extraPort = (free.address() as AddressInfo).port;
    await closeServer(free);
    const next = configYaml({ servers: [s1, s2], shutdown: "{ delay: 200ms, timeout: 20s }", token }).replace(
      "backends:",
      `  - { name: extra, mode: http, listen: 127.0.0.1:${extraPort}, routes: [ { backend: b } ] }\nbackends:`,
    );
    writeFileSync(file, next);
    g.signal("SIGHUP");
    const api = await adminGet(g.admin, "/api/reload", { method: "POST", token });
    assert.equal(api.status, 422, `POST /api/reload while stopping: ${api.status} ${api.body}`);
    assert.match(api.body, /stopping/);
    await sleep(300);
    const probe = await new Promise<string>((resolve) => {
      const s = connect(extraPort, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve("accepted");
      });
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    assert.equal(probe, "ECONNREFUSED", "a listener added by a reload during the stop must not accept connections");
    assert.ok(!g.logs().some((l) => l.msg === "config reloaded"), "nothing was reloaded");
    assert.ok(g.logs().some((l) => l.msg === "reload ignored: the gateway is stopping"), g.stderr().slice(-2000));
    const r = await held;
    assert.equal(r.status, 200, "the in-flight request finishes");
    const exit = await within(g.exit, 20_000, "the gateway to exit");
    assert.equal(exit.code, 0);
  } finally {
    await stopGatewayProcess(G);
    await Promise.all([s1.close(), s2.close()]);
    tmp.remove();
  }
});

// ================================================================== 9

test("a gateway that stops leaves a newer gateway's pid file alone (holdfast reload still finds the new one)", { timeout: 60_000 }, async () => {
  const tmp = tempDir();
  const s1 = await backend("s1");
  const file = join(tmp.dir, "gw.yaml");
  const pid = join(tmp.dir, "gw.pid");
  let old: Running | undefined;
  let fresh: Running | undefined;
  try {
    writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 100ms, timeout: 3s }" }));
    old = await startGatewayProcess(file, ["--pid-file", pid]);
    // A rolling restart on one host: the new gateway starts while the old one stops.
    fresh = await startGatewayProcess(file, ["--pid-file", pid]);
    assert.equal(readFileSync(pid, "utf8").trim(), String(fresh.pid));
    const exit = await stopGatewayProcess(old);
    assert.equal(exit?.code, 0);
    assert.ok(existsSync(pid), "the newer gateway's pid file survives the old one's exit");
    assert.equal(readFileSync(pid, "utf8").trim(), String(fresh.pid));
    const cli = await runCli(["reload", "--pid-file", pid], ENV);
    assert.equal(cli.code, 0, cli.stderr);
    const f = fresh;
    await until(() => f.logs().some((l) => l.msg === "reload"), 10_000, () => `the new gateway to reload:\n${f.stderr().slice(-1000)}`);
    assert.equal((await stopGatewayProcess(fresh))?.code, 0);
    assert.ok(!existsSync(pid), "the last gateway removes its own pid file");
  } finally {
    await Promise.all([stopGatewayProcess(old), stopGatewayProcess(fresh)]);
    await s1.close();
    tmp.remove();
  }
});

// ================================================================== regressions (bugs found by these tests)

test(
  "a gateway whose reload removed a server still exits after SIGTERM, within shutdown.timeout (+ 3 s for the process to end)",
  {
    timeout: 60_000,
  },
  async () => {
    const tmp = tempDir();
    const [s1, s2] = await Promise.all([backend("s1"), backend("s2")]);
    const file = join(tmp.dir, "gw.yaml");
    let G: Running | undefined;
    try {
      writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 100ms, timeout: 2s }" }));
      G = await startGatewayProcess(file, ["--pid-file", join(tmp.dir, "gw.pid")]);
      const g = G;
      const held = httpGet(g.port, "/held?ms=1500", false);
      await until(() => s1.held === 1, 10_000, () => "the held request to reach s1");
      writeFileSync(file, configYaml({ servers: [s2], shutdown: "{ delay: 100ms, timeout: 2s }" }));
      g.signal("SIGHUP");
      await until(() => g.logs().some((l) => l.msg === "config reloaded"), 10_000, () => "the reload");
      assert.equal((await held).status, 200, "the request on the removed server finishes");
      const tSig = g.signal("SIGTERM");
      const exit = await within(g.exit, 2000 + 3000, "exit within shutdown.timeout (2 s) + 3 s").catch(async (e: unknown) => {
        await g.kill();
        throw e;
      });
      assert.equal(exit.code, 0);
      assert.ok(exit.at - tSig < 5000);
    } finally {
      await stopGatewayProcess(G, 1000);
      await Promise.all([s1.close(), s2.close()]);
      tmp.remove();
    }
  },
);


test(
  "a SIGHUP that arrives while the CLI is still loading (right after bin/holdfast.js's first lines) does not kill the process",
  { timeout: 30_000 },
  async () => {
    const tmp = tempDir();
    const s1 = await backend("s1");
    const file = join(tmp.dir, "gw.yaml");
    writeFileSync(file, configYaml({ servers: [s1], shutdown: "{ delay: 100ms, timeout: 3s }" }));
    const p = spawnGateway(file, ["--pid-file", join(tmp.dir, "gw.pid")]);
    try {
      // As early as a process can catch anything: bin/holdfast.js's first lines. (Before
      // its JavaScript runs no program can catch a signal.)
      await until(() => catches(p.pid, 1) || p.exited() !== undefined, 20_000, () => "SIGHUP caught");
      assert.ok(!/holdfast: pid \d+ in /.test(p.stdout()), "sent while the CLI is still loading");
      p.signal("SIGHUP");
      await until(() => /holdfast: pid \d+ in /.test(p.stdout()) || p.exited() !== undefined, 20_000, () => "start or exit");
      assert.equal(p.exited(), undefined, `killed by an early SIGHUP: ${JSON.stringify(p.exited())}`);
    } finally {
      await stopGatewayProcess(p);
      await s1.close();
      tmp.remove();
    }
  },
);

timing.run(`a holdfast gateway process under load, stopped (workers: ${WORKERS})`);
tests.run(`a holdfast gateway process (workers: ${WORKERS})`);
