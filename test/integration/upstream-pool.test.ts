// The upstream keep-alive pool and tunnel lifetimes as docs/config.md states them,
// counted at the servers: `keepAlive.maxIdle` (idle connections kept per server, 0 =
// close after each exchange), `keepAlive.idleTimeout` (an idle pooled connection is
// closed), `maxLifetime` (a tunnel older than it is closed: 1012 for a WebSocket, an
// ended TCP connection).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import { WebSocket } from "ws";
import { closeServer, tcpBackend, wsBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { until, within } from "../support/wait.ts";

/**
 * An HTTP server that counts connections (accepted, open now) and holds each request
 * until `release()`, or answers at once when not `holding`.
 */
async function countingServer() {
  const held: ServerResponse[] = [];
  const s = {
    accepted: 0,
    open: 0,
    holding: false,
    held,
    release() {
      for (const r of held.splice(0)) r.end("ok");
    },
    port: 0,
    close: () => closeServer(server),
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    if (s.holding) held.push(res);
    else res.end("ok");
  });
  server.on("connection", (sock: Socket) => {
    s.accepted++;
    s.open++;
    sock.once("close", () => s.open--);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  s.port = (server.address() as AddressInfo).port;
  return s;
}

/** `n` requests at once on `n` client connections, held by the server until all are in, then answered. */
async function concurrent(port: number, server: Awaited<ReturnType<typeof countingServer>>, n: number): Promise<void> {
  server.holding = true;
  const clients = Array.from({ length: n }, () => rawClient(port));
  const replies = clients.map((c, i) => c.request(`GET /c${i} HTTP/1.1\r\nHost: t\r\n\r\n`));
  await until(() => server.held.length === n, 5000, () => `${n} requests held at the server (${server.held.length})`);
  server.holding = false;
  server.release();
  for (const r of await Promise.all(replies)) assert.match(r, /^HTTP\/1\.1 200 /);
  for (const c of clients) c.close();
}

test("keepAlive.maxIdle: 2 — of 5 connections busy at once, 2 stay pooled and are reused, 3 are closed", async () => {
  const s = await countingServer();
  const gw = await startGateway(simpleConfig([{ name: "s", port: s.port }], "    keepAlive: { maxIdle: 2, idleTimeout: 60s }"));
  try {
    await concurrent(gw.port(), s, 5);
    assert.equal(s.accepted, 5);
    await until(() => s.open === 2, 5000, () => `the pool to keep 2 connections (open at the server: ${s.open})`);
    await concurrent(gw.port(), s, 5);
    assert.equal(s.accepted, 8, "the 2 pooled connections were reused, 3 new ones made");
    await until(() => s.open === 2, 5000, () => `the pool to keep 2 connections again (open: ${s.open})`);
  } finally {
    await gw.close();
    await s.close();
  }
});

test("keepAlive.maxIdle: 0 — every upstream connection is closed after its exchange", async () => {
  const s = await countingServer();
  const gw = await startGateway(simpleConfig([{ name: "s", port: s.port }], "    keepAlive: { maxIdle: 0 }"));
  try {
    const c = rawClient(gw.port());
    for (let i = 0; i < 3; i++) {
      assert.match(await c.request(`GET /${i} HTTP/1.1\r\nHost: t\r\n\r\n`), /^HTTP\/1\.1 200 /);
      await until(() => s.open === 0, 5000, () => `upstream connection ${i} to be closed (open: ${s.open})`);
    }
    c.close();
    assert.equal(s.accepted, 3, "one connection per request, though the client kept one");
  } finally {
    await gw.close();
    await s.close();
  }
});

test("keepAlive.idleTimeout: a pooled connection is reused while fresh and closed by the gateway once idle that long", async () => {
  const s = await countingServer(); // its own keep-alive timeout is 60 s: only the gateway closes
  const gw = await startGateway(simpleConfig([{ name: "s", port: s.port }], "    keepAlive: { idleTimeout: 300ms }"));
  try {
    const c = rawClient(gw.port());
    await c.request("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
    await c.request("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.equal(s.accepted, 1, "the second request reused the pooled connection");
    const t0 = performance.now();
    await until(() => s.open === 0, 5000, "the idle pooled connection to be closed");
    assert.ok(performance.now() - t0 >= 200, "not closed before idleTimeout (300 ms, on a 100 ms wheel)");
    assert.equal(gw.gw.backends.get("b")!.servers[0]!.stats.connectFailures, 0, "an idle connection's expiry is no connect failure");
    await c.request("GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.equal(s.accepted, 2, "a new connection after the idle one was closed");
    c.close();
  } finally {
    await gw.close();
    await s.close();
  }
});

test("maxLifetime: a WebSocket older than it gets 1012 with retry-after, a TCP tunnel is ended, not before 0.9 × maxLifetime", async () => {
  const LIFETIME = 1000;
  const ws = await wsBackend("w");
  const echo = await tcpBackend((sock) => sock.on("data", (d) => sock.write(d)));
  const gw = await startGateway(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: w } ] }
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  w:
    maxLifetime: ${LIFETIME}ms
    servers: [ { name: w1, address: "127.0.0.1:${ws.port}" } ]
  t:
    maxLifetime: ${LIFETIME}ms
    servers: [ { name: t1, address: "127.0.0.1:${echo.port}" } ]
`);
  try {
    const t0 = performance.now();
    const client = new WebSocket(`ws://127.0.0.1:${gw.port("web")}/`);
    const closed = once(client, "close");
    await once(client, "message"); // the backend's greeting: the tunnel is up
    const tcp = connect(gw.port("l4"), "127.0.0.1");
    tcp.write("ping");
    await once(tcp, "data");
    const tcpClosed = once(tcp, "close");
    // Checked once a second, the limit drawn in [0.9, 1.1) × maxLifetime.
    const [code, reason] = (await within(closed, LIFETIME * 1.1 + 5000, "the WebSocket to be closed for its age")) as [number, Buffer];
    const wsAge = performance.now() - t0;
    assert.equal(code, 1012);
    assert.match(String(reason), /^retry-after=\d+$/);
    assert.ok(wsAge >= LIFETIME * 0.9, `closed after ${wsAge.toFixed(0)} ms`);
    await within(tcpClosed, LIFETIME * 1.1 + 5000, "the TCP tunnel to be ended for its age");
    assert.ok(performance.now() - t0 >= LIFETIME * 0.9);
  } finally {
    await gw.close();
    await ws.close();
    await echo.close();
  }
});
