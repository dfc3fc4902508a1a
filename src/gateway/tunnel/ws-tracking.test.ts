// WsTracking case by case (issue 15, mutation testing of the tunnel module): the ping
// and pong cycle on the wheel, the gateway's pong taken out of the client's stream, a
// ping or close held for the next frame boundary, a vanished server's close, and the
// fallback to blind mode. The seeded fuzz test beside it checks where injections land
// over random streams; these check what each step writes and arms.
import assert from "node:assert/strict";
import { test } from "node:test";
import { closeFrame } from "../../codec/ws/build.ts";
import type { HandledSocket } from "../sockets.ts";
import { TimerWheel } from "../timer-wheel.ts";
import type { Tunnel } from "./tunnel.ts";
import { WsTracking } from "./ws-tracking.ts";

/** A socket that records what is written to it; `write` returns `accepts`. */
class Recording {
  readonly writes: Buffer[] = [];
  accepts = true;
  write(b: Buffer): boolean {
    this.writes.push(Buffer.from(b));
    return this.accepts;
  }
  /** Everything written, as one list of bytes. */
  bytes(): number[] {
    return [...Buffer.concat(this.writes)];
  }
}

/**
 * A tracker started on a fake tunnel and wheel (now = 1000) that record what it does, or
 * on `realWheel` when given (the fake wheel is then unused).
 */
function setup(pings: { pingInterval: number; pongTimeout: number } | undefined, realWheel?: TimerWheel) {
  const client = new Recording();
  const upstream = new Recording();
  const wheel = {
    now: 1000,
    armed: [] as number[],
    disarmed: 0,
    arm(item: { deadline: number }, deadline: number) {
      item.deadline = deadline;
      this.armed.push(deadline);
    },
    disarm() {
      this.disarmed++;
    },
  };
  const tunnel = {
    client: client as unknown as HandledSocket,
    closes: 0,
    blind: [] as string[],
    close() {
      this.closes++;
    },
    fallBackToBlind(why: string) {
      this.blind.push(why);
    },
  };
  const ws = new WsTracking(pings);
  ws.start(tunnel as unknown as Tunnel, realWheel ?? (wheel as unknown as TimerWheel));
  const sock = client as unknown as HandledSocket;
  const up = upstream as unknown as HandledSocket;
  return { ws, client, upstream, wheel, tunnel, sock, up };
}

const PINGS = { pingInterval: 250, pongTimeout: 100 };
/** Server frames: a text frame "abc" and a binary frame of 4 bytes (unmasked). */
const TEXT = Buffer.from([0x81, 3, 0x61, 0x62, 0x63]);
const BIN = Buffer.from([0x82, 4, 1, 2, 3, 4]);
/** A client frame (masked with a zero key): text "hi". */
const FROM_CLIENT = Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]);

/** The client's pong to a ping frame (`89 08` + payload), masked with a zero key. */
function pongTo(ping: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x8a, 0x88, 0, 0, 0, 0]), ping.subarray(2)]);
}

test("WsTracking without pings: nothing armed, the client's bytes forwarded as they are, an expiry does nothing", () => {
  const { ws, client, upstream, wheel, tunnel, sock, up } = setup(undefined);
  assert.deepEqual(wheel.armed, []);
  assert.equal(ws.fromClient(FROM_CLIENT, up), true);
  ws.expire(5000);
  assert.deepEqual([client.writes.length, upstream.writes.length, tunnel.closes], [0, 0, 0]);
  assert.equal(ws.toClient(TEXT, sock), true);
  assert.deepEqual(client.bytes(), [...TEXT]);
});

test("WsTracking pings: armed at now + pingInterval; the expiry writes a ping (89 08 'hf' + 6 bytes) and arms now + pongTimeout", () => {
  const { ws, client, wheel } = setup(PINGS);
  assert.deepEqual(wheel.armed, [1250]);
  ws.expire(1250);
  assert.equal(client.writes.length, 1);
  const ping = client.writes[0]!;
  assert.deepEqual([ping.length, ping[0], ping[1], ping[2], ping[3]], [10, 0x89, 8, 0x68, 0x66]);
  assert.deepEqual(wheel.armed, [1250, 1350]);
});

