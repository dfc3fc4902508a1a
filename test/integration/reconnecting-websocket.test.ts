import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ReconnectingWebSocket } from "../../src/client/reconnecting-websocket.ts";
import { nextEvent, waitFor, wsServer } from "../support/client.ts";

// Node's global WebSocket (undici) against a real `ws` server on loopback.
const fast = { backoff: { min: 20, max: 100 }, minUptime: 200 };

test("ReconnectingWebSocket: behaves like a WebSocket when nothing goes wrong", async () => {
  const srv = await wsServer(undefined, { protocols: ["chat.v2"] });
  const ws = new ReconnectingWebSocket(srv.url, ["chat.v1", "chat.v2"], fast);
  try {
    assert.equal(ws.readyState, ReconnectingWebSocket.CONNECTING);
    assert.equal(ws.url, srv.url);
    const got: string[] = [];
    let onopen = 0;
    ws.onopen = () => onopen++;
    ws.onmessage = (e) => got.push(String(e.data));
    ws.send("queued-before-open");
    await nextEvent(ws, "open");
    assert.equal(ws.readyState, ws.OPEN);
    assert.equal(ws.protocol, "chat.v2");
    assert.equal(onopen, 1);
    ws.send("after-open");
    await waitFor("both echoes", () => got.length === 2);
    assert.deepEqual(got, ["queued-before-open", "after-open"]);
    ws.binaryType = "arraybuffer";
    ws.send(new Uint8Array([1, 2, 3]));
    const bin = await nextEvent<MessageEvent>(ws, "message");
    assert.ok(bin.data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(bin.data)], [1, 2, 3]);
    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.close(1000, "bye");
    assert.equal(ws.readyState, ws.CLOSING);
    const e = await closed;
    assert.equal(e.code, 1000);
    assert.equal(e.wasClean, true);
    assert.equal(ws.readyState, ws.CLOSED);
    assert.throws(() => ws.send("late"), /after close\(\)/);
    await sleep(150);
    assert.equal(srv.sockets.length, 1, "no reconnect after close()");
  } finally {
    ws.close();
    await srv.close();
  }
});

test("ReconnectingWebSocket: a dead server — close event per drop, reconnect with backoff, queued sends delivered in order", async () => {
  const srv = await wsServer();
  const ws = new ReconnectingWebSocket(srv.url, undefined, fast);
  try {
    await nextEvent(ws, "open");
    const closed = nextEvent<CloseEvent>(ws, "close");
    await srv.kill();
    const e = await closed;
    assert.equal(e.code, 1006);
    assert.equal(ws.readyState, ws.CONNECTING);
    ws.send("a");
    ws.send("b");
    await sleep(300); // several failed attempts against a closed port
    assert.ok(ws.retryCount >= 2, `retryCount ${ws.retryCount}`);
    const got: string[] = [];
    ws.addEventListener("message", (m) => got.push(String((m as MessageEvent).data)));
    const reopened = nextEvent(ws, "open", 3000);
    await srv.revive();
    await reopened;
    ws.send("c");
    await waitFor("a, b, c echoed", () => got.length === 3);
    assert.deepEqual(got, ["a", "b", "c"]);
  } finally {
    ws.close();
    await srv.close();
  }
});

test("ReconnectingWebSocket: 1012 with retry-after waits the hint (plus jitter), not the backoff", async () => {
  let n = 0;
  const srv = await wsServer((s) => {
    if (n++ === 0) setTimeout(() => s.close(1012, "retry-after=400"), 50);
  });
  const ws = new ReconnectingWebSocket(srv.url, undefined, { ...fast, backoff: { min: 10, max: 10 } });
  try {
    await nextEvent(ws, "open");
    const e = await nextEvent<CloseEvent>(ws, "close");
    const t0 = performance.now();
    assert.equal(e.code, 1012);
    assert.equal(e.reason, "retry-after=400");
    await nextEvent(ws, "open", 3000);
    const waited = performance.now() - t0;
    assert.ok(waited >= 395, `reconnected after ${waited.toFixed(0)} ms, before the 400 ms hint`);
    assert.ok(waited < 400 * 2 + 500, `reconnected after ${waited.toFixed(0)} ms, far beyond hint + jitter`);
  } finally {
    ws.close();
    await srv.close();
  }
});

test("ReconnectingWebSocket: a terminal code (4500-4999) stops and says why", async () => {
  const srv = await wsServer((s) => s.close(4501, "forbidden origin"));
  const ws = new ReconnectingWebSocket(srv.url, undefined, fast);
  const e = await nextEvent<CloseEvent>(ws, "close");
  assert.equal(e.code, 4501);
  assert.equal(e.reason, "forbidden origin");
  assert.equal(ws.readyState, ws.CLOSED);
  await sleep(200);
  assert.equal(srv.sockets.length, 1, "no reconnect after a terminal code");
  assert.throws(() => ws.send("x"), /closed/);
  await srv.close();
});

