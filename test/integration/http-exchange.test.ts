// The exchange's own decisions on real sockets, byte-exact on both sides: how a graceful
// stop ends what is in flight (event streams at rest, inside an event, framed by close,
// a plain chunked response), how an idle event stream ends or is cut and its heartbeats,
// the maxConn queue (its timeout, a queued request served when a server frees up, a
// queued HTTP/2 stream reset by its client), the response head's size limit and malformed heads, bytes
// past a response, an upload held back by its server, a server that times out (on a
// fresh or a kept-alive connection), closes or resets before answering or closes in the
// middle of a body, malformed chunks, 5xx and passive health, the server's latency,
// PROXY-protocol connections never pooled, and a tunnel out of the exchange's timer; a
// blind tunnel after a 101 and its accounting.
// Written for mutants of src/gateway/http/exchange.ts and exchange-dispatch.ts that no
// other test told apart (issue 15).
import assert from "node:assert/strict";
import { once } from "node:events";
import { constants as http2Constants, connect as http2Connect } from "node:http2";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { METHOD_NAMES } from "../../src/codec/http1/head.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events, on } from "../../src/gateway/diagnostics.ts";
import { httpBackend, okResponse, rawHttpBackend, tcpBackend, wsBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";
import { until } from "../support/wait.ts";

const SSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
const HEARTBEAT_CHUNK = "2\r\n:\n\r\n";
const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;

/** A server that answers each connection's first bytes with `first`; `sockets` lets the test write more. */
async function scriptedServer(first: string) {
  const sockets: Socket[] = [];
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", () => {
      sockets.push(s);
      s.write(first);
    });
  });
  return { ...server, sockets };
}

/** Resolves once `port` refuses connections (the listener closed: a graceful stop has reached its sessions). */
async function refusing(port: number): Promise<void> {
  const refused = () => new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => (s.destroy(), resolve(false)));
    s.on("error", () => resolve(true));
  });
  const t0 = performance.now();
  while (!(await refused())) {
    if (performance.now() - t0 > 5000) throw new Error("the listener still accepts 5 s after the stop began");
    await sleep(10);
  }
}

/** Everything the client receives until the gateway closes its connection. */
function collect(c: ReturnType<typeof rawClient>, ms = 10_000): Promise<string> {
  let text = "";
  c.socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
  return new Promise((resolve, reject) => {
    // A bound that rules out a hang (a connection never closed), not a slow machine.
    const t = setTimeout(() => reject(new Error(`the connection was not closed within ${ms} ms; received ${JSON.stringify(text)}`)), ms);
    c.socket.on("close", () => (clearTimeout(t), resolve(text)));
  });
}

// With the Connection: close the gateway writes in such a head itself.
const CLOSE_SSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
const PLAIN_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";

/**
 * A graceful stop while a response is in flight: the server writes `reads` one by one
 * (each seen by the client before the next), the stop begins (the listener refuses new
 * connections: the session was told), then the server writes `after`. The client gets
 * `expected`, then its connection closes. The hard deadline (4 s) is far enough that a
 * stream's own end comes first; a cut at the deadline has no last chunk.
 */
const stops: { name: string; reads: string[]; after?: string; expected: string }[] = [
  {
    name: "an event stream resting between events ends at once: the last chunk, then the close",
    reads: [SSE_HEAD + chunk("data: a\n\n")],
    expected: SSE_HEAD + chunk("data: a\n\n") + "0\r\n\r\n",
  },
  {
    name: "an event stream that has sent only its head ends at once",
    reads: [SSE_HEAD],
    expected: SSE_HEAD + "0\r\n\r\n",
  },
  {
    name: "an event stream inside an event (read with its head) finishes the event, then ends",
    reads: [SSE_HEAD + chunk("data: a\n\ndata: b\n")],
    after: chunk("\n"),
    expected: SSE_HEAD + chunk("data: a\n\ndata: b\n") + chunk("\n") + "0\r\n\r\n",
  },
  {
    name: "an event stream inside an event that began in a read after the head finishes it, then ends",
    reads: [SSE_HEAD, chunk("data: b\n")],
    after: chunk("\n"),
    expected: SSE_HEAD + chunk("data: b\n") + chunk("\n") + "0\r\n\r\n",
  },
  {
    name: "an event stream framed by the server's close, resting between events, ends at once without a last chunk",
    reads: [CLOSE_SSE_HEAD + "data: a\n\n"],
    expected: CLOSE_SSE_HEAD + "data: a\n\n",
  },
  {
    name: "a chunked response that is no event stream finishes whole",
    reads: [PLAIN_HEAD + chunk("hello")],
    after: chunk(" world") + "0\r\n\r\n",
    expected: PLAIN_HEAD + chunk("hello") + chunk(" world") + "0\r\n\r\n",
  },
];

