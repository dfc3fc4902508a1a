// Slow and greedy clients (issue 14 part 3) over real sockets: a client that never reads
// an endless response (http and tcp listeners) must not grow what the gateway buffers,
// and is cut by timeouts.server without its server being blamed; a slow body gets 408,
// not the server's failure; a flood of connections from one address is bounded by
// limits.maxConnectionsPerClient while other clients are served. slowhttptest's three
// modes run in slowhttptest.test.ts.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { closeServer, tcpBackend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { until } from "../support/wait.ts";
import { concurrentTests } from "../support/concurrent.ts";

// Three tests at a time: each owns its gateway, servers and clients, and most of each
// is waiting on a timeout or a drain (test/support/concurrent.ts).
const tests = concurrentTests(3);

const CHUNK = Buffer.alloc(64 * 1024, "x");
const MiB = 1024 * 1024;

/** Writes CHUNKs to `out` for as long as it takes them (backpressure: waits for drain); returns a counter. */
function endless(out: ServerResponse | Socket): { sent: number; stopped: boolean } {
  const state = { sent: 0, stopped: false };
  const pump = (): void => {
    while (!out.destroyed) {
      state.sent += CHUNK.length;
      if (!out.write(CHUNK)) return void out.once("drain", pump);
    }
  };
  out.once("close", () => (state.stopped = true));
  pump();
  return state;
}

