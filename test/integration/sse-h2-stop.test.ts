import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type ClientHttp2Session, type SecureClientSessionOptions } from "node:http2";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/config/load.ts";
import { spawnHoldfast } from "../support/cluster.ts";
import { startGateway } from "../support/gateway.ts";
import { sseBackend } from "../support/sse.ts";
import { makeCa } from "../support/tls.ts";
import { until } from "../support/wait.ts";

// A graceful stop, or a reload that removes a listener, sends GOAWAY to its HTTP/2
// connections; the event streams they carry end at their next event boundary like
// HTTP/1.1 ones (issue 14 part 2), instead of running on until the hard deadline cuts
// them mid-event.

/** One event stream on an HTTP/2 connection, as the client sees it. */
interface H2Event {
  readonly path: string;
  readonly server: string;
  body: string;
  /** "end": END_STREAM after the data; "reset": RST_STREAM, or the connection went away first. */
  ended: "end" | "reset" | undefined;
  endAt: number;
}

/** Opens an event stream on `c`; resolves once its head is in. */
async function open(c: ClientHttp2Session, path: string): Promise<H2Event> {
  const r = c.request({ ":path": path, accept: "text/event-stream" }, { endStream: true });
  const [headers] = (await once(r, "response")) as [Record<string, string>];
  assert.equal(headers[":status"], 200);
  const s: H2Event = { path, server: String(headers["x-served-by"]), body: "", ended: undefined, endAt: 0 };
  r.setEncoding("utf8");
  r.on("data", (d: string) => (s.body += d));
  r.on("end", () => {
    s.ended ??= "end";
    s.endAt = performance.now();
  });
  r.on("close", () => {
    if (s.ended === undefined || r.rstCode !== 0) s.ended = "reset";
    s.endAt ||= performance.now();
  });
  r.on("error", () => {});
  return s;
}

/** A clean end after whole events: the client's bytes end with "\n\n" and nothing else came. */
function assertWholeEvents(s: H2Event, name: string): void {
  assert.equal(s.ended, "end", `${s.path}: END_STREAM after whole events, not a reset`);
  assert.ok(s.body.endsWith("\n\n"), `${s.path} ends after a complete event: ${JSON.stringify(s.body.slice(-40))}`);
  assert.match(s.body, new RegExp(`^(data: ${name}\\nid: \\d+\\n\\n)+$`), `whole events only: ${JSON.stringify(s.body.slice(-80))}`);
}

/** A TLS listener (ALPN h2) and an h2c one, in front of `port`. */
function config(pem: { certPath: string; keyPath: string }, port: number, shutdown: string, h2c = true): string {
  return `
admin: { listen: 127.0.0.1:0 }
shutdown: ${shutdown}
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [ { backend: b } ] }
${h2c ? "  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [http1, h2c], routes: [ { backend: b } ] }" : ""}
backends:
  b:
    servers: [ { name: s, address: 127.0.0.1:${port} } ]
`;
}

const ca = makeCa();
const pem = ca.issue(["h2.test"]);
const tlsOpts: SecureClientSessionOptions = { ca: ca.cert, servername: "h2.test" };

test("graceful stop over HTTP/2 (TLS h2 and h2c): every event stream ends after a whole event, long before the hard deadline; one inside an event ends when it is whole, before the next event", async () => {
  const be = await sseBackend("s");
  const DELAY = 100;
  const TIMEOUT = 8000;
  const gw = await startGateway(config(pem, be.port, `{ delay: ${DELAY}ms, timeout: ${TIMEOUT}ms }`)).catch(async (e: unknown) => {
    await be.close();
    throw e;
  });
  // Two connections per listener, five event streams on each.
  const conns = [
    connect(`https://127.0.0.1:${gw.port()}`, tlsOpts),
    connect(`https://127.0.0.1:${gw.port()}`, tlsOpts),
    connect(`http://127.0.0.1:${gw.port("mesh")}`),
    connect(`http://127.0.0.1:${gw.port("mesh")}`),
  ];
  try {
    for (const c of conns) c.on("error", () => {});
    const ticks: H2Event[] = [];
    for (const c of conns) for (let i = 0; i < 5; i++) ticks.push(await open(c, "/tick"));
    // The last connection also carries a stream stuck inside an event.
    const half = await open(conns[3]!, "/half");
    await until(() => ticks.every((s) => s.body.includes("\n\n")) && half.body.endsWith("data: s\n"), 5000, "first events");

    const t0 = performance.now();
    let stopped = 0;
    const stop = gw.gw.shutdown().then(() => (stopped = performance.now()));
    await until(() => ticks.every((s) => s.ended !== undefined), TIMEOUT / 2, "every /tick stream to end");
    for (const s of ticks) assertWholeEvents(s, "s");
    for (const s of ticks) assert.ok(s.endAt - t0 >= DELAY - 10, `ended ${(s.endAt - t0).toFixed(0)} ms after the stop began, before its delay`);

    // The stuck stream waits for its event, however long (short of the deadline) ...
    await sleep(300);
    assert.equal(half.ended, undefined, `the stream inside an event is not cut: ${JSON.stringify(half.body)}`);
    assert.equal(stopped, 0, "the stop waits for it");
    // ... and ends once the event is whole, before anything after it (the server's next
    // event, 300 ms later: a stream that waited for a later boundary would carry it).
    be.finishHalf();
    await until(() => half.ended !== undefined, 10_000, "the /half stream to end");
    assertWholeEvents(half, "s");
    assert.ok(!half.body.includes("late"), `the stream ended after the server's next event: ${JSON.stringify(half.body)}`);
    await stop;
    assert.ok(stopped - t0 < TIMEOUT / 2, `the stop took ${(stopped - t0).toFixed(0)} ms (hard deadline ${TIMEOUT} ms)`);
  } finally {
    for (const c of conns) c.destroy();
    await gw.close();
    await be.close();
  }
});

