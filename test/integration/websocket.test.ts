import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { WebSocket } from "ws";
import { wsFrame } from "../../src/codec/ws/testing.kit.ts";
import { events } from "../../src/gateway/diagnostics.ts";
import { closeServer, httpBackend, wsBackend } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { until, within } from "../support/wait.ts";

/** A WebSocket upgrade request with a valid key, as a raw client sends it. */
const UPGRADE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

const wsEchoBackend = (name: string) =>
  wsBackend(name, { greeting: `hello from ${name}`, http: (_req, res) => (res.writeHead(426), res.end("websocket only")) });

function open(url: string): Promise<{ ws: WebSocket; first: string }> {
  return within(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("message", (d) => resolve({ ws, first: d.toString() }));
    ws.once("error", reject);
  }), 15_000, `a WebSocket to ${url} to open and get its greeting`);
}

describe("WebSocket through the gateway", () => {
  let be: Awaited<ReturnType<typeof wsEchoBackend>>;
  let gw: TestGateway;
  before(async () => {
    be = await wsEchoBackend("ws1");
    gw = await startGateway(simpleConfig([{ name: "ws1", port: be.port }]));
  });
  after(async () => {
    await gw.close();
    await be.close();
  });

  test("echo, text and binary, with a large message", async () => {
    const { ws, first } = await open(`ws://127.0.0.1:${gw.port()}/chat`);
    assert.equal(first, "hello from ws1");
    const big = Buffer.alloc(1024 * 1024, 3);
    for (const msg of ["hi", Buffer.from([1, 2, 3]), big]) {
      ws.send(msg);
      const [echo] = (await once(ws, "message")) as [Buffer];
      assert.deepEqual(Buffer.from(echo), Buffer.from(msg as Buffer));
    }
    ws.close();
    await once(ws, "close");
  });

  test("500 concurrent WebSockets through one gateway", async () => {
    const N = 500;
    const conns = await Promise.all(Array.from({ length: N }, () => open(`ws://127.0.0.1:${gw.port()}/many`)));
    assert.equal(gw.gw.tunnels.size, N);
    const echoes = await Promise.all(
      conns.map(({ ws }, i) => {
        ws.send(`m${i}`);
        return once(ws, "message").then(([d]) => String(d));
      }),
    );
    assert.deepEqual(echoes, Array.from({ length: N }, (_, i) => `m${i}`));
    assert.equal(gw.gw.backends.get("b")!.servers[0]!.active, N, "each tunnel counts as one active connection");
    await Promise.all(conns.map(({ ws }) => (ws.close(), once(ws, "close"))));
    for (let i = 0; i < 50 && gw.gw.tunnels.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(gw.gw.tunnels.size, 0);
    assert.equal(gw.gw.backends.get("b")!.servers[0]!.active, 0);
  });

  test("a frame sent in the same write as the upgrade request reaches the server after the 101: the client gets the 101, the greeting and that frame's echo, and nothing else", async () => {
    const FRAME = wsFrame({ opcode: 1, payload: Buffer.from("sent with the upgrade"), mask: true });
    const s = connect(gw.port(), "127.0.0.1");
    let got = Buffer.alloc(0);
    s.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    s.on("error", () => {});
    try {
      // One write: on loopback one segment, read with the request head, so the frame
      // waits in the session until the tunnel starts (the bytes `Tunnel.start` is given).
      s.write(Buffer.concat([Buffer.from(UPGRADE), FRAME]));
      await until(() => got.includes("sent with the upgrade"), 5000, () => `the frame's echo: ${JSON.stringify(got.toString("latin1"))}`);
      const head = got.indexOf("\r\n\r\n") + 4;
      assert.match(got.subarray(0, head).toString("latin1"), /^HTTP\/1\.1 101 /);
      const want = Buffer.concat([wsFrame({ opcode: 1, payload: Buffer.from("hello from ws1") }), wsFrame({ opcode: 1, payload: Buffer.from("sent with the upgrade") })]);
      assert.deepEqual(got.subarray(head), want);
    } finally {
      s.destroy();
    }
  });

  test("a backend that refuses the upgrade has its response passed through", async () => {
    // ws refuses version 12 with 400 and its own words; the gateway's own 400 would carry neither.
    const c = rawClient(gw.port());
    try {
      const text = await c.request(
        "GET /x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.match(text, /\r\nSec-WebSocket-Version: 13, 8\r\n/);
      assert.ok(text.endsWith("\r\n\r\nMissing or invalid Sec-WebSocket-Version header"), text);
    } finally {
      c.close();
    }
  });
});

test("a non-101 answer to an upgrade from a plain HTTP backend is passed through", async () => {
  const a = await httpBackend("a", (_req, res) => {
    res.writeHead(403, { "content-type": "text/plain" });
    res.end("no websockets here");
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }]));
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port()}/`);
    ws.on("error", () => {});
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, import("node:http").IncomingMessage];
    assert.equal(res.statusCode, 403);
    let body = "";
    for await (const c of res) body += c;
    assert.equal(body, "no websockets here");
    ws.terminate();
  } finally {
    await gw.close();
    await a.close();
  }
});

test("an idle tunnel is closed after timeouts.tunnel", async () => {
  // Messages every 100 ms for 1.5 s keep a tunnel with a 1 s idle limit open (a 10×
  // margin a loaded machine's timer lag does not eat, where 200 ms against 400 ms did);
  // then silence closes it, not before the limit.
  const be = await wsEchoBackend("ws1");
  const gw = await startGateway(simpleConfig([{ name: "ws1", port: be.port }], "    timeouts: { tunnel: 1s }"));
  try {
    const { ws } = await open(`ws://127.0.0.1:${gw.port()}/`);
    const active = Date.now();
    const closed = once(ws, "close");
    while (Date.now() - active < 1500) {
      await new Promise((r) => setTimeout(r, 100));
      ws.send("ping");
      const echoed = await Promise.race([once(ws, "message").then(() => true), closed.then(() => false)]);
      assert.ok(echoed, `closed while active, ${Date.now() - active} ms in`);
    }
    const t0 = Date.now();
    const [code] = (await closed) as [number];
    const took = Date.now() - t0;
    assert.ok(took >= 900, `closed after ${took} ms idle, before timeouts.tunnel`);
    assert.equal(code, 1006, "closed at the TCP level by the gateway");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("gateway pings: a live client answers and its pongs stay out of the server's stream; a dead one is closed pingInterval + pongTimeout after its tunnel opened (less one wheel tick)", async () => {
  const PING_INTERVAL = 150;
  const PONG_TIMEOUT = 300;
  const TICK = 100; // the data plane's TimerWheel resolution: its `now` lags by at most a tick
  const bs = await Promise.all(["s1"].map((n) => wsBackend(n)));
  const gw = await startGateway(simpleConfig(bs, `    websocket: { pingInterval: ${PING_INTERVAL}ms, pongTimeout: ${PONG_TIMEOUT}ms }`));
  // The dead tunnel's life on the gateway's own clock (its events are published in-process
  // as it opens and closes): a client's clock would add the delivery of its first message.
  const openedAt = new Map<object, number>();
  const lives: number[] = [];
  const offs = [
    gw.on(events.tunnelOpened, (m) => openedAt.set(m.tunnel, performance.now())),
    gw.on(events.tunnelClosed, (m) => lives.push(performance.now() - openedAt.get(m.tunnel)!)),
  ];
  try {
    const url = `ws://127.0.0.1:${gw.port()}/`;
    const live = new WebSocket(url);
    let pings = 0;
    live.on("ping", () => pings++);
    await within(once(live, "message"), 10_000, "the live client's greeting");
    const dead = new WebSocket(url, { autoPong: false });
    await within(once(dead, "message"), 10_000, "the dead client's greeting");
    // The upper bound rules out never, not a slow machine.
    const [code] = (await within(once(dead, "close"), 10_000, "the dead client to be closed")) as [number];
    assert.equal(code, 1006, "cut without a close frame: the peer is presumed gone");
    await until(() => lives.length === 1, 3000, "the dead tunnel's closed event");
    assert.equal(openedAt.size, 2, "two tunnels opened");
    assert.ok(lives[0]! >= PING_INTERVAL + PONG_TIMEOUT - TICK, `the dead tunnel lived ${lives[0]!.toFixed(0)} ms (pingInterval ${PING_INTERVAL} + pongTimeout ${PONG_TIMEOUT}, less a tick)`);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(pings >= 3, `live client got ${pings} pings`);
    assert.equal(live.readyState, WebSocket.OPEN, "the live client stays");
    assert.equal(bs[0]!.pongs, 0, "the gateway's pongs are not forwarded to the server");
    live.send("still here");
    const [echo] = (await within(once(live, "message"), 10_000, "the live client's echo")) as [Buffer];
    assert.equal(String(echo), "still here");
    live.close();
    await within(once(live, "close"), 10_000, "the live client's close");
  } finally {
    for (const off of offs) off();
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("garbage after a 101 from a misbehaving backend, in the 101's read or a later one: the tunnel falls back to blind mode, without pings, and is not closed for the pongs it no longer expects; each fallback logs one warning with the server and the codec's reason", async () => {
  const HEAD = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const GARBAGE = "\xff\xfe this is not a websocket frame\n";
  let joined = false;
  const server = createServer();
  server.on("upgrade", (_req, socket) => {
    // One write (one segment on loopback: the gateway reads the garbage with the 101), or
    // the garbage only once the client, having got the 101, sends its first bytes: then
    // it comes in a later read for certain.
    if (joined) socket.write(Buffer.from(HEAD + GARBAGE, "latin1"));
    else {
      socket.write(HEAD);
      socket.once("data", () => socket.write(Buffer.from(GARBAGE, "latin1")));
    }
    socket.on("data", (d) => socket.write(d)); // echo raw
    socket.on("end", () => socket.end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const lines: { level: number; msg: string; server?: string; reason?: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const warnings = () => lines.filter((l) => l.msg === "not WebSocket frames after 101: tunnel continues blind");
  const gw = await startGateway(simpleConfig([{ name: "bad", port }], "    websocket: { pingInterval: 100ms, pongTimeout: 200ms }"), log);
  try {
    for (const j of [false, true]) {
      joined = j;
      const s = connect(gw.port(), "127.0.0.1");
      let got = "";
      s.on("data", (d) => (got += d.toString("latin1")));
      s.write(UPGRADE);
      if (!j) {
        await until(() => got.startsWith("HTTP/1.1 101 "), 3000, "the 101 alone");
        s.write("go;");
      }
      await until(() => got.includes("not a websocket frame"), 3000, `the garbage (joined: ${j})`);
      // The garbage's first byte (0xff) is a frame with opcode 0xf; the warning is written
      // before the chunk is forwarded.
      assert.deepEqual(warnings().map((l) => [l.level, l.server, l.reason]), Array(j ? 2 : 1).fill([40, "bad", "reserved opcode"]), `joined: ${j}`);
      s.write("raw bytes both ways");
      await until(() => got.includes("raw bytes both ways"), 3000, `the echo (joined: ${j})`);
      // Past pingInterval + pongTimeout and two ticks of the wheel (100 ms): a ping still
      // scheduled would have been due, and its pong late.
      await new Promise((r) => setTimeout(r, 600));
      // (Before the garbage the stream looked like WebSocket: a ping there would be due.)
      const after = got.slice(got.indexOf(GARBAGE) + GARBAGE.length);
      assert.ok(!after.includes("\x89"), `no ping was injected into a stream that is not WebSocket (joined: ${j}): ${JSON.stringify(after)}`);
      assert.equal(gw.gw.tunnels.size, 1, `joined: ${j}`);
      s.write("still open");
      await until(() => got.includes("still open"), 3000, `the blind tunnel to echo after the wait (joined: ${j})`);
      s.destroy();
      await until(() => gw.gw.tunnels.size === 0, 3000, "the tunnel to close with its client");
    }
  } finally {
    await gw.close();
    await closeServer(server);
  }
});


test("101 and garbage in one write from a backend that then stays silent: the tunnel is blind as the garbage reaches its client, gets no ping, and still carries the client's bytes after a tunnel opened later was closed at its pong deadline", async () => {
  // Regression: the tracker was given the 101's own bytes before `Tunnel.start` started
  // it, broke without telling its tunnel, and, with a server that never spoke again, the
  // tunnel was closed at its first pong deadline though its client was alive.
  const HEAD = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const GARBAGE = "\xff\xfe this is not a websocket frame\n";
  const heard: string[] = []; // what each upgraded connection's server read; it never writes again
  const server = createServer();
  server.on("upgrade", (_req, socket) => {
    const i = heard.push("") - 1;
    // The first in one write (one segment on loopback: the gateway reads the garbage with
    // the 101); the second, the clock of this test, a 101 alone: a WebSocket that pings.
    socket.write(i === 0 ? Buffer.from(HEAD + GARBAGE, "latin1") : HEAD);
    socket.on("data", (d) => (heard[i] += d.toString("latin1")));
    socket.on("end", () => socket.end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const gw = await startGateway(simpleConfig([{ name: "bad", port }], "    websocket: { pingInterval: 100ms, pongTimeout: 200ms }"));
  const upgrade = () => {
    const s = connect(gw.port(), "127.0.0.1");
    const c = { s, got: "", closed: false };
    s.on("data", (d) => (c.got += d.toString("latin1")));
    s.on("close", () => (c.closed = true));
    s.on("error", () => {});
    s.write(UPGRADE);
    return c;
  };
  try {
    const garbled = upgrade();
    await until(() => garbled.got.includes(GARBAGE), 5000, "the 101 and the garbage");
    const [t] = gw.gw.tunnels;
    assert.equal(t!.ws, null, "blind mode before the server's next bytes (there are none)");
    // A client that never answers a ping, on a tunnel opened after the garbled one: its
    // ping and pong deadlines come after the garbled tunnel's would have.
    const dead = upgrade();
    await until(() => dead.closed, 10_000, "the client that does not answer pings to be closed");
    assert.ok(dead.got.includes("\x89"), `the later tunnel was pinged before its close: ${JSON.stringify(dead.got)}`);
    garbled.s.write("still here");
    await until(() => heard[0]!.includes("still here"), 5000, () => `the garbled tunnel to carry the client's bytes (client closed: ${garbled.closed})`);
    assert.equal(garbled.closed, false, "the garbled tunnel's client is still connected");
    assert.ok(gw.gw.tunnels.has(t!), "the garbled tunnel is still open");
    assert.ok(!garbled.got.includes("\x89"), `no ping in a stream that is not WebSocket: ${JSON.stringify(garbled.got)}`);
    garbled.s.destroy();
    await until(() => gw.gw.tunnels.size === 0, 5000, "the tunnel to close with its client");
  } finally {
    await gw.close();
    await closeServer(server);
  }
});