/** An HTTP server whose every response is endless (or, for POST, waits for the whole body then answers). */
async function endlessServer() {
  const streams: { sent: number; stopped: boolean }[] = [];
  const server = createServer((req, res) => {
    if (req.method === "POST") {
      req.resume();
      req.on("end", () => res.end("got it"));
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    streams.push(endless(res));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, streams, close: () => closeServer(server) };
}

/** Waits until `value()` has not grown for `quietMs` (the path is full), returns it. */
async function plateau(value: () => number, quietMs = 500, maxMs = 10_000): Promise<number> {
  const t0 = performance.now();
  let last = value();
  for (;;) {
    await sleep(quietMs);
    const v = value();
    if (v === last) return v;
    if (performance.now() - t0 > maxMs) throw new Error(`still growing after ${maxMs} ms: ${v} bytes`);
    last = v;
  }
}

/**
 * Bytes the gateway holds in its own memory for its clients: writes to them the kernel
 * has not taken yet, and for tunnels what it read from the server and did not pass on.
 */
function gatewayBuffered(gw: TestGateway): number {
  let n = 0;
  for (const s of gw.gw.data.sessions) n += (s.socket as Socket).writableLength;
  for (const t of gw.gw.data.tunnels) n += t.client.writableLength + t.upstream.readableLength;
  return n;
}

/**
 * The server was not ejected and still serves. Under `passive: { consecutiveFailures: 1,
 * maxEjectedPercent: 100 }` one failure would eject it (with the default 50 % the only
 * server of a backend is never ejected, and this could not fail).
 */
async function assertNotBlamed(gw: TestGateway, who: string): Promise<void> {
  const server = gw.gw.data.backends.get("b")!.servers[0]!;
  assert.equal(server.stats.ejections, 0, `${who} does not eject the server`);
  const ok = await fetch(`http://127.0.0.1:${gw.port()}/`, { method: "POST", body: "x" });
  assert.equal(await ok.text(), "got it");
}

tests.test("a client that never reads an endless response: the server is held back, the gateway buffers under 1 MiB, the client is cut at timeouts.server and the server is not blamed", async (t) => {
  const be = await endlessServer();
  const gw = await startGateway(`
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]
backends:
  b:
    timeouts: { server: 2s }
    passive: { consecutiveFailures: 1, ejectTime: 1m, maxEjectedPercent: 100 }
    servers: [ { name: a, address: 127.0.0.1:${be.port} } ]
`);
  try {
    const c = connect(gw.port(), "127.0.0.1");
    c.on("error", () => {});
    c.write("GET /endless HTTP/1.1\r\nHost: t\r\n\r\n");
    c.pause(); // never read
    await until(() => be.streams.length === 1, 3000, "the server to start its response");
    // timeouts.server counts from the last byte the server sent, at or after this moment.
    const tStarted = performance.now();
    const stream = be.streams[0]!;
    const sent = await plateau(() => stream.sent);
    const held = gatewayBuffered(gw);
    t.diagnostic(`http: the server sent ${(sent / MiB).toFixed(1)} MiB, then stopped; the gateway holds ${held} bytes`);
    // What the server got out sits in kernel socket buffers (both loopback connections)
    // plus what the gateway holds; the gateway's part is bounded by a socket's write buffer.
    assert.ok(held < MiB, `the gateway buffers ${held} bytes for a client that reads nothing`);
    assert.ok(sent < 64 * MiB, `the server could send only ${(sent / MiB).toFixed(1)} MiB before backpressure stopped it`);
    // Still stalled, then cut when timeouts.server runs out with no progress.
    await until(() => c.destroyed || c.readableEnded || stream.stopped, 5000, "the gateway to cut the stalled exchange");
    const cutAfter = performance.now() - tStarted;
    // The wheel ticks every 100 ms: the cut comes at most a tick early.
    assert.ok(cutAfter >= 2000 - 100, `cut ${cutAfter.toFixed(0)} ms after the response began, before timeouts.server (2 s)`);
    await until(() => stream.stopped, 3000, "the server's connection to close");
    assert.equal(gw.gw.data.sessions.size, 0, "no session left");
    await assertNotBlamed(gw, "a slow reader");
    c.destroy();
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("a slow reader that does read gets the whole stream: backpressure holds, nothing is lost, and holds again when it stops reading", async () => {
  const be = await endlessServer();
  const gw = await startGateway(`
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]
backends:
  b: { servers: [ { name: a, address: 127.0.0.1:${be.port} } ] }
`);
  try {
    const c = connect(gw.port(), "127.0.0.1");
    c.write("GET /endless HTTP/1.1\r\nHost: t\r\n\r\n");
    c.pause();
    await until(() => be.streams.length === 1, 3000, "the server to start its response");
    await plateau(() => be.streams[0]!.sent);
    // Now read 32 MiB: the stream flows again, byte for byte.
    let got = 0;
    let bad = false;
    const reading = (d: Buffer) => {
      got += d.length;
      if (d.includes(0)) bad = true;
      if (got > 32 * MiB) c.pause();
    };
    c.on("data", reading);
    c.resume();
    await until(() => got > 32 * MiB, 20_000, "32 MiB to arrive once the client reads");
    assert.ok(!bad);
    assert.ok(be.streams[0]!.sent > 32 * MiB);
    // It stops reading again: the server is held back again (or this times out), and the
    // gateway's buffer stays bounded.
    await plateau(() => be.streams[0]!.sent);
    const held = gatewayBuffered(gw);
    assert.ok(held < MiB, `the gateway buffers ${held} bytes once the client stops reading again`);
    c.destroy();
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("a tcp listener: a client that never reads an endless stream holds the server back; the gateway buffers under 1 MiB", async (t) => {
  const streams: { sent: number; stopped: boolean }[] = [];
  const be = await tcpBackend((s) => {
    s.on("error", () => {}); // reset when the client goes
    streams.push(endless(s));
  });
  const gw = await startGateway(`
listeners: [ { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: b } ]
backends:
  b: { servers: [ { name: a, address: 127.0.0.1:${be.port} } ] }
`);
  try {
    const c = connect(gw.port("l4"), "127.0.0.1");
    c.on("error", () => {});
    c.pause();
    await until(() => streams.length === 1, 3000, "the server to start streaming");
    const sent = await plateau(() => streams[0]!.sent);
    assert.equal(gw.gw.data.tunnels.size, 1);
    const held = gatewayBuffered(gw);
    t.diagnostic(`tcp: the server sent ${(sent / MiB).toFixed(1)} MiB, then stopped; the gateway holds ${held} bytes`);
    assert.ok(held < MiB, `the gateway buffers ${held} bytes`);
    assert.ok(sent < 64 * MiB, `the server sent ${(sent / MiB).toFixed(1)} MiB before backpressure stopped it`);
    c.destroy();
    await until(() => streams[0]!.stopped, 3000, "the server's side to close with the client");
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("a slow request body: 408 HF_ERR_BODY_TIMEOUT at timeouts.server, not a 504, and the server is not ejected", async () => {
  const be = await endlessServer();
  const gw = await startGateway(`
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]
backends:
  b:
    timeouts: { server: 1s }
    passive: { consecutiveFailures: 1, ejectTime: 1m, maxEjectedPercent: 100 }
    servers: [ { name: a, address: 127.0.0.1:${be.port} } ]
`);
  try {
    const c = connect(gw.port(), "127.0.0.1");
    let text = "";
    c.on("data", (d: Buffer) => (text += d.toString("latin1")));
    c.on("error", () => {});
    const t0 = performance.now();
    c.write("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 8192\r\n\r\nab");
    // Ten bytes every 300 ms (R-U-Dead-Yet): the server reads them all as they come.
    const drip = setInterval(() => c.write("0123456789"), 300);
    try {
      await until(() => c.destroyed || /\r\n\r\n/.test(text), 5000, "an answer to the slow body");
    } finally {
      clearInterval(drip);
    }
    const answeredAfter = performance.now() - t0;
    assert.match(text, /^HTTP\/1\.1 408 [^]*request body did not arrive/);
    // Not before timeouts.server (1 s, armed once the request went to the server; the
    // wheel ticks every 100 ms), although bytes kept coming.
    assert.ok(answeredAfter >= 1000 - 100, `408 after ${answeredAfter.toFixed(0)} ms, before timeouts.server (1 s)`);
    assert.match(text, /\r\nConnection: close\r\n/);
    await assertNotBlamed(gw, "a slow body");
    c.destroy();
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("a connection flood from one address is bounded by maxConnectionsPerClient while another client is served", async () => {
  const be = await endlessServer();
  const gw = await startGateway(`
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    limits: { maxConnectionsPerClient: 100 }
    routes: [ { backend: b } ]
backends:
  b: { servers: [ { name: a, address: 127.0.0.1:${be.port} } ] }
`);
  const flood: Socket[] = [];
  try {
    const limits = gw.gw.data.listenerLimits("web")!;
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, limits.openFrom("127.0.0.2"))), 5);
    // 1,000 connections at once from 127.0.0.2, each idle (never sending a request).
    for (let i = 0; i < 1000; i++) {
      const s = connect({ port: gw.port(), host: "127.0.0.1", localAddress: "127.0.0.2" });
      s.on("error", () => {});
      flood.push(s);
    }
    // Meanwhile another client is served, request after request.
    let served = 0;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${gw.port()}/`, { method: "POST", body: "x" });
      if ((await res.text()) === "got it") served++;
    }
    await until(() => limits.refusedClient >= 900, 10_000, () => `900 refusals (${limits.refusedClient} so far)`);
    clearInterval(watch);
    assert.equal(served, 20);
    assert.ok(most <= 100, `at most 100 open from the flooding address (saw ${most})`);
    assert.equal(limits.openFrom("127.0.0.2"), 100);
    assert.equal(limits.refusedClient, 900);
  } finally {
    for (const s of flood) s.destroy();
    await gw.close();
    await be.close();
  }
});

tests.run("slow clients");
