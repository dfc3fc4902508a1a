import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameError, FrameTracker, frameErrorText, type FrameErrorCode } from "./frames.ts";
import { mulberry32, randomCuts, randomFrames, stream, wsFrame, type FrameSpec } from "./testing.kit.ts";

const bytes = (...b: number[]): Buffer => Buffer.from(b);
const text = (s: string, more: Partial<FrameSpec> = {}): FrameSpec => ({ opcode: 1, payload: Buffer.from(s), ...more });

// Every boundary the tracker sees, feeding `buf` in chunks that start at `cuts`.
function boundaries(buf: Buffer, cuts: readonly number[]): { frames: number[]; messages: number[]; t: FrameTracker } {
  const t = new FrameTracker();
  const frames: number[] = [];
  const messages: number[] = [];
  for (let c = 0; c + 1 < cuts.length; c++) {
    const end = cuts[c + 1]!;
    for (let i = cuts[c]!; i < end; ) {
      i = t.pushFrame(buf, i, end);
      if (t.atFrameBoundary) {
        frames.push(i);
        if (t.atMessageBoundary) messages.push(i);
      }
    }
  }
  return { frames, messages, t };
}

test("FrameTracker: every length form, masked or not, split at every header offset", () => {
  const cases: [size: number, form: string][] = [
    [0, "7-bit"], [1, "7-bit"], [125, "7-bit"], [126, "16-bit"], [127, "16-bit"],
    [65535, "16-bit"], [65536, "64-bit"], [200_000, "64-bit"],
  ];
  for (const [size, form] of cases) {
    for (const mask of [false, true]) {
      const buf = wsFrame({ opcode: 2, payload: Buffer.alloc(size, 0x8a), mask });
      const header = buf.length - size;
      assert.equal(header, 2 + (form === "16-bit" ? 2 : form === "64-bit" ? 8 : 0) + (mask ? 4 : 0));
      const label = `${size} bytes, ${form}, mask=${mask}`;
      const one = new FrameTracker();
      assert.equal(one.push(buf, 0, buf.length), buf.length, label);
      assert.ok(one.atFrameBoundary && one.atMessageBoundary, label);
      // Two chunks split at every offset of the header and around the payload's ends.
      const splits = new Set<number>();
      for (let s = 0; s <= header + 2 && s <= buf.length; s++) splits.add(s);
      for (let s = Math.max(0, buf.length - 2); s <= buf.length; s++) splits.add(s);
      for (const s of splits) {
        const t = new FrameTracker();
        assert.equal(t.push(buf, 0, s), s === buf.length ? s : 0, `${label}: first chunk [0, ${s})`);
        assert.equal(t.push(buf, s, buf.length), buf.length, `${label}: split at ${s}`);
        assert.ok(t.atFrameBoundary, `${label}: split at ${s}`);
      }
      // One byte at a time through the header.
      const t = new FrameTracker();
      for (let i = 0; i < header - 1; i++) assert.equal(t.push(buf, i, i + 1), i === 0 ? 0 : -1, `${label}: byte ${i}`);
      assert.equal(t.push(buf, header - 1, buf.length), buf.length, label);
    }
  }
});

test("FrameTracker: many frames in one chunk, each boundary found", () => {
  const s = stream([text("a"), { opcode: 9, payload: Buffer.alloc(0) }, { opcode: 2, payload: Buffer.alloc(300) }, text(""), { opcode: 10, payload: Buffer.alloc(125) }, text("z".repeat(126), { mask: true })]);
  const t = new FrameTracker();
  assert.equal(t.push(s.bytes, 0, s.bytes.length), s.bytes.length);
  assert.equal(t.lastMessageBoundary, s.bytes.length);
  assert.deepEqual(boundaries(s.bytes, [0, s.bytes.length]).frames, s.frameEnds);
  // A chunk that ends inside a frame: push returns the end of the last whole one.
  for (let k = 0; k + 1 < s.frameEnds.length; k++) {
    const u = new FrameTracker();
    assert.equal(u.push(s.bytes, 0, s.frameEnds[k]! + 1), s.frameEnds[k]);
    assert.equal(u.atFrameBoundary, false);
  }
});