for (const { name, reads, after, expected } of stops) {
  test(`a graceful stop: ${name}`, async () => {
    const server = await scriptedServer(reads[0]!);
    const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
    try {
      const c = rawClient(gw.port());
      c.socket.write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
      let text = await c.readUntil((t) => t.endsWith(reads[0]!), 5000);
      for (const more of reads.slice(1)) {
        server.sockets[0]!.write(more);
        text += await c.readUntil((t) => t.endsWith(more), 5000);
      }
      const rest = collect(c);
      const stopped = gw.gw.shutdown(0, 4000);
      if (after !== undefined) {
        await refusing(gw.port());
        server.sockets[0]!.write(after);
      }
      assert.equal(text + (await rest), expected);
      await stopped;
    } finally {
      await gw.close();
      await server.close();
    }
  });
}

test("a request queued past queueTimeout gets 503 with Retry-After and the reason, and leaves the queue", async () => {
  const server = await scriptedServer("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"); // the body never comes
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    maxConn: 1\n    queueTimeout: 300ms"));
  const busy = rawClient(gw.port());
  try {
    busy.socket.write("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    await busy.readUntil((t) => t.endsWith("\r\n\r\n"), 5000);
    const c = rawClient(gw.port());
    const text = await c.request("GET /queued HTTP/1.1\r\nHost: t\r\n\r\n");
    c.close();
    assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(text, /\r\nRetry-After: 1\r\n/);
    assert.ok(text.endsWith("\r\n\r\n503 Service Unavailable: every server of backend b is at maxConn and none freed up within queueTimeout\n"), text);
    assert.equal(server.sockets.length, 1, "the queued request never reached the server");
    assert.equal(gw.gw.backends.get("b")!.queue.length, 0);
  } finally {
    busy.close();
    await gw.close();
    await server.close();
  }
});

test("requests queued behind a server at maxConn go, bodies and all, to the connection each end frees, in turn; a queued stream its client resets is out of the queue", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let conns = 0;
  const seen: string[] = []; // "connection: request line, body"
  const server = await tcpBackend((s) => {
    const conn = conns++;
    let buf = "";
    s.on("error", () => {});
    s.on("data", async (d: Buffer) => {
      buf += d.toString("latin1");
      const he = buf.indexOf("\r\n\r\n");
      const len = Number(/content-length: *(\d+)/i.exec(buf)?.[1] ?? 0);
      if (he < 0 || buf.length < he + 4 + len) return;
      const line = `${buf.split("\r\n")[0]}, ${JSON.stringify(buf.slice(he + 4))}`;
      buf = "";
      seen.push(`${conn}: ${line}`);
      if (line.startsWith("GET /busy ")) await released;
      s.write(okResponse(line));
    });
  });
  // h2c beside HTTP/1.1: a paused HTTP/1.1 client's close is not seen until it is read
  // again, a reset HTTP/2 stream is seen at once; and an HTTP/2 body is sent (in DATA
  // frames) while its request waits in the queue.
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    maxConn: 1\n    queueTimeout: 1h", "    protocols: [http1, h2c]"));
  const queue = gw.gw.backends.get("b")!.queue;
  const busy = rawClient(gw.port());
  const queued = rawClient(gw.port());
  const h2 = http2Connect(`http://127.0.0.1:${gw.port()}`);
  h2.on("error", () => {});
  try {
    busy.socket.write("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => seen.length === 1, 5000, "the busy request to reach the server");
    const leaver = h2.request({ ":path": "/leaver" }, { endStream: true });
    leaver.on("error", () => {});
    await until(() => queue.length === 1, 5000, "the HTTP/2 request to queue");
    leaver.close(http2Constants.NGHTTP2_CANCEL);
    await until(() => queue.length === 0, 5000, "the reset stream to leave the queue");
    const answer = queued.request("POST /queued HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    await until(() => queue.length === 1, 5000, "the POST to queue");
    const upload = h2.request({ ":method": "POST", ":path": "/h2-queued", "content-length": "5" });
    let uploaded = "";
    upload.setEncoding("latin1");
    upload.on("data", (d: string) => (uploaded += d));
    const uploadEnded = once(upload, "end");
    upload.write("hel");
    await until(() => queue.length === 2, 5000, "the HTTP/2 POST to queue");
    upload.end("lo");
    release();
    assert.ok((await busy.request("")).endsWith('\r\n\r\nGET /busy HTTP/1.1, ""'));
    assert.ok((await answer).endsWith('\r\n\r\nPOST /queued HTTP/1.1, "hello"'));
    await uploadEnded;
    assert.equal(uploaded, 'POST /h2-queued HTTP/1.1, "hello"');
    assert.deepEqual(seen, ['0: GET /busy HTTP/1.1, ""', '0: POST /queued HTTP/1.1, "hello"', '0: POST /h2-queued HTTP/1.1, "hello"'], "each queued request took the connection the one before freed");
  } finally {
    h2.destroy();
    busy.close();
    queued.close();
    await gw.close();
    await server.close();
  }
});

/** A response head of `size` bytes (CRLF CRLF included) for a body of `body` bytes. */
function headOf(size: number, body = 2): string {
  const start = `HTTP/1.1 200 OK\r\nContent-Length: ${body}\r\nX-Pad: `;
  return `${start}${"p".repeat(size - start.length - 4)}\r\n\r\n`;
}

/** The response head's 64 KiB limit: each case's server writes, 50 ms apart, and what the client gets. */
const OVERSIZED = /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*oversized response head\n$/;
const headLimits: { name: string; writes: string[]; close?: true; refused?: RegExp }[] = [
  { name: "a head of exactly 64 KiB is forwarded", writes: [headOf(65536) + "ok"] },
  { name: "a head one byte longer gets 502", writes: [headOf(65537) + "ok"], refused: OVERSIZED },
  {
    name: "a 60 KB head in two pieces, its second read carrying body bytes past 64 KiB, is forwarded",
    writes: [headOf(60_000, 8000).slice(0, 30_000), headOf(60_000, 8000).slice(30_000) + "ok".repeat(4000)],
  },
  { name: "a head past 64 KiB that has not ended gets 502 at once, not at timeouts.server", writes: [headOf(70_000).slice(0, 66_000)], refused: OVERSIZED },
  {
    // Not over the limit yet: the server's close is what ends it.
    name: "64 KiB of a head that has not ended, then the server's close, is a server that closed before answering",
    writes: [headOf(70_000).slice(0, 65536)],
    close: true,
    refused: /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*closed the connection before answering\n$/,
  },
];

for (const { name, writes, close, refused } of headLimits) {
  test(`response head limit: ${name}`, async () => {
    const server = await tcpBackend((s) => {
      s.on("error", () => {});
      s.once("data", async () => {
        for (const w of writes) {
          if (s.destroyed) return;
          s.write(w);
          await sleep(50);
        }
        if (close) s.end();
      });
    });
    const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    retries: 0\n    timeouts: { server: 1h }"));
    try {
      const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
      const body = writes.join("").split("\r\n\r\n")[1];
      if (refused !== undefined) assert.match(text, refused);
      else assert.ok(text.startsWith("HTTP/1.1 200 OK\r\n") && text.endsWith(`\r\n\r\n${body}`), text.slice(0, 40) + " ... " + text.slice(-40));
    } finally {
      await gw.close();
      await server.close();
    }
  });
}

test("the server's latency runs from the connect to its response head: at least its delay, at most what the client waited", async () => {
  const DELAY = 60;
  const server = await httpBackend("a", (_req, res) => void setTimeout(() => res.end("late"), DELAY));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  try {
    const t0 = performance.now();
    const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
    const clientMs = performance.now() - t0;
    assert.ok(text.endsWith("late"), text);
    const stats = gw.gw.backends.get("b")!.servers[0]!.stats;
    assert.equal(stats.latencyCount, 1);
    const ms = stats.latencySum * 1000;
    assert.ok(ms >= DELAY && ms <= clientMs, `latency ${ms} ms: the server took ${DELAY} ms, the client saw ${clientMs.toFixed(1)}`);
  } finally {
    await gw.close();
    await server.close();
  }
});

/** Bytes a server sends past its response, and where: each case's first answer, in writes 50 ms apart. */
const staleCases: { name: string; writes: string[]; forwarded: RegExp; reused?: true }[] = [
  {
    name: "none: the body's last piece ends its read",
    writes: ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "hello"],
    forwarded: /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello$/,
    reused: true,
  },
  {
    name: "with its body's last piece, in a read after the head",
    writes: ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "helloHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"],
    forwarded: /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello$/,
  },
  {
    name: "with the head of a response that has no body (204)",
    writes: ["HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"],
    forwarded: /^HTTP\/1\.1 204 No Content\r\n([^]*\r\n)?\r\n$/,
  },
];

