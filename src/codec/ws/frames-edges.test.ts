import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameError, FrameTracker, frameErrorText } from "./frames.ts";

const bytes = (...b: number[]): Buffer => Buffer.from(b);

test("FrameError: each code and its own words for the log", () => {
  const cases: [code: number, text: string][] = [
    [FrameError.RESERVED_OPCODE, "reserved opcode"],
    [FrameError.CONTROL_TOO_LONG, "control frame longer than 125 bytes"],
    [FrameError.CONTROL_FRAGMENTED, "fragmented control frame"],
    [FrameError.LENGTH_TOO_LARGE, "payload length above 2^53 - 1"],
    [FrameError.UNEXPECTED_CONTINUATION, "continuation frame outside a fragmented message"],
    [FrameError.DATA_INSIDE_FRAGMENTED, "new data frame inside a fragmented message"],
  ];
  assert.deepEqual(Object.values(FrameError), [1, 2, 3, 4, 5, 6]);
  for (const [code, text] of cases) assert.equal(frameErrorText[code as keyof typeof frameErrorText], text);
});

test("FrameTracker: a new tracker is at a message boundary and has reported none", () => {
  const t = new FrameTracker();
  assert.deepEqual([t.atFrameBoundary, t.atMessageBoundary, t.lastMessageBoundary, t.broken, t.error, t.closeSeen], [true, true, -1, false, 0, false]);
  t.push(bytes(0x82, 0x05, 1, 2), 0, 4);
  assert.deepEqual([t.atFrameBoundary, t.atMessageBoundary], [false, false], "inside a payload");
});

test("FrameTracker: a length of exactly 2^53 - 1 is fine in a fragment too", () => {
  for (const b0 of [0x02, 0x82, 0x01]) {
    const t = new FrameTracker();
    assert.equal(t.push(bytes(b0, 127, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1), 0, 11), 0, b0.toString(16));
    assert.deepEqual([t.broken, t.error], [false, 0], b0.toString(16));
  }
});

test("FrameTracker: bytes past a chunk's end are never read", () => {
  // Each chunk copied into its own buffer followed by bytes that would break the stream
  // (0xff: FIN and reserved opcode 15) or lengthen a header (0x7f): the boundaries are
  // those of the stream fed clean.
  const frames = [bytes(0x81, 0x02, 0x68, 0x69), bytes(0x82, 0x7e, 0x00, 0x7e, ...new Array<number>(126).fill(7)), bytes(0x89, 0x80, 1, 2, 3, 4), bytes(0x01, 0x01, 0x61), bytes(0x80, 0x00)];
  const stream = Buffer.concat(frames);
  for (const junk of [0xff, 0x7f, 0x00]) {
    for (let a = 0; a <= stream.length; a++) {
      for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 2), stream.length]) {
        const cuts = [0, a, b, stream.length];
        const clean = new FrameTracker();
        const dirty = new FrameTracker();
        for (let c = 0; c + 1 < cuts.length; c++) {
          const chunk = stream.subarray(cuts[c]!, cuts[c + 1]!);
          const padded = Buffer.concat([Buffer.alloc(3, junk), chunk, Buffer.alloc(12, junk)]);
          const want = clean.push(chunk, 0, chunk.length);
          const got = dirty.push(padded, 3, 3 + chunk.length);
          const label = `junk ${junk}, cuts ${cuts.join(",")}`;
          assert.equal(got, want < 0 ? -1 : want + 3, label);
          assert.equal(dirty.lastMessageBoundary, clean.lastMessageBoundary < 0 ? -1 : clean.lastMessageBoundary + 3, label);
          assert.deepEqual([dirty.atFrameBoundary, dirty.atMessageBoundary, dirty.broken], [clean.atFrameBoundary, clean.atMessageBoundary, clean.broken], label);
        }
        assert.equal(clean.atMessageBoundary, true);
      }
    }
  }
  // The same through pushFrame, one byte a chunk.
  const t = new FrameTracker();
  const ends: number[] = [];
  for (let i = 0; i < stream.length; i++) {
    const padded = Buffer.concat([stream.subarray(i, i + 1), Buffer.alloc(12, 0xff)]);
    assert.equal(t.pushFrame(padded, 0, 1), 1, `byte ${i}`);
    if (t.atFrameBoundary) ends.push(i + 1);
  }
  let at = 0;
  assert.deepEqual(ends, frames.map((f) => (at += f.length)));
});