test("ReconnectingWebSocket: the heartbeat watchdog reconnects a silent connection, and an idle ping keeps a live one", async () => {
  // The first connection goes silent (a black-holed node); the next ones answer pings.
  let n = 0;
  const pings: number[] = [];
  const srv = await wsServer((s) => {
    const i = n++;
    s.on("message", (m) => {
      if (String(m) !== "ping") return;
      pings.push(i);
      if (i > 0) s.send("pong");
    });
  });
  const ws = new ReconnectingWebSocket(srv.url, undefined, { ...fast, heartbeat: { timeout: 300, interval: 100, message: "ping" } });
  try {
    await nextEvent(ws, "open");
    const e = await nextEvent<CloseEvent>(ws, "close", 2000);
    assert.equal(e.code, 1006);
    assert.match(e.reason, /^heartbeat timeout: nothing received for \d+ ms$/);
    await nextEvent(ws, "open", 2000);
    // The second connection answers: it stays up well past the timeout.
    let dropped = false;
    ws.addEventListener("close", () => (dropped = true));
    await sleep(900);
    assert.equal(dropped, false, "a connection answering pings was dropped");
    assert.ok(pings.filter((i) => i === 1).length >= 4, `pings on the live connection: ${pings.join(",")}`);
    assert.equal(srv.sockets.length, 2);
  } finally {
    ws.close();
    await srv.close();
  }
});

test("ReconnectingWebSocket: a handshake that never completes hits the connect timeout and is retried", async () => {
  const held: Socket[] = [];
  const tcp = createServer((s) => held.push(s)); // accepts, never answers the upgrade
  tcp.listen(0, "127.0.0.1");
  await once(tcp, "listening");
  const port = (tcp.address() as AddressInfo).port;
  const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, undefined, { ...fast, connectTimeout: 150 });
  try {
    const e = await nextEvent<CloseEvent>(ws, "close", 2000);
    assert.equal(e.code, 1006);
    assert.equal(e.reason, "connect timeout: not open within 150 ms");
    await waitFor("a second attempt", () => held.length >= 2, 2000);
  } finally {
    ws.close();
    for (const s of held) s.destroy();
    tcp.close();
  }
});

test("ReconnectingWebSocket: a url function is called before every attempt; a throwing one counts as a failed attempt", async () => {
  const srv = await wsServer((s) => setTimeout(() => s.close(1013, "retry-after=10"), 20));
  let calls = 0;
  const ws = new ReconnectingWebSocket(async () => {
    calls++;
    if (calls === 2) throw new Error("token service down");
    return `${srv.url}?attempt=${calls}`;
  }, undefined, fast);
  try {
    await waitFor("3 connections", () => srv.requests.length >= 3, 3000);
    assert.deepEqual(srv.requests.slice(0, 3).map((r) => r.url), ["/?attempt=1", "/?attempt=3", "/?attempt=4"]);
    assert.match(ws.url, /\?attempt=\d+$/);
  } finally {
    ws.close();
    await srv.close();
  }
});

test("ReconnectingWebSocket: close() while waiting to reconnect ends it with one close event", async () => {
  const srv = await wsServer((s) => s.close(1012, "retry-after=5000"));
  const ws = new ReconnectingWebSocket(srv.url, undefined, fast);
  await nextEvent(ws, "close");
  assert.equal(ws.readyState, ws.CONNECTING);
  const closes: number[] = [];
  ws.onclose = (e) => closes.push(e.code);
  ws.close(4321, "done");
  assert.equal(ws.readyState, ws.CLOSED);
  await sleep(50);
  assert.deepEqual(closes, [4321]);
  assert.equal(srv.sockets.length, 1);
  await srv.close();
});

test("ReconnectingWebSocket: bad options and a bad URL are clear errors", async () => {
  assert.throws(() => new ReconnectingWebSocket("ws://127.0.0.1:1/", undefined, { backoff: { min: -5 } }), /backoff\.min/);
  assert.throws(() => new ReconnectingWebSocket("ws://127.0.0.1:1/", undefined, { heartbeat: { timeout: 0 } }), /heartbeat\.timeout/);
  assert.throws(() => new ReconnectingWebSocket("ws://127.0.0.1:1/", undefined, { connectTimeout: 0 }), /connectTimeout/);
  const ws = new ReconnectingWebSocket("http-nope://x", undefined, fast);
  const e = await nextEvent<CloseEvent>(ws, "close");
  assert.equal(e.code, 1006);
  assert.match(e.reason, /^cannot open http-nope:\/\/x: ./, "the close names the URL and why it cannot be opened");
  assert.equal(ws.readyState, ws.CLOSED);
});
