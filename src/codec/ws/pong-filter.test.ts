import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameError } from "./frames.ts";
import { PongFilter, pingPayload } from "./pong-filter.ts";
import { mulberry32, randomCuts, randomFrames, wsFrame, type FrameSpec } from "./testing.kit.ts";

const OURS = pingPayload(0x1234_5678_9abc);
const ourPong = (more: Partial<FrameSpec> = {}): Buffer => wsFrame({ opcode: 10, payload: OURS, mask: true, ...more });
const masked = (opcode: number, payload: Buffer | string, more: Partial<FrameSpec> = {}): Buffer =>
  wsFrame({ opcode, payload: Buffer.from(payload), mask: true, ...more });

// Feeds `input` cut at `cuts` through the filter the way the tunnel will; returns what
// reaches the server and how many drops were reported.
function run(f: PongFilter, input: Buffer, cuts: readonly number[]): { out: Buffer; drops: number; replays: number } {
  const out: Buffer[] = [];
  let drops = 0;
  let replays = 0;
  for (let c = 0; c + 1 < cuts.length; c++) {
    const [start, end] = [cuts[c]!, cuts[c + 1]!];
    if (f.push(input, start, end)) {
      out.push(input.subarray(start, end));
      continue;
    }
    assert.ok(start <= f.dropStart && f.dropStart <= f.dropEnd && f.dropEnd <= f.keepEnd && f.keepEnd <= end, `ranges in [${start}, ${end})`);
    if (f.replay !== null) {
      out.push(f.replay);
      replays++;
    }
    out.push(input.subarray(start, f.dropStart), input.subarray(f.dropEnd, f.keepEnd));
    if (f.dropEnd > f.dropStart) drops++;
  }
  return { out: Buffer.concat(out), drops, replays };
}

const allTwoWaySplits = (n: number): number[][] => Array.from({ length: n + 1 }, (_, s) => [0, s, n]);

test("PongFilter: no ping outstanding, everything goes through in one piece", () => {
  const f = new PongFilter();
  const input = Buffer.concat([masked(1, "hi"), ourPong(), masked(8, Buffer.from([0x03, 0xe8]))]);
  assert.equal(f.push(input, 0, input.length), true);
  assert.equal(f.awaitingPong, false);
  assert.equal(f.closeSeen, true);
  assert.equal(f.atFrameBoundary, true);
});

test("PongFilter: drops exactly the gateway's pong, at every split, and forwards the rest untouched", () => {
  const appPong = masked(10, "app");
  const samePrefix = masked(10, Buffer.concat([OURS.subarray(0, 7), Buffer.from([OURS[7]! ^ 1])])); // differs in the last byte
  const samePrefixLong = masked(10, Buffer.concat([OURS, Buffer.from([0])])); // 9 bytes
  // Our pong's very bytes as the payload of a frame (mask key 0, so they show on the wire).
  const carrier = Buffer.concat([Buffer.from([0x82, 0x80 | 14, 0, 0, 0, 0]), ourPong()]);
  const cases: [name: string, before: Buffer[], after: Buffer[]][] = [
    ["alone", [], []],
    ["after data", [masked(1, "hello"), masked(2, Buffer.alloc(300))], []],
    ["between data", [masked(1, "x".repeat(126))], [masked(1, "after")]],
    ["after an application pong", [appPong], [masked(1, "z")]],
    ["after a pong that differs in its last byte", [samePrefix], []],
    ["after a pong one byte longer", [samePrefixLong], [appPong]],
    ["after a frame carrying our pong", [carrier], [carrier]],
    ["between two fragments", [masked(1, "frag", { fin: false })], [masked(0, "ment")]],
    ["before a close", [], [masked(8, Buffer.from([0x03, 0xe8]))]],
  ];
  for (const [name, before, after] of cases) {
    const input = Buffer.concat([...before, ourPong(), ...after]);
    const expected = Buffer.concat([...before, ...after]);
    const splits = [...allTwoWaySplits(input.length)];
    const at = Buffer.concat(before).length; // the pong's offset: cut it in three too
    for (let a = at; a <= at + 14; a++) for (let b = a; b <= at + 14; b++) splits.push([0, a, b, input.length]);
    splits.push(Array.from({ length: input.length + 1 }, (_, i) => i)); // one byte at a time
    for (const cuts of splits) {
      const f = new PongFilter();
      f.expect(OURS);
      const { out, drops } = run(f, input, cuts);
      assert.ok(out.equals(expected), `${name}: cut at ${cuts.join(",")}`);
      assert.equal(drops, 1, `${name}: cut at ${cuts.join(",")}`);
      assert.equal(f.awaitingPong, false, name);
      assert.equal(f.broken, false, name);
    }
  }
});

