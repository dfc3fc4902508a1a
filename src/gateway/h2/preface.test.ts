import assert from "node:assert/strict";
import { test } from "node:test";
import { destroyOnInput, type HandledSocket, type SocketHandler } from "../sockets.ts";
import { TimerWheel } from "../timer-wheel.ts";
import { H2_PREFACE, PrefaceSniffer, prefaceMatch } from "./preface.ts";

// The h2c preface sniffer fed bytes by hand: a fake socket, a wheel on a clock the test moves.

test("prefaceMatch: 1 for the whole preface (more bytes may follow), 0 for a prefix so far, -1 at the first wrong byte", () => {
  const p = Buffer.from(H2_PREFACE);
  const cases: [bytes: Buffer, end: number, expected: 1 | 0 | -1][] = [
    [p, p.length, 1],
    [Buffer.concat([p, Buffer.of(0, 0, 0, 4)]), p.length + 4, 1],
    [p, p.length - 1, 0],
    [p, 1, 0],
    [p, 0, 0],
    [Buffer.from("GET / HTTP/1.1\r\n"), 16, -1],
    [Buffer.from("PRI * HTTP/1.1\r\n"), 16, -1],
    [Buffer.concat([p.subarray(0, p.length - 1), Buffer.from("X")]), p.length, -1],
    // Bytes past `end` are not read: a wrong byte there does not count yet.
    [Buffer.from("PRX"), 2, 0],
  ];
  for (const [bytes, end, expected] of cases) assert.equal(prefaceMatch(bytes, end), expected, JSON.stringify(bytes.subarray(0, end).toString("latin1")));
});

/** A socket that only counts its `destroy()` calls. */
function fakeSocket(): HandledSocket & { destroys: number } {
  const s = { handler: undefined as unknown as SocketHandler, destroys: 0, destroy() {
    s.destroys++;
  } };
  return s as unknown as HandledSocket & { destroys: number };
}

function sniffer(idleMs = 1000) {
  let t = 0;
  const wheel = new TimerWheel(10, 256, () => t);
  const socket = fakeSocket();
  const decided: { h2: boolean; bytes: string; handler: SocketHandler }[] = [];
  const sniff = new PrefaceSniffer(socket, wheel, idleMs, (s, h2, bytes) => decided.push({ h2, bytes: bytes.toString("latin1"), handler: s.handler }));
  return { sniff, socket, wheel, decided, at: (ms: number) => ((t = ms), wheel.advance()) };
}

test("PrefaceSniffer: the preface in pieces decides h2 once, with every byte read; the idle deadline is cleared", () => {
  const { sniff, socket, decided, at } = sniffer();
  assert.equal(socket.handler, sniff);
  const all = Buffer.concat([H2_PREFACE, Buffer.from("SETTINGS")]);
  sniff.onData(socket, all.subarray(0, 3));
  sniff.onData(socket, all.subarray(3, 20));
  assert.deepEqual(decided, []);
  assert.equal(sniff.deadline, 1000, "armed for the idle time");
  sniff.onData(socket, all.subarray(20));
  assert.deepEqual(decided, [{ h2: true, bytes: all.toString("latin1"), handler: destroyOnInput }]);
  assert.equal(sniff.deadline, 0);
  at(5000);
  assert.equal(socket.destroys, 0, "no expiry after the decision");
});

test("PrefaceSniffer: a wrong byte decides HTTP/1.1 at once, with the bytes read so far", () => {
  const { sniff, socket, decided } = sniffer();
  sniff.onData(socket, Buffer.from("PR"));
  sniff.onData(socket, Buffer.from("I * HTTP/1.1\r\n"));
  assert.deepEqual(decided, [{ h2: false, bytes: "PRI * HTTP/1.1\r\n", handler: destroyOnInput }]);
  assert.equal(sniff.deadline, 0);
  // A second decision starts from fresh bytes (none kept from the first).
  sniff.onData(socket, Buffer.from("G"));
  assert.deepEqual(decided[1], { h2: false, bytes: "G", handler: destroyOnInput });
});

test("PrefaceSniffer: a silent client is closed at its idle deadline, not before; one that ends first is closed at once", () => {
  const silent = sniffer(1000);
  silent.sniff.onData(silent.socket, Buffer.from("PRI"));
  silent.at(900);
  assert.equal(silent.socket.destroys, 0);
  silent.at(1100);
  assert.equal(silent.socket.destroys, 1);
  assert.equal(silent.socket.handler, destroyOnInput);
  assert.deepEqual(silent.decided, []);

  const ending = sniffer(1000);
  ending.sniff.onEnd(ending.socket);
  assert.equal(ending.socket.destroys, 1);
  assert.equal(ending.sniff.deadline, 0, "its deadline cleared");
  ending.at(5000);
  assert.equal(ending.socket.destroys, 1, "no expiry after the end");

  const closed = sniffer(1000);
  closed.sniff.onClose();
  assert.equal(closed.sniff.deadline, 0);
  closed.at(5000);
  assert.equal(closed.socket.destroys, 0);
});

test("PrefaceSniffer: a new sniffer starts out of the wheel, so a deadline in any slot fires (here slot 1: 10 ms on a 10 ms wheel)", () => {
  const s = sniffer(10);
  assert.equal(s.sniff.wheelSlot, 1, "placed in slot 1");
  s.at(20);
  assert.equal(s.socket.destroys, 1);
});
