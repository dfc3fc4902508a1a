import assert from "node:assert/strict";
import { once } from "node:events";
import { request, type IncomingMessage } from "node:http";
import { connect as connectH2, type ClientHttp2Stream } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { startAdmin } from "../../src/admin/server.ts";
import { loadConfig } from "../../src/config/load.ts";
import { adminRequest } from "../support/admin.ts";
import { spawnHoldfast } from "../support/cluster.ts";
import { startGateway } from "../support/gateway.ts";
import { childPids, ownerOf } from "../support/procs.ts";
import { sseBackend } from "../support/sse.ts";
import { until } from "../support/wait.ts";
import { concurrentTests } from "../support/concurrent.ts";

// Three tests at a time: each owns its gateway, servers and clients, and most of each
// is waiting on a timeout or a drain (test/support/concurrent.ts).
const tests = concurrentTests(3);

// A server drain ends the drained server's event streams at an event boundary, on the
// same plan as its WebSocket tunnels (issue 14 part 2): none before drainTimeout, each
// at its moment within drainSpread, so EventSource clients reconnect elsewhere with
// Last-Event-ID, spread out, instead of waiting for timeouts.tunnel.

const TOKEN = "sse-drain-test-token-0123456789";
/** The drainer's tick: a close comes up to this late after its planned moment. */
const TICK = 100;

/** One event stream through the gateway, as the client sees it. */
interface Stream {
  readonly path: string;
  readonly server: string;
  readonly localPort: number;
  body: string;
  /** How it ended (undefined: still open), and when (performance.now()). */
  ended: "end" | "aborted" | "error" | undefined;
  endAt: number;
  readonly res: IncomingMessage;
}