test("PongFilter: application pongs and other pongs stay, held bytes are replayed", () => {
  const cases: [name: string, frame: Buffer][] = [
    ["another 8-byte payload", masked(10, "hfABCDEF")],
    ["our payload but the last byte", masked(10, Buffer.concat([OURS.subarray(0, 7), Buffer.from([0])]))],
    ["our payload, 16-bit length form", Buffer.concat([Buffer.from([0x8a, 0xfe, 0, 8, 0, 0, 0, 0]), OURS])],
    ["our payload, unmasked", wsFrame({ opcode: 10, payload: OURS })],
    ["our payload in a ping", masked(9, OURS)],
    ["empty pong", masked(10, "")],
  ];
  for (const [name, frame] of cases) {
    const input = Buffer.concat([frame, masked(1, "next")]);
    let replays = 0;
    for (const cuts of [...allTwoWaySplits(input.length), Array.from({ length: input.length + 1 }, (_, i) => i)]) {
      const f = new PongFilter();
      f.expect(OURS);
      const got = run(f, input, cuts);
      assert.ok(got.out.equals(input), `${name}: cut at ${cuts.join(",")}`);
      assert.equal(got.drops, 0, name);
      assert.equal(f.awaitingPong, true, name);
      replays += got.replays;
    }
    // A pong header is held while it could still be ours, then replayed when a cut fell
    // inside it; a ping is never held.
    assert.equal(replays > 0, frame[0] === 0x8a, `${name}: ${replays} replays`);
  }
});

test("PongFilter: a pong for a ping not (or no longer) outstanding is forwarded", () => {
  const f = new PongFilter();
  f.expect(OURS);
  const twice = Buffer.concat([ourPong(), ourPong()]);
  const { out, drops } = run(f, twice, [0, twice.length]);
  assert.equal(drops, 1);
  assert.ok(out.equals(twice.subarray(14)), "the second copy reaches the server");
});

test("PongFilter: expect() while a pong is half read", () => {
  const next = pingPayload(7);
  const input = Buffer.concat([ourPong(), wsFrame({ opcode: 10, payload: next, mask: true })]);
  const f = new PongFilter();
  f.expect(OURS);
  assert.equal(f.push(input, 0, 9), false);
  assert.equal(f.keepEnd, 0, "held back");
  f.expect(next); // a newer ping went out: the late answer to the old one goes to the server
  const rest = run(f, input, [9, input.length]);
  assert.equal(rest.drops, 1);
  assert.ok(rest.out.equals(input.subarray(0, 14)), "the stale pong, whole");
  assert.equal(f.awaitingPong, false);

  // Re-armed mid-candidate, and the candidate was not ours after all: replay uses the old payload.
  const other = masked(10, Buffer.concat([OURS.subarray(0, 6), Buffer.from("!!")]));
  const g = new PongFilter();
  g.expect(OURS);
  assert.equal(g.push(other, 0, 10), false);
  g.expect(next);
  assert.equal(g.push(other, 10, other.length), false);
  assert.ok(Buffer.concat([g.replay!, other.subarray(10, g.keepEnd)]).equals(other));
  assert.equal(g.awaitingPong, true);
});