test("FrameTracker: fragmented messages with interleaved control frames", () => {
  const frames: FrameSpec[] = [
    text("one", { fin: false }),
    { opcode: 9, payload: Buffer.from("p") },
    { opcode: 0, payload: Buffer.from("two"), fin: false },
    { opcode: 10, payload: Buffer.alloc(0) },
    { opcode: 0, payload: Buffer.from("three") },
    { opcode: 2, payload: Buffer.alloc(70_000), fin: false, rsv1: true },
    { opcode: 0, payload: Buffer.alloc(10) },
    { opcode: 9, payload: Buffer.alloc(0) },
  ];
  const s = stream(frames);
  const got = boundaries(s.bytes, [0, s.bytes.length]);
  assert.deepEqual(got.frames, s.frameEnds);
  assert.deepEqual(got.messages, [s.frameEnds[4], s.frameEnds[6], s.frameEnds[7]]);
  // Chunks cut at each frame end: frame boundary everywhere, message boundary only after a FIN.
  const t = new FrameTracker();
  let at = 0;
  const expected: [frame: boolean, message: boolean][] = [
    [true, false], [true, false], [true, false], [true, false], [true, true], [true, false], [true, true], [true, true],
  ];
  for (const [k, end] of s.frameEnds.entries()) {
    assert.equal(t.push(s.bytes, at, end), end, `frame ${k}`);
    assert.equal(t.lastMessageBoundary, expected[k]![1] ? end : k === 0 || expected[k - 1]![1] ? at : -1, `frame ${k}`);
    assert.deepEqual([t.atFrameBoundary, t.atMessageBoundary], expected[k], `frame ${k}`);
    assert.equal(t.push(s.bytes, end, end), end, `frame ${k}: empty chunk`);
    at = end;
  }
  assert.equal(t.broken, false);
});

test("FrameTracker: push reports the last boundary; start counts when already at one", () => {
  const a = wsFrame(text("abc"));
  const big = wsFrame({ opcode: 2, payload: Buffer.alloc(1000) });
  const buf = Buffer.concat([a, big, a]);
  const t = new FrameTracker();
  assert.equal(t.push(buf, 0, 0), 0, "empty chunk at a boundary");
  assert.equal(t.push(buf, 0, a.length + 10), a.length);
  assert.equal(t.push(buf, a.length + 10, a.length + 500), -1, "inside a payload");
  assert.equal(t.lastMessageBoundary, -1);
  assert.equal(t.push(buf, a.length + 500, buf.length), buf.length);
  assert.equal(t.push(buf, buf.length, buf.length), buf.length);
});

test("FrameTracker: RSV bits are opaque (permessage-deflate sets RSV1)", () => {
  for (const b0 of [0xc1, 0xa2, 0x92, 0xf1, 0xc9]) {
    const t = new FrameTracker();
    assert.equal(t.push(bytes(b0, 0x01, 0x00), 0, 3), 3, b0.toString(16));
    assert.equal(t.broken, false);
  }
});

