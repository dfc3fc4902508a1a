// The exchange's dispatch on real sockets (src/gateway/http/exchange-dispatch.ts): a drain
// ending the event streams of its server, a listener's removal ending its HTTP/2 event
// streams, a queued request woken with no server for it,
// a queued request whose client leaves (its record), a client that leaves while its
// server connection is being made, least-response-time told about
// failures as failures, a request body held back while its request waits, and an
// HTTP/2 body the server answered before it was through. Written for mutants of
// exchange-dispatch.ts that no other test told apart (issue 15).
import assert from "node:assert/strict";
import { once } from "node:events";
import { constants as http2Constants, connect as http2Connect } from "node:http2";
import type { Socket } from "node:net";
import { test } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events } from "../../src/gateway/diagnostics.ts";
import { okResponse, tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { sseBackend } from "../support/sse.ts";
import { until } from "../support/wait.ts";

/**
 * A raw HTTP/1.1 server: each request (head and Content-Length body) is logged as
 * `<connection>: <request line>, <body>` and answered by `answer` (null: held, no answer).
 */
async function loggingServer(answer: (line: string) => string | null) {
  const seen: string[] = [];
  const sockets: Socket[] = [];
  let closed = 0;
  const server = await tcpBackend((s) => {
    const conn = sockets.push(s) - 1;
    let buf = "";
    s.on("error", () => {});
    // (The server side is half-open: the gateway's close is its end.)
    s.once("end", () => closed++);
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        const he = buf.indexOf("\r\n\r\n");
        const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, he))?.[1] ?? 0);
        if (he < 0 || buf.length < he + 4 + len) return;
        const line = buf.slice(0, buf.indexOf("\r\n"));
        seen.push(`${conn}: ${line}, ${buf.slice(he + 4, he + 4 + len)}`);
        buf = buf.slice(he + 4 + len);
        const out = answer(line);
        if (out !== null) s.write(out);
      }
    });
  });
  return { ...server, seen, sockets, closed: () => closed };
}

test("a drain of a server ends the HTTP/1.1 event stream that comes from it (the last chunk, then the close); the stream from the other server goes on", async () => {
  const a = await sseBackend("A");
  const b = await sseBackend("B");
  const gw = await startGateway(simpleConfig([{ name: "A", port: a.port }, { name: "B", port: b.port }], "    drainTimeout: 0ms\n    drainSpread: 0ms"));
  const clients: ReturnType<typeof rawClient>[] = [];
  try {
    // Round-robin: the first stream comes from one server, the second from the other.
    const heads: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = rawClient(gw.port());
      clients.push(c);
      c.socket.write("GET /quiet HTTP/1.1\r\nHost: t\r\n\r\n");
      heads.push(await c.readUntil((t) => t.includes("\n\n\r\n"), 5000)); // the head and the first event
    }
    const fromA = heads.findIndex((h) => /\r\nx-served-by: A\r\n/i.test(h));
    assert.ok(fromA >= 0 && heads.some((h) => /\r\nx-served-by: B\r\n/i.test(h)), `one stream from each server: ${JSON.stringify(heads)}`);
    const streamA = clients[fromA]!;
    const streamB = clients[1 - fromA]!;
    let bClosed = false;
    streamB.socket.on("close", () => (bClosed = true));
    assert.ok(gw.gw.control.serverAction("b", "A", "drain"));
    const rest = await streamA.readUntil((t) => t.endsWith("0\r\n\r\n"), 5000);
    assert.equal(rest, "0\r\n\r\n", "A's stream ends at its event boundary with the last chunk");
    await until(() => streamA.socket.destroyed || streamA.socket.readableEnded, 5000, "A's stream's connection to close");
    assert.equal(bClosed, false, "B's stream goes on");
    assert.equal(gw.gw.data.streams.size, 1, "only B's stream is left in the plane's registry");
  } finally {
    for (const c of clients) c.close();
    await gw.close();
    await a.close();
    await b.close();
  }
});

