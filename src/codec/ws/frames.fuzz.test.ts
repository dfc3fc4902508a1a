import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameTracker } from "./frames.ts";
import { fuzzSeed, hostileStream, modelFrames, mulberry32, type FrameModel } from "./fuzz.kit.ts";
import { PongFilter } from "./pong-filter.ts";
import { randomCuts } from "./testing.kit.ts";

/**
 * Seeded fuzzing of the WebSocket trackers with hostile streams (fuzz.kit.ts), checked
 * against a plain whole-stream model (the tunnel's injections are fuzzed beside
 * gateway/tunnel/ws-tracking.ts):
 *   FUZZ_SEED=123          replay a run (printed with every failure)
 *   FUZZ_WS_ROUNDS=20000   more rounds per property (default 300: about a second)
 */
const SEED = fuzzSeed();
const ROUNDS = Number(process.env.FUZZ_WS_ROUNDS ?? 300);

function where(round: number, bytes: Buffer, cuts: number[]): string {
  return `round ${round}, replay: FUZZ_SEED=${SEED}; ${bytes.length} bytes ${bytes.subarray(0, 48).toString("hex")}…, cuts ${cuts.join(",")}`;
}

/** The last boundary in [from, to] (0 counts), or -1. */
function lastIn(ends: readonly number[], from: number, to: number): number {
  let last = from === 0 ? 0 : -1;
  for (const e of ends) if (e >= from && e <= to) last = e;
  return last;
}

function isBoundary(m: FrameModel, at: number): boolean {
  return at === 0 || m.frameEnds.includes(at);
}

test("FrameTracker vs the model: hostile streams cut at random points", () => {
  const random = mulberry32(SEED);
  for (let round = 0; round < ROUNDS; round++) {
    const bytes = hostileStream(random, { mask: random() < 0.5, hostility: mixed(random) });
    const m = modelFrames(bytes);
    const cuts = randomCuts(random, bytes.length, int(random, 30));
    const ctx = where(round, bytes, cuts);
    const t = new FrameTracker();
    for (let c = 0; c + 1 < cuts.length; c++) {
      const from = cuts[c]!, to = cuts[c + 1]!;
      const got = t.push(bytes, from, to);
      // Broken by a header that completes in this chunk or before: -1 from then on.
      const want = m.breakAt <= to ? -1 : lastIn(m.frameEnds, from, to);
      assert.equal(got, want, `push [${from}, ${to}): ${ctx}`);
      const wantMessage = m.breakAt <= to ? -1 : lastIn(m.messageEnds, from, to);
      assert.equal(t.lastMessageBoundary, wantMessage, `message boundary [${from}, ${to}): ${ctx}`);
    }
    assert.equal(t.broken, m.error !== 0, `broken: ${ctx}`);
    assert.equal(t.error, m.error, `error code: ${ctx}`);
    assert.equal(t.closeSeen, m.closeSeen, `closeSeen: ${ctx}`);
    assert.equal(t.atFrameBoundary, !t.broken && isBoundary(m, bytes.length), `rests at a boundary: ${ctx}`);
  }
});

/** A masked pong answering `payload`, as a client sends it. */
function pong(random: () => number, payload: Buffer): Buffer {
  const key = Buffer.from([int(random, 256), int(random, 256), int(random, 256), int(random, 256)]);
  const masked = Buffer.from(payload.map((b, k) => b ^ key[k & 3]!));
  return Buffer.concat([Buffer.from([0x8a, 0x88]), key, masked]);
}

function isPongFor(b: Buffer, at: number, payload: Buffer): boolean {
  if (at + 14 > b.length || b[at] !== 0x8a || b[at + 1] !== 0x88) return false;
  for (let k = 0; k < 8; k++) if ((b[at + 6 + k]! ^ b[at + 2 + (k & 3)]!) !== payload[k]) return false;
  return true;
}

