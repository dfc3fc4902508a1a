import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzSeed, hostileStream, modelFrames, mulberry32, type FrameModel } from "../../codec/ws/fuzz.kit.ts";
import { randomCuts } from "../../codec/ws/testing.kit.ts";
import type { HandledSocket } from "../sockets.ts";
import type { TimerWheel } from "../timer-wheel.ts";
import type { Tunnel } from "./tunnel.ts";
import { WsTracking } from "./ws-tracking.ts";

/**
 * Seeded fuzzing of the frame-aware tunnel's injections: server streams from
 * codec/ws/fuzz.kit.ts (valid and hostile), cut at random points, with a ping and a
 * close asked for at random moments, checked against the whole-stream model.
 *   FUZZ_SEED=123          replay a run (printed with every failure)
 *   FUZZ_WS_ROUNDS=20000   more rounds (default 300)
 */
const SEED = fuzzSeed();
const ROUNDS = Number(process.env.FUZZ_WS_ROUNDS ?? 300);

function where(round: number, bytes: Buffer, cuts: number[]): string {
  return `round ${round}, replay: FUZZ_SEED=${SEED}; ${bytes.length} bytes ${bytes.subarray(0, 48).toString("hex")}…, cuts ${cuts.join(",")}`;
}

function isBoundary(m: FrameModel, at: number): boolean {
  return at === 0 || m.frameEnds.includes(at);
}

/** A client socket that records writes; forwarded bytes are views of the input's ArrayBuffer. */
class RecordingSocket {
  readonly writes: Buffer[] = [];
  write(b: Buffer): boolean {
    this.writes.push(b);
    return true;
  }
}

test("WsTracking: a ping and a close are injected only at frame boundaries, never inside a frame, nothing after the close", () => {
  const random = mulberry32(SEED);
  // Across the rounds, what was injected and which liveness checks ran: a tracker that
  // never injected anything would pass every per-round check.
  const seen = { pings: 0, closes: 0, pingLive: 0, closeLive: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const bytes = hostileStream(random, { mask: false, hostility: mixed(random) });
    const m = modelFrames(bytes);
    const cuts = randomCuts(random, bytes.length, 1 + int(random, 30));
    const ctx = where(round, bytes, cuts);
    const client = new RecordingSocket();
    const sock = client as unknown as HandledSocket;
    let blind = false;
    const tunnel = { client: sock, close() {}, fallBackToBlind() { blind = true; } } as unknown as Tunnel;
    const wheel = { now: 0, arm() {}, disarm() {} } as unknown as TimerWheel;
    const ws = new WsTracking({ pingInterval: 1000, pongTimeout: 1000 });
    ws.start(tunnel, wheel);
    const pingAt = cuts[int(random, cuts.length)]!;
    const closeAt = random() < 0.7 ? cuts[int(random, cuts.length)]! : -1;
    let pinged = false, closed = false;
    // Where each write starts in the input (forwarded) or what it is (injected).
    const log: { at: number; injected: Buffer | null }[] = [];
    let consumed = 0;
    const record = (): void => {
      for (const w of client.writes.splice(0)) {
        if (w.buffer === bytes.buffer) {
          assert.equal(w.byteOffset - bytes.byteOffset, consumed, `forwarded bytes in order: ${ctx}`);
          consumed += w.length;
          log.push({ at: consumed, injected: null });
        } else log.push({ at: consumed, injected: w });
      }
    };
    for (let c = 0; c < cuts.length; c++) {
      const at = cuts[c]!;
      if (!blind && at === pingAt && !pinged) {
        ws.expire(0);
        pinged = true;
      }
      if (!blind && at === closeAt && !closed && closeAt >= pingAt) {
        ws.close(1012, 500, sock);
        closed = true;
      }
      record();
      if (c + 1 === cuts.length) break;
      const chunk = bytes.subarray(at, cuts[c + 1]!);
      if (blind) client.write(chunk);
      else ws.toClient(chunk, sock);
      record();
    }
    let sawClose = false;
    let injected = 0;
    for (const e of log) {
      if (e.injected === null) {
        assert.ok(!sawClose, `nothing after the close frame: ${ctx}`);
        continue;
      }
      injected++;
      assert.ok(isBoundary(m, e.at) && e.at < m.breakAt, `injected at ${e.at}, not a frame boundary: ${ctx}`);
      const b0 = e.injected[0];
      if (b0 === 0x89) seen.pings++;
      if (b0 === 0x88) seen.closes++;
      assert.ok(b0 === 0x89 || b0 === 0x88, `only pings and closes are injected: ${ctx}`);
      assert.ok(!sawClose, `nothing after the close frame: ${ctx}`);
      if (b0 === 0x88) sawClose = true;
    }
    // Liveness: a ping or close asked for goes out at the next boundary the tracker sees:
    // where it rests when asked, or one inside a later chunk that does not break it.
    const reachable = (from: number): boolean => {
      if (isBoundary(m, from) && from < m.breakAt) return true;
      for (let c = 0; c + 1 < cuts.length; c++) {
        const [a, b] = [cuts[c]!, cuts[c + 1]!];
        if (a >= from && b < m.breakAt && m.frameEnds.some((e) => e > a && e <= b)) return true;
      }
      return false;
    };
    if (pinged && reachable(pingAt) && (!closed || closeAt > pingAt)) {
      seen.pingLive++;
      assert.ok(log.some((e) => e.injected?.[0] === 0x89) || sawClose, `the ping went out: ${ctx}`);
    }
    if (closed && reachable(closeAt)) {
      seen.closeLive++;
      assert.ok(sawClose, `the close went out: ${ctx}`);
    }
    assert.ok(injected <= 2, ctx);
  }
  if (ROUNDS >= 100) {
    // 300 rounds give about 200 pings and 70 closes, each with its liveness check
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no round exercised ${what} (FUZZ_SEED=${SEED}): ${JSON.stringify(seen)}`);
  }
});

/** Half the rounds valid streams (the injections get exercised), half hostile ones. */
function mixed(random: () => number): number {
  return random() < 0.5 ? 0 : 0.05 + random() * 0.2;
}

function int(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