test("WsTracking pings: the client's pong is taken out of its stream, the bytes around it forwarded, and the next ping armed at now + pingInterval", () => {
  const { ws, client, upstream, wheel, tunnel, up } = setup(PINGS);
  ws.expire(1250);
  const ping = client.writes[0]!;
  wheel.now = 1300;
  assert.equal(ws.fromClient(Buffer.concat([FROM_CLIENT, pongTo(ping), FROM_CLIENT]), up), false);
  assert.deepEqual(upstream.bytes(), [...FROM_CLIENT, ...FROM_CLIENT]);
  assert.deepEqual(wheel.armed, [1250, 1350, 1550]);
  // The next expiry is a ping again, not the pong's deadline.
  ws.expire(1550);
  assert.equal(tunnel.closes, 0);
  assert.deepEqual([client.writes.length, client.writes[1]![0]], [2, 0x89]);
  assert.notDeepEqual(client.writes[1], ping, "a new nonce for each ping");
});

test("WsTracking pings: a pong alone is dropped whole, nothing written; the bytes before it, or after it, in one write", () => {
  for (const [before, after] of [[0, 0], [1, 0], [0, 1]] as const) {
    const { ws, client, upstream, up } = setup(PINGS);
    ws.expire(1250);
    const parts = [before ? FROM_CLIENT : null, pongTo(client.writes[0]!), after ? FROM_CLIENT : null].filter((b) => b !== null);
    assert.equal(ws.fromClient(Buffer.concat(parts), up), false, `before ${before}, after ${after}`);
    assert.deepEqual(upstream.writes.map((b) => [...b]), before || after ? [[...FROM_CLIENT]] : [], `before ${before}, after ${after}`);
  }
});

test("WsTracking pings: a pong that comes after the close (its ping answered late) arms no further ping", () => {
  const { ws, client, upstream, wheel, sock, up } = setup(PINGS);
  ws.expire(1250);
  ws.close(1001, 0, sock);
  assert.deepEqual([wheel.armed, wheel.disarmed], [[1250, 1350], 1]);
  assert.equal(ws.fromClient(pongTo(client.writes[0]!), up), false);
  assert.deepEqual([wheel.armed, upstream.writes.length], [[1250, 1350], 0]);
});

test("WsTracking pings: a pong split across two chunks is still taken out; a pong with another payload is forwarded and the tunnel closed at the pong deadline", () => {
  {
    const { ws, client, upstream, wheel, up } = setup(PINGS);
    ws.expire(1250);
    const pong = pongTo(client.writes[0]!);
    assert.equal(ws.fromClient(pong.subarray(0, 5), up), false);
    assert.equal(ws.fromClient(pong.subarray(5), up), false);
    assert.deepEqual(upstream.bytes(), []);
    assert.deepEqual(wheel.armed, [1250, 1350, 1250]);
  }
  {
    const { ws, client, upstream, tunnel, up } = setup(PINGS);
    ws.expire(1250);
    const other = pongTo(client.writes[0]!);
    other[13] = other[13]! ^ 0xff;
    assert.equal(ws.fromClient(other, up), true);
    assert.deepEqual(upstream.bytes(), []);
    ws.expire(1350);
    assert.equal(tunnel.closes, 1);
    assert.equal(client.writes.length, 1, "no second ping");
  }
});

test("WsTracking pings: a held-back pong candidate that turns out not to be one is forwarded whole (replayed), with the bytes after it", () => {
  const { ws, client, upstream, up } = setup(PINGS);
  ws.expire(1250);
  const other = pongTo(client.writes[0]!);
  other[13] = other[13]! ^ 0xff;
  assert.equal(ws.fromClient(other.subarray(0, 10), up), false);
  assert.equal(ws.fromClient(Buffer.concat([other.subarray(10), FROM_CLIENT]), up), false);
  assert.deepEqual(upstream.bytes(), [...other, ...FROM_CLIENT]);
});

test("WsTracking: a ping asked for inside a frame waits for the last frame boundary of a later chunk; the pong deadline is armed at the ask", () => {
  const { ws, client, wheel, sock } = setup(PINGS);
  assert.equal(ws.toClient(TEXT.subarray(0, 3), sock), true);
  ws.expire(1250);
  assert.equal(client.writes.length, 1, "nothing but the frame's start yet");
  assert.deepEqual(wheel.armed, [1250, 1350]);
  // Still inside the frame.
  assert.equal(ws.toClient(TEXT.subarray(3, 4), sock), true);
  assert.equal(client.writes.length, 2);
  // The frame's end, a whole frame, and a frame's start: the ping goes between the last two.
  assert.equal(ws.toClient(Buffer.concat([TEXT.subarray(4), TEXT, BIN.subarray(0, 3)]), sock), true);
  const w = client.writes.map((b) => [...b]);
  assert.deepEqual([w.length, w[2], w[3]![0], w[4]], [5, [...TEXT.subarray(4), ...TEXT], 0x89, [...BIN.subarray(0, 3)]]);
});