test("PongFilter vs the model: only the gateway's own pong at a frame boundary is taken out, nothing else changes", () => {
  const random = mulberry32(SEED ^ 0x9e3779b9);
  let oursSeen = 0; // rounds where our pong sat at a frame boundary: the drop was exercised
  for (let round = 0; round < ROUNDS; round++) {
    const payload = Buffer.from([0x68, 0x66, ...Array.from({ length: 6 }, () => int(random, 256))]);
    // Client traffic with pongs in it: ours, ours with one byte off, someone else's, and
    // ours hidden in the payload of a binary frame (not at a frame boundary).
    const parts = [hostileStream(random, { mask: true, frames: 1 + int(random, 12), hostility: mixed(random) })];
    for (let n = int(random, 4); n > 0; n--) {
      let p = pong(random, payload);
      const kind = int(random, 4);
      if (kind === 1) p[6 + int(random, 8)]! ^= 1 << int(random, 8);
      if (kind === 2) p[6]! ^= 0xff;
      if (kind === 3) p = Buffer.concat([Buffer.from([0x82, 14]), p]);
      parts.splice(int(random, parts.length + 1), 0, p);
      if (random() < 0.5) parts.splice(int(random, parts.length + 1), 0, hostileStream(random, { mask: true, frames: 1 + int(random, 4), hostility: mixed(random) }));
    }
    const bytes = Buffer.concat(parts);
    const m = modelFrames(bytes);
    const cuts = randomCuts(random, bytes.length, int(random, 30));
    const ctx = where(round, bytes, cuts);
    const f = new PongFilter();
    f.expect(payload);
    const out: Buffer[] = [];
    // `held`: where the bytes the filter still holds start (bytes.length when none).
    let held = bytes.length;
    for (let c = 0; c + 1 < cuts.length; c++) {
      const from = cuts[c]!, to = cuts[c + 1]!;
      if (f.push(bytes, from, to)) {
        out.push(bytes.subarray(from, to));
        held = bytes.length;
        continue;
      }
      const released = f.replay !== null;
      if (released) out.push(f.replay!);
      out.push(bytes.subarray(from, f.dropStart), bytes.subarray(f.dropEnd, f.keepEnd));
      // A chunk that only extends what an earlier one left held (nothing replayed, nothing
      // of it passed or dropped) keeps the earlier start: the candidate pong still begins
      // there (FUZZ_SEED=3182948577 at 20,000 rounds: a pong header held at 16, the
      // stream's last byte pushed at 21).
      const extendsHold = held < bytes.length && !released && f.dropStart === from && f.dropEnd === from && f.keepEnd === from;
      if (!extendsHold) held = f.keepEnd < to ? f.keepEnd : bytes.length;
    }
    // The first exact pong that starts at a frame boundary before any break is ours.
    let ours = -1;
    for (const b of [0, ...m.frameEnds]) {
      if (b < m.breakAt && isPongFor(bytes, b, payload)) {
        ours = b;
        break;
      }
    }
    if (ours >= 0) oursSeen++;
    const forwarded = Buffer.concat(out);
    const want = ours < 0
      ? bytes.subarray(0, held)
      : Buffer.concat([bytes.subarray(0, ours), bytes.subarray(ours + 14, Math.max(ours + 14, held))]);
    assert.ok(forwarded.equals(want), `forwarded bytes (ours at ${ours}, held from ${held}): ${ctx}`);
    assert.equal(f.awaitingPong, ours < 0, `awaitingPong: ${ctx}`);
  }
  // about a quarter of the rounds (75 of 300): a filter that never dropped would pass the rest
  if (ROUNDS >= 100) assert.ok(oursSeen > 0, `no round had our pong at a frame boundary (FUZZ_SEED=${SEED})`);
});

/** Half the rounds valid streams (the injections get exercised), half hostile ones. */
function mixed(random: () => number): number {
  return random() < 0.5 ? 0 : 0.05 + random() * 0.2;
}

function int(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