for (const { name, writes, forwarded, reused } of staleCases) {
  test(`bytes past a response (${name}) are dropped, and that server connection is ${reused ? "" : "not "}reused`, async () => {
    let conns = 0;
    const seen: string[] = []; // "connection: request line" of each request
    const server = await tcpBackend((s) => {
      const conn = conns++;
      s.on("error", () => {});
      s.on("data", async (d: Buffer) => {
        seen.push(`${conn}: ${d.toString("latin1").split("\r\n")[0]}`);
        if (seen.length > 1) return void s.write(okResponse("fresh"));
        for (const w of writes) {
          s.write(w);
          await sleep(50); // each write a read of its own
        }
      });
    });
    const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
    const c = rawClient(gw.port());
    try {
      const first = await c.request("GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(first, forwarded);
      const next = await c.request("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(next, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nfresh$/, "the stale bytes were not taken for the next response");
      assert.deepEqual(seen, ["0: GET /first HTTP/1.1", `${reused ? 0 : 1}: GET /next HTTP/1.1`], "the server connection of the next request");
    } finally {
      c.close();
      await gw.close();
      await server.close();
    }
  });
}

test("an upload held back by a server that stops reading resumes when it reads again, and arrives whole", async () => {
  const TOTAL = 64 * 1024 * 1024;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let received = 0;
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", async (d: Buffer) => {
      received = d.length - (d.indexOf("\r\n\r\n") + 4);
      s.pause();
      await released;
      s.on("data", (more: Buffer) => {
        received += more.length;
        if (received === TOTAL) s.end(okResponse(String(received)));
      });
      s.resume();
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  const c = rawClient(gw.port());
  try {
    c.socket.write(`POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: ${TOTAL}\r\n\r\n`);
    const piece = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const pump = (): void => {
      while (sent < TOTAL) {
        sent += piece.length;
        if (!c.socket.write(piece)) return void c.socket.once("drain", pump);
      }
    };
    pump();
    // Wait until the client can hand no more to the gateway (every buffer on the way is full).
    for (let last = -1; last !== sent; ) {
      last = sent;
      await sleep(300);
    }
    assert.ok(sent < TOTAL / 2, `the gateway held the client back after socket buffers' worth, not the body: ${sent / 1024 / 1024} MiB of 64 taken`);
    release();
    const res = await c.readUntil((t) => t.endsWith(`\r\n\r\n${TOTAL}`), 20_000);
    assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

const PASSIVE = "    retries: 0\n    passive: { consecutiveFailures: 1, ejectTime: 1m, maxEjectedPercent: 100 }";

/** A server that fails a request before answering: what the client gets, and what the server is charged with. */
const failures: { name: string; onRequest: (s: Socket) => void; extra: string; answer: string; reason: string }[] = [
  {
    name: "does not answer within timeouts.server: 504 naming it",
    onRequest: () => {},
    extra: "\n    timeouts: { server: 300ms }",
    answer: "504 Gateway Timeout: server a did not answer in time\n",
    reason: "response timeout",
  },
  {
    name: "closes the connection before answering: 502 naming it",
    onRequest: (s) => s.end(),
    extra: "",
    answer: "502 Bad Gateway: server a closed the connection before answering\n",
    reason: "closed before answering",
  },
  {
    name: "resets the connection before answering: 502 naming it",
    onRequest: (s) => s.resetAndDestroy(),
    extra: "",
    answer: "502 Bad Gateway: server a closed the connection before answering\n",
    reason: "closed before answering",
  },
];

for (const { name, onRequest, extra, answer, reason } of failures) {
  test(`a server that ${name}, a passive failure with the reason, nothing left active`, async () => {
    const reasons: string[] = [];
    const off = on(events.serverEjected, (m) => reasons.push(m.reason));
    const server = await tcpBackend((s) => {
      s.on("error", () => {});
      s.once("data", () => onRequest(s));
    });
    const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], PASSIVE + extra));
    try {
      const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
      assert.ok(text.startsWith(`HTTP/1.1 ${answer.slice(0, answer.indexOf(":"))}\r\n`), text);
      assert.ok(text.endsWith(`\r\n\r\n${answer}`), text);
      const s = gw.gw.backends.get("b")!.servers[0]!;
      assert.deepEqual({ ejections: s.stats.ejections, active: s.active }, { ejections: 1, active: 0 });
      assert.deepEqual(reasons, [reason]);
    } finally {
      off();
      await gw.close();
      await server.close();
    }
  });
}

test("a malformed chunk in a request body after the response began: the client's connection is cut after what it got, no 400 behind it", async () => {
  const HEAD = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  let ended = false; // the gateway closed the server's connection
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.on("end", () => (ended = true));
    s.once("data", () => s.write(HEAD + "hello")); // half its body, before the request's
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  const c = rawClient(gw.port());
  try {
    c.socket.write("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    const got = await c.readUntil((t) => t.endsWith("hello"), 5000);
    const rest = collect(c);
    c.socket.write("zz\r\n");
    // A response before the whole request body ends the client's connection: its head says so.
    assert.equal(got + (await rest), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello");
    await until(() => ended, 5000, "the gateway to close the server's connection");
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

test("a malformed chunk: with the head, 502 and nothing forwarded; in a later read, the client's connection is cut after what was valid", async () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", async (d: Buffer) => {
      if (d.includes("/with-head")) return void s.write(head + "zz\r\nbad\r\n");
      s.write(head + chunk("good"));
      await sleep(50);
      s.write("zz\r\nbad\r\n");
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    retries: 0"));
  try {
    const first = await rawExchange(gw.port(), "GET /with-head HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.match(first.text, /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*: server a sent a malformed chunked body\n$/);
    const later = await rawExchange(gw.port(), "GET /later HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.equal(later.closed, true, "cut: the client must not take the body for complete");
    assert.ok(later.text.endsWith(`\r\n\r\n${chunk("good")}`), later.text);
  } finally {
    await gw.close();
    await server.close();
  }
});

test("an event stream idle past timeouts.tunnel inside an event is cut: no last chunk", async () => {
  const server = await scriptedServer(SSE_HEAD + chunk("data: a\n\ndata: b\n"));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    timeouts: { tunnel: 300ms }"));
  try {
    const t0 = performance.now();
    const { text, closed } = await rawExchange(gw.port(), "GET /events HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    const took = performance.now() - t0;
    assert.equal(closed, true);
    assert.ok(took >= 250, `cut after ${Math.round(took)} ms: not before timeouts.tunnel (300 ms)`);
    assert.equal(text.slice(text.indexOf("\r\n\r\n") + 4), chunk("data: a\n\ndata: b\n"));
  } finally {
    await gw.close();
    await server.close();
  }
});

test("a server behind proxyProtocol gets a connection of its own per request: closed after the response, never pooled", async () => {
  const firstBytes: string[] = [];
  const ended: boolean[] = []; // the gateway closed its side
  const server = await tcpBackend((s) => {
    const i = ended.push(false) - 1;
    s.on("error", () => {});
    s.on("end", () => (ended[i] = true));
    s.once("data", (d: Buffer) => {
      firstBytes.push(d.toString("latin1").slice(0, 10));
      s.write(okResponse(`conn ${i}`));
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    proxyProtocol: v1"));
  const c = rawClient(gw.port());
  try {
    assert.ok((await c.request("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n")).endsWith("conn 0"));
    await until(() => ended[0] === true, 5000, "the gateway to close the first server connection");
    assert.ok((await c.request("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n")).endsWith("conn 1"));
    assert.deepEqual(firstBytes, ["PROXY TCP4", "PROXY TCP4"]);
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

test("an event stream framed by Content-Length is an ordinary response: silence past timeouts.server cuts it", async () => {
  const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 18\r\n\r\n";
  const server = await scriptedServer(head + "data: a\n\n");
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    timeouts: { server: 300ms, tunnel: 1h }"));
  try {
    const pending = rawExchange(gw.port(), "GET /events HTTP/1.1\r\nHost: t\r\n\r\n", 6000);
    // The rest, ten times timeouts.server later: an event stream (under timeouts.tunnel) would still take it.
    setTimeout(() => server.sockets[0]?.writable && server.sockets[0].write("data: b\n\n"), 3000);
    const { text, closed } = await pending;
    assert.equal(closed, true, "cut at timeouts.server");
    assert.ok(text.endsWith("\r\n\r\ndata: a\n\n"), text);
  } finally {
    await gw.close();
    await server.close();
  }
});

test("an event stream idle past timeouts.tunnel at rest ends with the last chunk, and both connections close", async () => {
  const server = await scriptedServer(SSE_HEAD + chunk("data: a\n\n"));
  let serverSideEnded = false;
  server.server.on("connection", (s) => s.on("end", () => (serverSideEnded = true)));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    timeouts: { tunnel: 300ms }"));
  try {
    const { text, closed } = await rawExchange(gw.port(), "GET /events HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.equal(closed, true, "the client's connection closes");
    assert.equal(text.slice(text.indexOf("\r\n\r\n") + 4), chunk("data: a\n\n") + "0\r\n\r\n");
    await until(() => serverSideEnded, 5000, "the gateway to close the server's connection (not pool it)");
  } finally {
    await gw.close();
    await server.close();
  }
});

test("a server that closes in the middle of a Content-Length body: the client's connection is cut after what arrived", async () => {
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", () => s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"));
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  try {
    const { text, closed } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.equal(closed, true, "not left waiting for the rest");
    assert.ok(text.endsWith("\r\n\r\nhalf"), text);
  } finally {
    await gw.close();
    await server.close();
  }
});

test("an upgraded connection outlives timeouts.server: the exchange's timer is off once the 101 is through", async () => {
  const be = await wsBackend("ws");
  const gw = await startGateway(simpleConfig([{ name: "a", port: be.port }], "    timeouts: { server: 200ms }"));
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port()}/ws`);
  try {
    const messages: string[] = [];
    ws.on("message", (d) => messages.push(String(d)));
    await once(ws, "open");
    await until(() => messages.length === 1, 5000, "the greeting");
    await sleep(600); // three times timeouts.server
    ws.send("still here");
    await until(() => messages.length === 2, 5000, "the echo");
    assert.deepEqual(messages, ["ws", "still here"]);
  } finally {
    ws.terminate();
    await gw.close();
    await be.close();
  }
});

test("an upgrade that is no WebSocket becomes a blind tunnel: the bytes after the request and after the 101 go through, and its server, records (the time to the 101) and events account for it while open and once closed", async () => {
  const HEAD_101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: upgrade\r\n\r\n";
  const DELAY = 60; // before the 101: the record's durationMs is at least this
  let received = "";
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", () => setTimeout(() => s.write(HEAD_101 + "server-first"), DELAY));
    s.on("data", (d: Buffer) => (received += d.toString("latin1")));
    s.on("end", () => s.end());
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  const seen: string[] = [];
  let record: AccessRecord | null = null;
  // This gateway's events only: the channels are process-wide, and a tunnel of an
  // earlier test's gateway may still be closing.
  const offs = [
    gw.on(events.tunnelOpened, (m) => seen.push(`opened ${m.record?.status}`)),
    gw.on(events.tunnelClosed, (m) => (seen.push("closed"), (record = m.record === null ? null : { ...m.record }))),
    gw.on(events.exchangeFinished, () => seen.push("finished")),
  ];
  const c = rawClient(gw.port());
  try {
    // OPTIONS (as an h2c upgrade may be): not the method index 0 a tunnel starts with.
    const request = "OPTIONS /raw HTTP/1.1\r\nHost: t\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n";
    const t0 = performance.now();
    c.socket.write(request + "early");
    assert.equal(await c.readUntil((t) => t.endsWith("server-first"), 5000), HEAD_101 + "server-first");
    const clientMs = performance.now() - t0;
    await until(() => received.endsWith("early"), 5000, "the client's bytes after its request");
    assert.ok(received.startsWith("OPTIONS /raw HTTP/1.1\r\n") && received.endsWith("\r\n\r\nearly"), received);
    const a = gw.gw.backends.get("b")!.servers[0]!;
    const [t] = [...gw.gw.data.tunnels];
    assert.deepEqual([gw.gw.data.tunnels.size, t!.listener, t!.ws, a.active, a.stats.tunnelsOpened], [1, "web", null, 1, 1]);
    c.socket.write("more");
    await until(() => received.endsWith("more"), 5000, "the client's bytes through the tunnel");
    c.socket.end();
    await until(() => gw.gw.data.tunnels.size === 0, 5000, "the tunnel to close");
    // Counted on its server once closed: an OPTIONS answered 1xx, its latency, the bytes each way after the handshake.
    const options = METHOD_NAMES.indexOf("OPTIONS");
    assert.deepEqual([a.active, a.stats.responses[options * 6 + 1], a.stats.latencyCount, a.stats.bytesIn, a.stats.bytesOut], [0, 1, 1, "earlymore".length, "server-first".length]);
    assert.ok(a.stats.latencySum > 0);
    assert.deepEqual(seen, ["opened 101", "closed"]);
    assert.deepEqual([record!.path, record!.status, record!.server, record!.bytesIn, record!.bytesOut], ["/raw", 101, "a", "earlymore".length, "server-first".length]);
    assert.ok(record!.durationMs >= DELAY && record!.durationMs <= clientMs, `durationMs ${record!.durationMs}: the 101 came ${DELAY} ms late, the client waited ${clientMs.toFixed(1)}`);
  } finally {
    for (const off of offs) off();
    c.close();
    await gw.close();
    await server.close();
  }
});

test("a request body that comes after its head is forwarded whole, counted in the server's bytesIn, and the client's connection stays open for the next request", async () => {
  const bodies: string[] = [];
  let buf = ""; // the server's unanswered bytes
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const he = buf.indexOf("\r\n\r\n");
      const len = Number(/content-length: *(\d+)/i.exec(buf)?.[1] ?? 0);
      if (he < 0 || buf.length < he + 4 + len) return;
      bodies.push(buf.slice(he + 4));
      buf = "";
      s.write(okResponse(`got ${len}`));
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  const c = rawClient(gw.port());
  try {
    const head = "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n";
    c.socket.write(head + "hello");
    await until(() => buf.endsWith("\r\n\r\nhello"), 5000, "the server to get the head and the first half of the body");
    assert.ok((await c.request("world")).endsWith("\r\n\r\ngot 10"));
    const second = "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
    const next = await c.request(second);
    assert.doesNotMatch(next, /\r\nConnection: close\r\n/i);
    assert.ok(next.endsWith("\r\n\r\ngot 0"), next);
    assert.deepEqual(bodies, ["helloworld", ""]);
    const stats = gw.gw.backends.get("b")!.servers[0]!.stats;
    assert.equal(stats.bytesIn, Buffer.byteLength(head + "helloworld" + second));
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

test("a server that does not answer a kept-alive connection's second request: 504, the server's timeout, not the client's", async () => {
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      if (d.includes("GET /first ")) s.write(okResponse("first"));
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    timeouts: { server: 300ms }"));
  const c = rawClient(gw.port());
  try {
    assert.ok((await c.request("GET /first HTTP/1.1\r\nHost: t\r\n\r\n")).endsWith("first"));
    const second = await c.request("GET /second HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(second, /^HTTP\/1\.1 504 Gateway Timeout\r\n[^]*server a did not answer in time\n$/);
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

test("the heartbeats of an event stream count in the bytes the server's stats say went to the client", async () => {
  const server = await scriptedServer(SSE_HEAD + chunk("data: a\n\n"));
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    sse: { heartbeat: 100ms }"));
  const c = rawClient(gw.port());
  try {
    c.socket.write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    let text = await c.readUntil((t) => t.includes(HEARTBEAT_CHUNK), 5000);
    server.sockets[0]!.end("0\r\n\r\n");
    text += await c.readUntil((t) => t.endsWith("0\r\n\r\n"), 5000);
    assert.ok(text.startsWith(SSE_HEAD + chunk("data: a\n\n") + HEARTBEAT_CHUNK), text);
    const stats = gw.gw.backends.get("b")!.servers[0]!.stats;
    await until(() => stats.bytesOut > 0, 5000, "the exchange to be counted");
    assert.equal(stats.bytesOut, Buffer.byteLength(text));
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

/** How a 5xx counts for passive health: the backend's config, and whether one 5xx ejects its server. */
const fiveXX: { name: string; passive: string; ejected: string[] }[] = [
  { name: "without passive health it is only forwarded", passive: "", ejected: [] },
  { name: "with passive health but no on5xx it is no failure", passive: "\n    passive: { consecutiveFailures: 1, ejectTime: 1m, maxEjectedPercent: 100 }", ejected: [] },
  { name: "with on5xx it is a failure, its status the reason", passive: "\n    passive: { consecutiveFailures: 1, ejectTime: 1m, maxEjectedPercent: 100, on5xx: true }", ejected: ["status 503"] },
];

for (const { name, passive, ejected } of fiveXX) {
  test(`a 5xx response: ${name}`, async () => {
    const reasons: string[] = [];
    const off = on(events.serverEjected, (m) => reasons.push(m.reason));
    const server = await rawHttpBackend(() => "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy");
    const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], `    retries: 0${passive}`));
    try {
      const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
      assert.match(text, /^HTTP\/1\.1 503 Busy\r\n[^]*\r\n\r\nbusy$/);
      assert.deepEqual(reasons, ejected);
    } finally {
      off();
      await gw.close();
      await server.close();
    }
  });
}

test("a malformed response head gets 502 that says why: a bad status line, a bare LF, a 101 nobody asked for", async () => {
  const heads: Record<string, string> = {
    "/garbage": "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
    "/bare-lf": "HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok",
    "/switch": "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  };
  const server = await rawHttpBackend((r) => heads[r.url]!);
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    retries: 0"));
  try {
    const said: Record<string, string> = {};
    for (const path of Object.keys(heads)) {
      const { text } = await rawExchange(gw.port(), `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`, 5000);
      assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
      said[path] = text.slice(text.indexOf("\r\n\r\n") + 4);
    }
    assert.deepEqual(said, {
      "/garbage": "502 Bad Gateway: server a sent a malformed response\n",
      "/bare-lf": "502 Bad Gateway: server a sent a malformed response\n",
      "/switch": "502 Bad Gateway: the server switched protocols without being asked\n",
    });
  } finally {
    await gw.close();
    await server.close();
  }
});

test("an event stream framed by the server's close gets heartbeats as bare comment lines", async () => {
  const server = await scriptedServer(CLOSE_SSE_HEAD + "data: a\n\n");
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    sse: { heartbeat: 100ms }"));
  const c = rawClient(gw.port());
  try {
    c.socket.write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    const text = await c.readUntil((t) => t.endsWith(":\n"), 5000);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\ndata: a\n\n(:\n)+$/);
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});

test("an event stream framed by the server's close that the server ends: the client gets every byte and a closed connection, and the stream leaves the plane's registry", async () => {
  const server = await scriptedServer(CLOSE_SSE_HEAD + "data: a\n\n");
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  const c = rawClient(gw.port());
  try {
    const rest = collect(c);
    c.socket.write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => gw.gw.data.streams.size === 1, 5000, "the event stream to be registered");
    server.sockets[0]!.end("data: b\n\n");
    assert.equal(await rest, CLOSE_SSE_HEAD + "data: a\n\ndata: b\n\n");
    await until(() => gw.gw.data.streams.size === 0, 5000, "the ended stream to leave the registry");
  } finally {
    c.close();
    await gw.close();
    await server.close();
  }
});