test("WsTracking: a ping asked for at a frame boundary goes out at once; a close asked for inside a frame, right after the chunk that ends the frame, and nothing after it", () => {
  const { ws, client, sock } = setup(PINGS);
  ws.toClient(TEXT, sock);
  ws.expire(1250);
  assert.deepEqual(client.writes.map((b) => b[0]), [0x81, 0x89]);
  ws.toClient(BIN, sock);
  assert.deepEqual(client.writes.map((b) => b[0]), [0x81, 0x89, 0x82]);
  const c = setup(undefined);
  c.ws.toClient(TEXT.subarray(0, 2), c.sock);
  c.ws.close(1001, 0, c.sock);
  assert.equal(c.client.writes.length, 1);
  // The frame's last bytes end the chunk: the close follows them, the next chunk is dropped.
  assert.equal(c.ws.toClient(TEXT.subarray(2), c.sock), true);
  assert.equal(c.ws.toClient(BIN, c.sock), true);
  assert.deepEqual(c.client.writes.map((b) => [...b]), [[...TEXT.subarray(0, 2)], [...TEXT.subarray(2)], [...closeFrame(1001, "retry-after=0")]]);
});

test("WsTracking: a close at a frame boundary goes out at once with its retry-after, stops the pings, and nothing goes to the client after it", () => {
  const { ws, client, wheel, tunnel, sock } = setup(PINGS);
  ws.toClient(TEXT, sock);
  ws.close(1012, 2500, sock);
  assert.deepEqual(client.writes.map((b) => [...b]), [[...TEXT], [...closeFrame(1012, "retry-after=2500")]]);
  assert.equal(wheel.disarmed, 1);
  client.accepts = false;
  assert.equal(ws.toClient(BIN, sock), true, "nothing written, nothing to wait for");
  ws.close(1001, 0, sock);
  ws.expire(5000);
  assert.deepEqual([client.writes.length, tunnel.closes], [2, 0]);
});

test("WsTracking: a close asked for inside a frame goes out at the chunk's last frame boundary, the rest of the chunk dropped; no ping is added while it waits", () => {
  const { ws, client, sock } = setup(PINGS);
  ws.toClient(BIN.subarray(0, 3), sock);
  ws.close(1012, 100, sock);
  ws.expire(1250);
  // Two boundaries in the chunk (after BIN's end, after TEXT): the close follows the second.
  assert.equal(ws.toClient(Buffer.concat([BIN.subarray(3), TEXT, TEXT.subarray(0, 2)]), sock), true);
  assert.deepEqual(client.writes.map((b) => [...b]), [[...BIN.subarray(0, 3)], [...BIN.subarray(3), ...TEXT], [...closeFrame(1012, "retry-after=100")]]);
});

test("WsTracking: a frame that ends exactly with the chunk gets the ping after it; the client's backpressure is passed back from the write after the ping", () => {
  const { ws, client, sock } = setup(PINGS);
  ws.toClient(TEXT.subarray(0, 1), sock);
  ws.expire(1250);
  client.accepts = false;
  assert.equal(ws.toClient(TEXT.subarray(1), sock), true, "the ping was the last write: nothing to wait for");
  assert.deepEqual(client.writes.map((b) => b[0]), [0x81, 3, 0x89]);
  assert.equal(ws.toClient(BIN, sock), false);
  const mid = setup(PINGS);
  mid.ws.toClient(TEXT.subarray(0, 1), mid.sock);
  mid.ws.expire(1250);
  mid.client.accepts = false;
  assert.equal(mid.ws.toClient(Buffer.concat([TEXT.subarray(1), BIN.subarray(0, 3)]), mid.sock), false, "the frame's start after the ping was refused");
  assert.deepEqual(mid.client.writes.map((b) => b[0]), [0x81, 3, 0x89, 0x82]);
  assert.equal(mid.ws.toClient(BIN.subarray(3, 4), mid.sock), false, "inside a frame, nothing pending");
});