/** Opens an event stream; resolves once its head is in. */
function openStream(port: number, path: string, lastEventId?: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    const req = request({ port, host: "127.0.0.1", path, headers, agent: false }, (res) => {
      const s: Stream = { path, server: String(res.headers["x-served-by"]), localPort: req.socket!.localPort!, body: "", ended: undefined, endAt: 0, res };
      const done = (how: Stream["ended"]) => {
        if (s.ended !== undefined) return;
        s.ended = how;
        s.endAt = performance.now();
      };
      res.setEncoding("utf8");
      res.on("data", (d: string) => (s.body += d));
      res.on("end", () => done("end"));
      res.on("aborted", () => done("aborted"));
      res.on("error", () => done("error"));
      resolve(s);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The id of the last complete event a stream received. */
function lastId(s: Stream): string {
  const ids = [...s.body.matchAll(/id: (\d+)\n\n/g)];
  assert.ok(ids.length > 0, `no complete event on ${s.path}: ${JSON.stringify(s.body)}`);
  return ids.at(-1)![1]!;
}

/** Every event whole, and nothing after the last one: the client's bytes end with "\n\n". */
function assertWholeEvents(s: Stream, name: string): void {
  assert.equal(s.ended, "end", `a clean end (the last chunk), not a cut: ${s.path} ended ${s.ended}`);
  assert.ok(s.body.endsWith("\n\n"), `ends after a complete event: ${JSON.stringify(s.body.slice(-40))}`);
  assert.match(s.body, new RegExp(`^(data: ${name}\\nid: \\d+\\n\\n)+$`), `whole events only: ${JSON.stringify(s.body)}`);
}

/** Most ends in any window of `windowMs`. */
function densest(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! > windowMs) j++;
    worst = Math.max(worst, i - j + 1);
  }
  return worst;
}

function config(servers: { name: string; port: number }[], timeout: number, spread: number, head = "", listener = ""): string {
  return `${head}
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, ${listener} routes: [ { backend: b } ] } ]
backends:
  b:
    balance: round-robin
    drainTimeout: ${timeout}ms
    drainSpread: ${spread}ms
    servers:
${servers.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;
}

tests.test("drain a server through the admin API: each of its event streams ends after a whole event, within drainTimeout + drainSpread, spread out; the other server's streams stay; reconnects with Last-Event-ID land there", async () => {
  const [A, B] = await Promise.all([sseBackend("A"), sseBackend("B")]);
  // The bounds below come from these two values and the number of streams on A.
  const DRAIN_TIMEOUT = 300;
  const DRAIN_SPREAD = 3000;
  const gw = await startGateway(config([A, B], DRAIN_TIMEOUT, DRAIN_SPREAD));
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const streams: Stream[] = [];
  try {
    // Round-robin: opened one after the other, they alternate between A and B.
    for (const path of [...Array<string>(32).fill("/tick"), ...Array<string>(8).fill("/quiet")]) streams.push(await openStream(gw.port(), path));
    const onA = streams.filter((s) => s.server === "A");
    const onB = streams.filter((s) => s.server === "B");
    assert.deepEqual([onA.length, onB.length], [20, 20]);
    await until(() => streams.every((s) => s.body.includes("\n\n")), 5000, "a first event on every stream");

    const t0 = performance.now();
    const r = await adminRequest(admin.url, "POST", "/api/backends/b/servers/A/drain", { token: TOKEN });
    assert.equal(r.status, 200, r.text);
    await until(() => onA.every((s) => s.ended !== undefined), DRAIN_TIMEOUT + DRAIN_SPREAD + 5000, () => `every stream on A to end (${onA.filter((s) => s.ended === undefined).length} open)`);
    for (const s of onA) assertWholeEvents(s, "A");

    // When: none before its moment (the plan starts at drainTimeout); each by its moment
    // plus the tick, the rest of an event in flight (20 ms) and the lag of this process
    // (clients, backends and gateway share its event loop) on a loaded 2-core machine.
    const n = onA.length;
    const LATE = TICK + 20 + 900;
    const at = onA.map((s) => s.endAt - t0);
    const desc = at.map((x) => x.toFixed(0)).sort((x, y) => Number(x) - Number(y)).join(", ");
    assert.ok(Math.min(...at) >= DRAIN_TIMEOUT, `an end before drainTimeout: ${desc}`);
    assert.ok(Math.max(...at) <= DRAIN_TIMEOUT + DRAIN_SPREAD + LATE, `an end after drainTimeout + drainSpread: ${desc}`);
    // Spread, against the plan's own bounds (core/plan/drain.ts): one end per slot of
    // drainSpread / n, so the first and last planned are at least drainSpread - 2 slots
    // apart, and any window of w holds at most ceil(w * n / drainSpread) + 1 planned.
    // Measured ends trail their moments by up to LATE, which widens both by that much.
    const slot = DRAIN_SPREAD / n;
    assert.ok(Math.max(...at) - Math.min(...at) >= DRAIN_SPREAD - 2 * slot - LATE, `the ends span the spread: ${desc}`);
    // All at once would put all n in one window; LATE makes the bound about n / 2.
    const W = 300;
    const most = Math.ceil(((W + LATE) * n) / DRAIN_SPREAD) + 1;
    assert.ok(densest(at, W) <= most, `${densest(at, W)} of ${n} ends in one ${W} ms window (the plan allows ${most}): ${desc}`);

    // B's streams: untouched, still flowing.
    assert.ok(onB.every((s) => s.ended === undefined), "B's streams stay open");
    const before = onB.map((s) => s.body.length);
    await until(() => onB.every((s, i) => s.path === "/quiet" || s.body.length > before[i]!), 2000, "B's streams to keep flowing");

    // Reconnecting like EventSource (Last-Event-ID), each lands on B and resumes after
    // the last event it got.
    for (const s of onA) {
      const id = lastId(s);
      const again = await openStream(gw.port(), s.path, id);
      streams.push(again);
      assert.equal(again.server, "B", "a reconnect lands on the server not drained");
      assert.equal(B.lastIds.at(-1), id, "B got the Last-Event-ID");
      await until(() => again.body.includes("\n\n"), 3000, "the first event after the reconnect");
      assert.match(again.body, new RegExp(`^data: B\\nid: ${Number(id) + 1}\\n\\n`));
    }
  } finally {
    for (const s of streams) s.res.destroy();
    await admin.close();
    await gw.close();
    await Promise.all([A.close(), B.close()]);
  }
});

tests.test("drain: a stream resting between events ends at its moment; one inside an event at its moment ends right after that event, not before", async () => {
  const A = await sseBackend("A");
  // drainSpread 0: every moment is drainTimeout after the drain.
  const DRAIN_TIMEOUT = 200;
  const gw = await startGateway(config([A], DRAIN_TIMEOUT, 0));
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const streams: Stream[] = [];
  try {
    const half = await openStream(gw.port(), "/half");
    const quiet = await openStream(gw.port(), "/quiet");
    streams.push(half, quiet);
    await until(() => half.body === "data: A\nid: 0\n\ndata: A\n" && quiet.body === "data: A\nid: 0\n\n", 3000, "the streams' first bytes");
    const t0 = performance.now();
    assert.equal((await adminRequest(admin.url, "POST", "/api/backends/b/servers/A/drain", { token: TOKEN })).status, 200);

    await until(() => quiet.ended !== undefined, 3000, "the resting stream to end");
    assertWholeEvents(quiet, "A");
    // Nothing else ends it (timeouts.tunnel is 1 h): the upper bound only allows for a
    // loaded machine's lag.
    const quietAt = quiet.endAt - t0;
    assert.ok(quietAt >= DRAIN_TIMEOUT && quietAt <= DRAIN_TIMEOUT + TICK + 1000, `the resting stream ended ${quietAt.toFixed(0)} ms after the drain (its moment: ${DRAIN_TIMEOUT} ms)`);

    // Both had the same moment (drainSpread 0), so the other was asked too: inside its
    // event, it waits.
    assert.equal(half.ended, undefined, "not cut inside an event");
    await sleep(300);
    assert.equal(half.ended, undefined, "not cut inside an event");
    assert.equal(half.body, "data: A\nid: 0\n\ndata: A\n");
    // The event completes; the server's next one comes 300 ms later and must not get through.
    A.finishHalf();
    await until(() => half.ended !== undefined, 3000, "the stream to end after its event");
    assertWholeEvents(half, "A");
    assert.equal(half.body, "data: A\nid: 0\n\ndata: A\nid: 1\n\n", "ended right after the event it was in, before the next one");
  } finally {
    for (const s of streams) s.res.destroy();
    await admin.close();
    await gw.close();
    await A.close();
  }
});

tests.test("workers: 2 — a drain through the primary's admin API ends the drained server's event streams in every worker, whole events only", async () => {
  const [s1, s2] = await Promise.all([sseBackend("s1"), sseBackend("s2")]);
  const DRAIN_TIMEOUT = 200;
  const DRAIN_SPREAD = 1000;
  const gw = await spawnHoldfast(["gateway"], config([s1, s2], DRAIN_TIMEOUT, DRAIN_SPREAD, `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }\nworkers: 2\nshutdown: { delay: 0ms, timeout: 5s }`), [
    /listener web \(http\) listening on [\d.]+:(\d+)/,
    /admin on (http:\/\/[\d.:]+)/,
    /workers serve/,
  ]);
  const port = Number(gw.matches[0]![1]);
  const adminUrl = gw.matches[1]![1]!;
  const streams: (Stream & { worker: number })[] = [];
  try {
    const workers = childPids(gw.child.pid!);
    assert.equal(workers.length, 2);
    // The kernel spreads the connections over the workers (SO_REUSEPORT); each worker
    // balances its own. Enough streams that both workers hold some to s1.
    for (let i = 0; i < 40 && !workers.every((w) => streams.some((s) => s.worker === w && s.server === "s1")); i++) {
      const s = await openStream(port, "/tick");
      streams.push(Object.assign(s, { worker: ownerOf(port, s.localPort, workers) ?? 0 }));
    }
    const onS1 = streams.filter((s) => s.server === "s1");
    assert.deepEqual(new Set(onS1.map((s) => s.worker)), new Set(workers), "streams to s1 in each worker");
    await until(() => streams.every((s) => s.body.includes("\n\n")), 5000, "a first event on every stream");

    const t0 = performance.now();
    assert.equal((await adminRequest(adminUrl, "POST", "/api/backends/b/servers/s1/drain", { token: TOKEN })).status, 200);
    await until(() => onS1.every((s) => s.ended !== undefined), DRAIN_TIMEOUT + DRAIN_SPREAD + 5000, "every stream on s1 to end");
    for (const s of onS1) assertWholeEvents(s, "s1");
    for (const s of onS1) assert.ok(s.endAt - t0 >= DRAIN_TIMEOUT, `ended ${(s.endAt - t0).toFixed(0)} ms after the drain`);
    assert.ok(streams.filter((s) => s.server === "s2").every((s) => s.ended === undefined), "s2's streams stay open");
  } finally {
    for (const s of streams) s.res.destroy();
    gw.child.kill("SIGTERM");
    await gw.exited;
    await Promise.all([s1.close(), s2.close()]);
  }
});

tests.test("over HTTP/2 (h2c): a drained server's event stream ends as its HTTP/2 stream ends, after a whole event; the connection stays, its next request goes to the other server", async () => {
  const [A, B] = await Promise.all([sseBackend("A"), sseBackend("B")]);
  const DRAIN_TIMEOUT = 200;
  const gw = await startGateway(config([A, B], DRAIN_TIMEOUT, 0, "", "protocols: [http1, h2c],"));
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const c = connectH2(`http://127.0.0.1:${gw.port()}`);
  try {
    /** One event stream on the shared connection: who serves it, what came, whether it ended. */
    const open = async (path: string) => {
      const r: ClientHttp2Stream = c.request({ ":path": path }, { endStream: true });
      const [headers] = (await once(r, "response")) as [Record<string, string>];
      const s = { server: headers["x-served-by"], body: "", ended: false };
      r.setEncoding("utf8");
      r.on("data", (d: string) => (s.body += d));
      r.on("end", () => (s.ended = true));
      return s;
    };
    const onA = await open("/tick");
    const onB = await open("/tick");
    assert.deepEqual([onA.server, onB.server], ["A", "B"]);
    await until(() => onA.body.includes("\n\n") && onB.body.includes("\n\n"), 3000, "first events");
    assert.equal((await adminRequest(admin.url, "POST", "/api/backends/b/servers/A/drain", { token: TOKEN })).status, 200);
    await until(() => onA.ended, 3000, "A's stream to end");
    assert.ok(onA.body.endsWith("\n\n"), JSON.stringify(onA.body.slice(-40)));
    assert.match(onA.body, /^(data: A\nid: \d+\n\n)+$/);
    assert.equal(onB.ended, false, "B's stream goes on");
    assert.ok(!c.closed && !c.destroyed, "the connection stays");
    const next = await open("/quiet");
    assert.equal(next.server, "B");
  } finally {
    c.destroy();
    await admin.close();
    await gw.close();
    await Promise.all([A.close(), B.close()]);
  }
});