test("FrameTracker: garbage is reported broken, for good", () => {
  const cases: [name: string, input: Buffer, error: FrameErrorCode][] = [
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer, FrameErrorCode] => [`opcode ${op}`, bytes(0x80 | op, 0), FrameError.RESERVED_OPCODE]),
    ["ping of 126 bytes", bytes(0x89, 126, 0, 126), FrameError.CONTROL_TOO_LONG],
    ["close of 65536 bytes", bytes(0x88, 127, 0, 0, 0, 0, 0, 1, 0, 0), FrameError.CONTROL_TOO_LONG],
    ["ping without FIN", bytes(0x09, 0), FrameError.CONTROL_FRAGMENTED],
    ["64-bit length, top bit set", bytes(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1), FrameError.LENGTH_TOO_LARGE],
    ["64-bit length 2^53", bytes(0x82, 127, 0, 0x20, 0, 0, 0, 0, 0, 0), FrameError.LENGTH_TOO_LARGE],
    ["continuation first", bytes(0x80, 0), FrameError.UNEXPECTED_CONTINUATION],
    ["text inside a fragmented message", bytes(0x01, 1, 0x61, 0x81, 0), FrameError.DATA_INSIDE_FRAGMENTED],
    ["an HTTP response", Buffer.from("HTTP/1.1 200 OK\r\n\r\n"), FrameError.CONTROL_FRAGMENTED],
    ["garbage after a good frame", Buffer.concat([wsFrame(text("ok")), Buffer.from("\x00\x00garbage")]), FrameError.UNEXPECTED_CONTINUATION],
  ];
  for (const [name, input, error] of cases) {
    for (let split = 0; split <= input.length; split++) {
      const t = new FrameTracker();
      t.push(input, 0, split);
      assert.equal(t.push(input, split, input.length), -1, `${name}, split at ${split}`);
      assert.equal(t.broken, true, name);
      assert.equal(t.error, error, name);
      assert.equal(t.atFrameBoundary, false, name);
      assert.equal(t.push(wsFrame(text("x")), 0, 3), -1, `${name}: stays broken`);
    }
    assert.equal(typeof frameErrorText[error], "string");
  }
  assert.equal(new FrameTracker().error, 0);
});

test("FrameTracker: 64-bit length just under 2^53 is fine", () => {
  const t = new FrameTracker();
  assert.equal(t.push(bytes(0x82, 127, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2), 0, 12), 0, "only the start");
  assert.equal(t.broken, false);
  assert.equal(t.atFrameBoundary, false);
});

test("FrameTracker: closeSeen after a close frame's header", () => {
  const t = new FrameTracker();
  const ping = wsFrame({ opcode: 9, payload: Buffer.alloc(2) });
  t.push(ping, 0, ping.length);
  assert.equal(t.closeSeen, false);
  const close = wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: true });
  t.push(close, 0, 2);
  assert.equal(t.closeSeen, false, "header not complete yet (mask key)");
  t.push(close, 2, 6);
  assert.equal(t.closeSeen, true);
});

test("FrameTracker: fuzz — random frames cut at random points give the one-shot boundaries", () => {
  const random = mulberry32(0x5eed);
  for (let round = 0; round < 300; round++) {
    const s = stream(randomFrames(random, 1 + Math.floor(random() * 30), random() < 0.5));
    const n = s.bytes.length;
    const one = boundaries(s.bytes, [0, n]);
    assert.deepEqual(one.frames, s.frameEnds, `round ${round}: one-shot`);
    assert.deepEqual(one.messages, s.messageEnds, `round ${round}: one-shot messages`);
    const cuts = randomCuts(random, n, 1 + Math.floor(random() * 40));
    assert.deepEqual(boundaries(s.bytes, cuts).frames, s.frameEnds, `round ${round}: cut at ${cuts.join(",")}`);
    // push(): per chunk, the last boundary in [start, end], or -1.
    const t = new FrameTracker();
    for (let c = 0; c + 1 < cuts.length; c++) {
      const [from, to] = [cuts[c]!, cuts[c + 1]!];
      const inRange = (ends: number[]): number => [0, ...ends].filter((e) => e >= from && e <= to).pop() ?? -1;
      assert.equal(t.push(s.bytes, from, to), inRange(s.frameEnds), `round ${round}: chunk [${from}, ${to})`);
      assert.equal(t.lastMessageBoundary, inRange(s.messageEnds), `round ${round}: chunk [${from}, ${to}) message`);
    }
    assert.equal(t.broken, false);
  }
});