test("WsTracking: a vanished server's close goes to the client at a frame boundary, not inside a frame, not after the server's own close, not twice", () => {
  const at = setup(PINGS);
  at.ws.toClient(TEXT, at.sock);
  assert.equal(at.ws.serverGone(1012, 700, at.sock), true);
  assert.deepEqual([...at.client.writes[1]!], [...closeFrame(1012, "retry-after=700")]);
  assert.equal(at.wheel.disarmed, 1, "no more pings");
  assert.equal(at.ws.serverGone(1012, 700, at.sock), false);
  assert.equal(at.client.writes.length, 2, "one close");
  const mid = setup(PINGS);
  mid.ws.toClient(TEXT.subarray(0, 4), mid.sock);
  assert.equal(mid.ws.serverGone(1012, 700, mid.sock), false);
  assert.equal(mid.client.writes.length, 1, "nothing inside the frame");
  const closed = setup(PINGS);
  closed.ws.toClient(Buffer.from([0x88, 2, 0x03, 0xe8]), closed.sock);
  assert.equal(closed.ws.serverGone(1012, 700, closed.sock), false);
  assert.equal(closed.client.writes.length, 1);
});

test("WsTracking: a server stream that is not frames falls back to blind mode with the codec's reason, the chunk forwarded whole, no ping injected", () => {
  const { ws, client, tunnel, sock } = setup(PINGS);
  ws.toClient(TEXT.subarray(0, 2), sock);
  ws.expire(1250);
  // The frame's end, then a reserved opcode (0x83): broken before the boundary is used.
  const rest = Buffer.concat([TEXT.subarray(2), Buffer.from([0x83, 0])]);
  assert.equal(ws.toClient(rest, sock), true);
  assert.deepEqual(tunnel.blind, ["reserved opcode"]);
  assert.deepEqual(client.writes.map((b) => [...b]), [[...TEXT.subarray(0, 2)], [...rest]]);
  for (const [bytes, why] of [[[0x8f, 0], "reserved opcode"], [[0x89, 126, 0, 200], "control frame longer than 125 bytes"]] as const) {
    const first = setup(PINGS);
    first.client.accepts = false;
    assert.equal(first.ws.toClient(Buffer.from(bytes), first.sock), false, why);
    assert.deepEqual(first.tunnel.blind, [why]);
    assert.deepEqual(first.client.bytes(), bytes);
  }
});

test("WsTracking: stop disarms and ends the pings; an expiry after it does nothing", () => {
  const { ws, client, wheel, tunnel } = setup(PINGS);
  ws.stop(wheel as unknown as TimerWheel);
  assert.equal(wheel.disarmed, 1);
  ws.expire(1250);
  assert.deepEqual([client.writes.length, tunnel.closes], [0, 0]);
});

test("WsTracking: an expiry before start does nothing", () => {
  const ws = new WsTracking(PINGS);
  ws.expire(1250);
  assert.equal(ws.deadline, 0);
});

test("WsTracking: ping nonces count up by one from a start drawn at random, not near 0", () => {
  const nonces: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { ws, client } = setup(PINGS);
    ws.expire(1250);
    nonces.push(client.writes[0]!.readUIntBE(4, 6));
  }
  assert.deepEqual([nonces[1]! - nonces[0]!, nonces[2]! - nonces[1]!], [1, 1]);
  // A start below 2^16 has a chance of 2^-24 (the start is drawn below 2^40).
  assert.ok(nonces[0]! >= 2 ** 16, `nonce ${nonces[0]} is near 0: not drawn at random`);
});

test("WsTracking on a real wheel, in each of its 256 slots: started at every tick of a turn with 100 ms pings, the ping is written one tick later, not before, and the tunnel closed at the pong deadline", () => {
  for (let tick = 0; tick < 256; tick++) {
    let now = tick * 100;
    const wheel = new TimerWheel(100, 256, () => now);
    const { client, tunnel } = setup({ pingInterval: 100, pongTimeout: 100 }, wheel);
    const at = `started at tick ${tick} (slot ${(tick + 1) % 256})`;
    now += 99;
    wheel.advance();
    assert.equal(client.writes.length, 0, `${at}: a ping before its deadline`);
    now += 1;
    wheel.advance();
    assert.deepEqual(client.writes.map((w) => w.subarray(0, 2).toString("hex")), ["8908"], `${at}: no ping at its deadline`);
    now += 99;
    wheel.advance();
    assert.equal(tunnel.closes, 0, `${at}: closed before the pong deadline`);
    now += 1;
    wheel.advance();
    assert.equal(tunnel.closes, 1, `${at}: not closed at the pong deadline`);
  }
});