test("PongFilter: re-armed mid-candidate with a payload sharing half of the old one: the old pong is forwarded", () => {
  // Nonces sharing the last 4 payload bytes, then the first 4 ("hf" and the top 16 bits).
  for (const nonce of [0x9999_5678_9abc, 0x1234_0000_0001]) {
    const next = pingPayload(nonce);
    const old = ourPong();
    const f = new PongFilter();
    f.expect(OURS);
    assert.equal(f.push(old, 0, 9), false);
    f.expect(next);
    // The rest of the old pong, the chunk ending where it ends.
    const got = run(f, old, [9, old.length]);
    assert.equal(got.drops, 0, nonce.toString(16));
    assert.ok(Buffer.concat([got.out]).equals(old.subarray(0, 14)), nonce.toString(16));
    assert.equal(f.awaitingPong, true, nonce.toString(16));
  }
});

test("PongFilter: our pong whose mask makes the next frame's first byte look like a 15th byte of it", () => {
  // The next frame starts with 0x81; the key's first byte maps it to payload byte 4.
  const key = [0x81 ^ OURS[4]!, 0x11, 0x22, 0x33];
  const pong = Buffer.from([0x8a, 0x88, ...key, ...[...OURS].map((b, k) => b ^ key[k & 3]!)]);
  const next = masked(1, "x");
  assert.equal(next[0], 0x81);
  const input = Buffer.concat([pong, next]);
  const f = new PongFilter();
  f.expect(OURS);
  const got = run(f, input, [0, input.length]);
  assert.equal(got.drops, 1);
  assert.ok(got.out.equals(next));
});

test("PongFilter: broken client streams go through whole", () => {
  const f = new PongFilter();
  f.expect(OURS);
  const input = Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n\r\n"), ourPong()]);
  assert.equal(f.push(input, 0, input.length), true);
  assert.equal(f.broken, true);
  assert.equal(f.error, FrameError.RESERVED_OPCODE);
  assert.equal(f.push(ourPong(), 0, 14), true);
});

test("PongFilter: pingPayload is 'hf' and a 48-bit nonce", () => {
  assert.equal(pingPayload(0x0102_0304_0506).toString("hex"), "686601020304" + "0506");
  assert.equal(pingPayload(0).toString("hex"), "6866000000000000");
  for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) assert.throws(() => pingPayload(bad), { name: "RangeError", message: `ping nonce must be a 48-bit integer, got ${bad}` });
  assert.equal(pingPayload(2 ** 48 - 1).toString("hex"), "6866ffffffffffff");
  assert.throws(() => new PongFilter().expect(Buffer.alloc(7)), { name: "RangeError", message: "the gateway's ping payload is 8 bytes, got 7" });
});

test("PongFilter: fuzz — random client traffic with our pong inside, cut at random points", () => {
  const random = mulberry32(0xf117e4);
  let replays = 0;
  for (let round = 0; round < 300; round++) {
    const frames = randomFrames(random, 1 + Math.floor(random() * 20), true).map(wsFrame);
    // Lookalikes: application pongs that share a prefix with ours.
    for (let k = 0; k < 2; k++) {
      const p = Buffer.from(OURS);
      const flip = Math.floor(random() * 8);
      p[flip] = p[flip]! ^ (1 + Math.floor(random() * 255));
      frames.splice(Math.floor(random() * (frames.length + 1)), 0, masked(10, p));
    }
    // Our pong goes between frames, which a control frame may (even inside a fragmented message).
    const at = Math.floor(random() * (frames.length + 1));
    const expected = Buffer.concat(frames);
    frames.splice(at, 0, ourPong());
    const input = Buffer.concat(frames);
    const cuts = randomCuts(random, input.length, 1 + Math.floor(random() * 30));
    const f = new PongFilter();
    f.expect(OURS);
    const got = run(f, input, cuts);
    assert.equal(got.drops, 1, `round ${round}`);
    assert.ok(got.out.equals(expected), `round ${round}: cut at ${cuts.join(",")}`);
    assert.equal(f.broken, false);
    replays += got.replays;
  }
  assert.ok(replays > 0, "some lookalike was cut by a chunk's end and replayed");
});