test("a reload that removes an h2c listener ends its HTTP/2 event stream after its event (END_STREAM, no reset); the other listener's stream goes on", async () => {
  const be = await sseBackend("s");
  const yaml = (both: boolean) => `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, protocols: [http1, h2c], routes: [ { backend: b } ] }
${both ? "  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [http1, h2c], routes: [ { backend: b } ] }" : ""}
backends:
  b:
    servers: [ { name: s, address: 127.0.0.1:${be.port} } ]
`;
  const gw = await startGateway(yaml(true));
  const kept = http2Connect(`http://127.0.0.1:${gw.port("web")}`);
  const removed = http2Connect(`http://127.0.0.1:${gw.port("mesh")}`);
  try {
    const open = async (c: typeof kept) => {
      c.on("error", () => {});
      const r = c.request({ ":path": "/quiet" }, { endStream: true });
      r.on("error", () => {});
      r.setEncoding("latin1");
      const s = { body: "", ended: false, closed: false, r };
      r.on("data", (d: string) => (s.body += d));
      r.on("end", () => (s.ended = true));
      r.on("close", () => (s.closed = true));
      await until(() => s.body.endsWith("\n\n"), 5000, "the stream's first event");
      return s;
    };
    const a = await open(kept);
    const b = await open(removed);
    const next = loadConfig(yaml(false), { env: {}, baseDir: "." });
    assert.ok(next.ok);
    await gw.gw.reload(next.config);
    await until(() => b.closed, 5000, "the removed listener's stream to end");
    assert.deepEqual({ ended: b.ended, rstCode: b.r.rstCode, body: b.body }, { ended: true, rstCode: http2Constants.NGHTTP2_NO_ERROR, body: "data: s\nid: 0\n\n" });
    assert.deepEqual({ ended: a.ended, closed: a.closed }, { ended: false, closed: false }, "the kept listener's stream goes on");
  } finally {
    kept.destroy();
    removed.destroy();
    await gw.close();
    await be.close();
  }
});