tests.test("a reload that removes a server ends its event streams at an event boundary on the drain plan", async () => {
  const [A, B] = await Promise.all([sseBackend("A"), sseBackend("B")]);
  const gw = await startGateway(config([A, B], 100, 0));
  const streams: Stream[] = [];
  try {
    for (let i = 0; i < 4; i++) streams.push(await openStream(gw.port(), "/tick"));
    await until(() => streams.every((s) => s.body.includes("\n\n")), 3000, "first events");
    const DRAIN_TIMEOUT = 100;
    const next = loadConfig(config([B], DRAIN_TIMEOUT, 0), { env: {}, baseDir: "." });
    assert.ok(next.ok);
    const t0 = performance.now();
    await gw.gw.reload(next.config);
    const onA = streams.filter((s) => s.server === "A");
    assert.equal(onA.length, 2);
    await until(() => onA.every((s) => s.ended !== undefined), 3000, "A's streams to end");
    for (const s of onA) assertWholeEvents(s, "A");
    for (const s of onA) assert.ok(s.endAt - t0 >= DRAIN_TIMEOUT, `ended ${(s.endAt - t0).toFixed(0)} ms after the reload, before drainTimeout (${DRAIN_TIMEOUT} ms)`);
    assert.ok(streams.filter((s) => s.server === "B").every((s) => s.ended === undefined), "B's streams stay");
  } finally {
    for (const s of streams) s.res.destroy();
    await gw.close();
    await Promise.all([A.close(), B.close()]);
  }
});

tests.run("event streams through a drain");