test("a reload that removes an HTTP/2 listener ends its event streams at an event boundary; the other listener's streams go on", async () => {
  const be = await sseBackend("s");
  const gw = await startGateway(config(pem, be.port, "{ delay: 0ms, timeout: 5s }")).catch(async (e: unknown) => {
    await be.close();
    throw e;
  });
  const tls = connect(`https://127.0.0.1:${gw.port()}`, tlsOpts);
  const h2c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
  try {
    for (const c of [tls, h2c]) c.on("error", () => {});
    const kept = [await open(tls, "/tick"), await open(tls, "/tick")];
    const removed = [await open(h2c, "/tick"), await open(h2c, "/tick"), await open(h2c, "/tick")];
    await until(() => [...kept, ...removed].every((s) => s.body.includes("\n\n")), 5000, "first events");
    const next = loadConfig(config(pem, be.port, "{ delay: 0ms, timeout: 5s }", false), { env: {}, baseDir: "." });
    assert.ok(next.ok);
    await gw.gw.reload(next.config);
    await until(() => removed.every((s) => s.ended !== undefined), 3000, "the removed listener's streams to end");
    for (const s of removed) assertWholeEvents(s, "s");
    // The other listener's streams go on: each carries a whole event more, and none ended.
    const seen = kept.map((s) => s.body.length);
    await until(() => kept.every((s, i) => s.body.indexOf("\n\n", seen[i]) >= 0), 5000, "an event more on each of the TLS listener's streams");
    assert.ok(kept.every((s) => s.ended === undefined), "the TLS listener's streams go on");
  } finally {
    tls.destroy();
    h2c.destroy();
    await gw.close();
    await be.close();
  }
});

test("process: SIGTERM ends the event streams of HTTP/2 connections after whole events, and the gateway exits 0 long before shutdown.timeout", async () => {
  const be = await sseBackend("s");
  const TIMEOUT = 10_000;
  let gw: Awaited<ReturnType<typeof spawnHoldfast>> | undefined;
  const conns: ClientHttp2Session[] = [];
  try {
    gw = await spawnHoldfast(["gateway"], config(pem, be.port, `{ delay: 0ms, timeout: ${TIMEOUT}ms }`), [
      /listener web \(http\) listening on [\d.]+:(\d+)/,
      /listener mesh \(http\) listening on [\d.]+:(\d+)/,
    ]);
    conns.push(connect(`https://127.0.0.1:${gw.matches[0]![1]}`, tlsOpts), connect(`http://127.0.0.1:${gw.matches[1]![1]}`));
    for (const c of conns) c.on("error", () => {});
    const streams: H2Event[] = [];
    for (const c of conns) for (let i = 0; i < 4; i++) streams.push(await open(c, "/tick"));
    await until(() => streams.every((s) => s.body.includes("\n\n")), 5000, "first events");
    const t0 = performance.now();
    gw.child.kill("SIGTERM");
    const exit = await gw.exited;
    const took = performance.now() - t0;
    await until(() => streams.every((s) => s.ended !== undefined), 2000, "every stream to end");
    for (const s of streams) assertWholeEvents(s, "s");
    assert.deepEqual(exit, { code: 0, signal: null }, gw.output());
    assert.ok(took < TIMEOUT / 2, `the stop took ${took.toFixed(0)} ms (hard deadline ${TIMEOUT} ms)`);
  } finally {
    for (const c of conns) c.destroy();
    if (gw?.running) gw.child.kill("SIGKILL");
    await be.close();
  }
});