test("a queued request woken while only a backup is free (its primary up, at maxConn) finds no server, stays queued, and goes to the primary when it frees up", async () => {
  const primary = await loggingServer((line) => (line.startsWith("GET /busy ") ? null : okResponse("primary")));
  const backup = await loggingServer(() => okResponse("backup"));
  const yaml = simpleConfig([{ name: "p", port: primary.port }], "    maxConn: 1\n    queueTimeout: 1h")
    .replace("    servers:\n", `    servers:\n      - { name: k, address: 127.0.0.1:${backup.port}, backup: true }\n`);
  const gw = await startGateway(yaml);
  const queue = gw.gw.backends.get("b")!.queue;
  const busy = rawClient(gw.port());
  const queued = rawClient(gw.port());
  try {
    busy.socket.write("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => primary.seen.length === 1, 5000, "the busy request to reach the primary");
    const answer = queued.request("GET /queued HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => queue.length === 1, 5000, "the request to queue");
    // Counts the queued request's wake-ups (its own method, called through).
    const waiter = queue[0]!;
    const wake = waiter.onQueueReady;
    let woken = 0;
    waiter.onQueueReady = function (this: typeof waiter) {
      woken++;
      wake.call(this);
    };
    // An admin action refreshes the backend: the free backup wakes the queued request,
    // whose pick finds no server (backups serve only while no primary is up).
    assert.ok(gw.gw.control.serverAction("b", "k", "enable"));
    assert.equal(woken, 1, "the enable woke the queued request");
    assert.deepEqual([...queue], [waiter], "the woken request is queued again");
    primary.sockets[0]!.write(okResponse("busy"));
    assert.ok((await busy.request("")).endsWith("\r\n\r\nbusy"));
    assert.ok((await answer).endsWith("\r\n\r\nprimary"), "the queued request went to the primary once it freed up");
    assert.deepEqual(primary.seen, ["0: GET /busy HTTP/1.1, ", "0: GET /queued HTTP/1.1, "]);
    assert.deepEqual(backup.seen, [], "the backup served nothing");
  } finally {
    busy.close();
    queued.close();
    await gw.close();
    await primary.close();
    await backup.close();
  }
});

test("a queued request whose client leaves (an HTTP/2 stream reset, an HTTP/1.1 connection reset) leaves the queue and is recorded: status 0, no server, no error", async () => {
  const server = await loggingServer((line) => (line.startsWith("GET /busy ") ? null : okResponse("ok")));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    maxConn: 1\n    queueTimeout: 1h", "    protocols: [http1, h2c]"));
  const queue = gw.gw.backends.get("b")!.queue;
  const records: AccessRecord[] = [];
  const off = gw.on(events.exchangeFinished, (m) => records.push(m.record));
  const busy = rawClient(gw.port());
  const h1 = rawClient(gw.port());
  const h2 = http2Connect(`http://127.0.0.1:${gw.port()}`);
  h2.on("error", () => {});
  try {
    busy.socket.write("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => server.seen.length === 1, 5000, "the busy request to reach the server");
    const sentAt: number[] = [performance.now()];
    const leaver = h2.request({ ":path": "/h2-leaver" }, { endStream: true });
    leaver.on("error", () => {});
    await until(() => queue.length === 1, 5000, "the HTTP/2 request to queue");
    leaver.close(http2Constants.NGHTTP2_CANCEL);
    await until(() => records.length === 1, 5000, () => `the reset stream's record (${JSON.stringify(records)})`);
    assert.equal(queue.length, 0);
    sentAt.push(performance.now());
    h1.socket.write("GET /h1-leaver HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => queue.length === 1, 5000, "the HTTP/1.1 request to queue");
    h1.socket.resetAndDestroy();
    await until(() => records.length === 2, 5000, () => `the reset connection's record (${JSON.stringify(records)})`);
    const recordedAt = performance.now();
    assert.equal(queue.length, 0);
    for (const [i, [r, path]] of ([[records[0]!, "/h2-leaver"], [records[1]!, "/h1-leaver"]] as const).entries()) {
      assert.deepEqual({ path: r.path, status: r.status, server: r.server, backend: r.backend, retries: r.retries, error: r.error },
        { path, status: 0, server: "", backend: "b", retries: 0, error: undefined });
      // The gateway's clock is this process's performance.now(): its duration lies within the test's view of the request.
      const most = recordedAt - sentAt[i]!;
      assert.ok(r.durationMs > 0 && r.durationMs <= most, `${path}: durationMs ${r.durationMs}, from its request to its record (at most ${most.toFixed(1)})`);
    }
    assert.equal(server.seen.length, 1, "neither reached the server");
  } finally {
    off();
    h2.destroy();
    busy.close();
    h1.close();
    await gw.close();
    await server.close();
  }
});

test("a client that leaves while its server connection is being made (a TLS handshake the server never answers; an HTTP/2 stream reset, an HTTP/1.1 connection reset): that connection is closed, its close is no connect failure of the exchange, and each exchange is recorded once (status 0, its server, no retry, no error)", async () => {
  // TLS to a server that accepts and never answers the ClientHello: the connection stays
  // in its handshake (not ready) until the client leaves.
  let accepted = 0;
  let ended = 0;
  const server = await tcpBackend((s) => {
    accepted++;
    s.on("error", () => {});
    s.resume(); // the ClientHello, read and dropped
    s.once("end", () => ended++);
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    tls: { verify: false }", "    protocols: [http1, h2c]"));
  const a = gw.gw.backends.get("b")!.servers[0]!;
  const records: AccessRecord[] = [];
  const off = gw.on(events.exchangeFinished, (m) => records.push(m.record));
  const h1 = rawClient(gw.port());
  const h2 = http2Connect(`http://127.0.0.1:${gw.port()}`);
  h2.on("error", () => {});
  try {
    const leaver = h2.request({ ":path": "/h2-leaver" }, { endStream: true });
    leaver.on("error", () => {});
    await until(() => accepted === 1, 5000, "the HTTP/2 request's connection to reach the server");
    leaver.close(http2Constants.NGHTTP2_CANCEL);
    await until(() => ended === 1 && records.length === 1, 5000, () => `the connection closed and the reset stream's record (${JSON.stringify(records)})`);
    h1.socket.write("GET /h1-leaver HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => accepted === 2, 5000, "the HTTP/1.1 request's connection to reach the server");
    h1.socket.resetAndDestroy();
    await until(() => ended === 2 && records.length === 2, 5000, () => `the connection closed and the reset connection's record (${JSON.stringify(records)})`);
    // Each connection's close reached the gateway after its exchange had ended (the
    // connection's waiter is still that exchange), and before the server read the end:
    // taken for the exchange's connect failure, it would end the attempt a second time
    // (an attempt already done: a TypeError in the close's listener).
    assert.deepEqual(records.map((r) => ({ path: r.path, status: r.status, server: r.server, retries: r.retries, error: r.error })), [
      { path: "/h2-leaver", status: 0, server: "a", retries: 0, error: undefined },
      { path: "/h1-leaver", status: 0, server: "a", retries: 0, error: undefined },
    ]);
    assert.equal(accepted, 2, "no retry connected again");
    assert.equal(a.active, 0, "each attempt ended once");
    assert.equal(a.stats.connectFailures, 0);
  } finally {
    off();
    h2.destroy();
    h1.close();
    await gw.close();
    await server.close();
  }
});

type Client = ReturnType<typeof rawClient>;
type LoggingServer = Awaited<ReturnType<typeof loggingServer>>;

/** Sends `request` on `c`: null once `held` logged it (it holds requests), else the answer ("" for none). */
async function heldOrAnswer(c: Client, held: LoggingServer, request: string): Promise<string | null> {
  let answer: string | null = null;
  void c.request(request).then((t) => (answer = t), () => (answer = ""));
  const n = held.seen.length;
  await until(() => held.seen.length > n || answer !== null, 5000, "the request to reach a server");
  return held.seen.length > n ? null : answer;
}

/**
 * Least-response-time with server A failing requests and B answering at once: a failure
 * is no latency sample, so A stays unmeasured, and a pick between a busy A and an idle,
 * measured B goes by load (to B). A failure taken for a fast answer (latency 0) would
 * make A the cheapest server whatever its load.
 */
const lrtFailures: { name: string; fail: (c: Client, a: LoggingServer) => Promise<boolean> }[] = [
  {
    name: "a malformed response head (502)",
    fail: async (c) => /^HTTP\/1\.1 502 /.test(await c.request("GET /bad HTTP/1.1\r\nHost: t\r\n\r\n")),
  },
  {
    name: "its client leaving before the answer",
    fail: async (c, a) => {
      if ((await heldOrAnswer(c, a, "GET /leave HTTP/1.1\r\nHost: t\r\n\r\n")) !== null) return false; // B answered
      const closed = a.closed();
      c.socket.resetAndDestroy();
      await until(() => a.closed() > closed, 5000, "A's connection to be closed by the gateway");
      return true;
    },
  },
];

for (const { name, fail } of lrtFailures) {
  test(`least-response-time: a request on a server that ends in ${name} is no latency sample; a busy, unmeasured server loses to an idle, measured one`, async () => {
    const a = await loggingServer((line) => (line.startsWith("GET /bad ") ? "garbage\r\n\r\n" : null));
    const b = await loggingServer(() => okResponse("B"));
    const gw = await startGateway(simpleConfig([{ name: "A", port: a.port }, { name: "B", port: b.port }], "    balance: least-response-time"));
    const clients: Client[] = [];
    const fresh = () => {
      const c = rawClient(gw.port()); // a new connection: a new exchange, no latency of an earlier response
      clients.push(c);
      return c;
    };
    try {
      // Until A failed a request and B answered one (both unmeasured at first: the picks are random).
      let aFailed = false;
      for (let i = 0; !(aFailed && b.seen.length > 0); i++) {
        assert.ok(i < 60, `60 requests without both A failing and B answering: A ${a.seen.length}, B ${b.seen.length}`);
        if (await fail(fresh(), a)) aFailed = true;
      }
      // A busy: a request it holds.
      for (let i = 0; !a.seen.some((l) => l.includes("GET /hold ")); i++) {
        assert.ok(i < 60, "60 requests and none held by A");
        const answer = await heldOrAnswer(fresh(), a, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
        if (answer !== null) assert.ok(answer.endsWith("\r\n\r\nB"), answer);
      }
      const probe = await fresh().request("GET /probe HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.ok(probe.endsWith("\r\n\r\nB"), `the pick went to the idle, measured B: ${JSON.stringify(probe)}`);
      assert.ok(!a.seen.some((l) => l.includes("GET /probe ")));
    } finally {
      for (const c of clients) c.close();
      await gw.close();
      await a.close();
      await b.close();
    }
  });
}

test("a request body sent in pieces while its request waits in the maxConn queue reaches the server once the request goes out, whole and in order after the head", async () => {
  const server = await loggingServer((line) => (line.startsWith("GET /busy ") ? null : okResponse("ok")));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    maxConn: 1\n    queueTimeout: 1h"));
  const queue = gw.gw.backends.get("b")!.queue;
  const busy = rawClient(gw.port());
  const up = rawClient(gw.port());
  try {
    busy.socket.write("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => server.seen.length === 1, 5000, "the busy request to reach the server");
    up.socket.write("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\n");
    await until(() => queue.length === 1, 5000, "the POST to queue");
    for (const piece of ["abcd", "efgh", "ijkl"]) {
      up.socket.write(piece);
      await new Promise<void>((r) => setImmediate(r));
    }
    server.sockets[0]!.write(okResponse("busy"));
    assert.ok((await busy.request("")).endsWith("\r\n\r\nbusy"));
    assert.ok((await up.request("")).endsWith("\r\n\r\nok"));
    assert.deepEqual(server.seen, ["0: GET /busy HTTP/1.1, ", "0: POST /up HTTP/1.1, abcdefghijkl"]);
  } finally {
    busy.close();
    up.close();
    await gw.close();
    await server.close();
  }
});

test("an HTTP/2 request whose server answers before the body is through: the client gets the answer, the stream closes without an error, and the session serves its next request", async () => {
  const server = await loggingServer((line) => okResponse(line.startsWith("POST ") ? "early" : "next"));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "", "    protocols: [http1, h2c]"));
  const h2 = http2Connect(`http://127.0.0.1:${gw.port()}`);
  h2.on("error", () => {});
  try {
    // No content-length: the body goes to the server chunked, and its end (the last chunk) would follow.
    const post = h2.request({ ":method": "POST", ":path": "/early" });
    post.on("error", () => {});
    post.setEncoding("latin1");
    let body = "";
    post.on("data", (d: string) => (body += d));
    const [headers] = (await once(post, "response")) as [Record<string, string | number>];
    post.write("part of the body");
    await once(post, "close");
    assert.equal(headers[":status"], 200);
    assert.equal(body, "early");
    assert.equal(post.rstCode, http2Constants.NGHTTP2_NO_ERROR);
    const next = h2.request({ ":path": "/next" }, { endStream: true });
    next.setEncoding("latin1");
    let nextBody = "";
    next.on("data", (d: string) => (nextBody += d));
    await once(next, "end");
    assert.equal(nextBody, "next");
  } finally {
    h2.destroy();
    await gw.close();
    await server.close();
  }
});
