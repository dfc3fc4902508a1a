import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { StreamPosition } from "../../protocol/hub.ts";
import type { BrokerPublication, HistoryResult } from "../broker/types.ts";
import { ChannelCursor } from "./cursor.ts";
import { decideRecovery, type RecoveryOutcome } from "./recovery.ts";

const p = (offset: number, epoch = "e"): BrokerPublication => ({ offset, epoch, data: JSON.stringify(offset) });
const range = (from: number, to: number, epoch = "e"): BrokerPublication[] => Array.from({ length: to - from + 1 }, (_, i) => p(from + i, epoch));
const hist = (top: number, offsets: number[], epoch = "e"): HistoryResult => ({ position: { offset: top, epoch }, publications: offsets.map((o) => p(o, epoch)) });
const offsets = (ps: readonly BrokerPublication[]): number[] => ps.map((x) => x.offset!);
const seq = (from: number, to: number): number[] => offsets(range(from, to));

interface Case {
  name: string;
  since?: StreamPosition;
  history: HistoryResult | null;
  buffered?: BrokerPublication[];
  outcome: RecoveryOutcome;
  publications: number[];
  position: StreamPosition;
}

const cases: Case[] = [
  { name: "fresh subscribe: the top, nothing replayed", history: hist(9, []), outcome: "fresh", publications: [], position: { offset: 9, epoch: "e" } },
  { name: "fresh subscribe on a new channel", history: hist(0, [], "n"), outcome: "fresh", publications: [], position: { offset: 0, epoch: "n" } },
  { name: "no history on the channel", history: null, since: { offset: 3, epoch: "e" }, outcome: "no_history", publications: [], position: { offset: 0, epoch: "" } },
  { name: "nothing missed", since: { offset: 9, epoch: "e" }, history: hist(9, []), outcome: "recovered", publications: [], position: { offset: 9, epoch: "e" } },
  { name: "nothing ever published, since 0", since: { offset: 0, epoch: "e" }, history: hist(0, []), outcome: "recovered", publications: [], position: { offset: 0, epoch: "e" } },
  { name: "missed 5..9, all in history", since: { offset: 4, epoch: "e" }, history: hist(9, seq(5, 9)), outcome: "recovered", publications: seq(5, 9), position: { offset: 9, epoch: "e" } },
  { name: "history also returns older entries: skipped", since: { offset: 4, epoch: "e" }, history: hist(9, seq(1, 9)), outcome: "recovered", publications: seq(5, 9), position: { offset: 9, epoch: "e" } },
  {
    name: "buffered overlap history: de-duplicated, extended past the top",
    since: { offset: 4, epoch: "e" },
    history: hist(9, seq(5, 9)),
    buffered: [p(8), p(9), p(10), p(11)],
    outcome: "recovered",
    publications: seq(5, 11),
    position: { offset: 11, epoch: "e" },
  },
  {
    name: "buffered out of order and repeated",
    since: { offset: 4, epoch: "e" },
    history: hist(6, seq(5, 6)),
    buffered: [p(8), p(7), p(7), p(9)],
    outcome: "recovered",
    publications: seq(5, 9),
    position: { offset: 9, epoch: "e" },
  },
  {
    name: "a hole in the buffer after the top: recovered up to it (the cursor repairs the rest)",
    since: { offset: 4, epoch: "e" },
    history: hist(9, seq(5, 9)),
    buffered: [p(10), p(12), p(13)],
    outcome: "recovered",
    publications: seq(5, 10),
    position: { offset: 10, epoch: "e" },
  },
  {
    name: "buffered from another epoch are ignored",
    since: { offset: 4, epoch: "e" },
    history: hist(5, [5]),
    buffered: [p(6, "x"), p(7, "x")],
    outcome: "recovered",
    publications: [5],
    position: { offset: 5, epoch: "e" },
  },
  { name: "epoch changed", since: { offset: 4, epoch: "old" }, history: hist(9, seq(1, 9)), outcome: "epoch_changed", publications: [], position: { offset: 9, epoch: "e" } },
  { name: "epoch regenerated, offsets restarted", since: { offset: 40, epoch: "old" }, history: hist(0, [], "new"), outcome: "epoch_changed", publications: [], position: { offset: 0, epoch: "new" } },
  { name: "history trimmed past since+1", since: { offset: 4, epoch: "e" }, history: hist(9, seq(6, 9)), outcome: "too_old", publications: [], position: { offset: 9, epoch: "e" } },
  {
    name: "a recovered run must reach history's top",
    since: { offset: 4, epoch: "e" },
    history: hist(9, [5, 6, 7]),
    buffered: [p(9), p(10)],
    outcome: "hole",
    publications: [],
    position: { offset: 9, epoch: "e" },
  },
  {
    name: "history trimmed, even if the buffer has the rest",
    since: { offset: 4, epoch: "e" },
    history: hist(9, seq(7, 9)),
    buffered: [p(5), p(10)],
    outcome: "too_old",
    publications: [],
    position: { offset: 9, epoch: "e" },
  },
  { name: "history expired entirely", since: { offset: 4, epoch: "e" }, history: hist(9, []), outcome: "too_old", publications: [], position: { offset: 9, epoch: "e" } },
  { name: "a hole in history", since: { offset: 4, epoch: "e" }, history: hist(9, [5, 6, 8, 9]), outcome: "hole", publications: [], position: { offset: 9, epoch: "e" } },
  {
    name: "history stops short of its top",
    since: { offset: 4, epoch: "e" },
    history: hist(9, [5, 6, 7]),
    buffered: [p(10)],
    outcome: "hole",
    publications: [],
    position: { offset: 9, epoch: "e" },
  },
  {
    name: "history stops short but the buffer holds the rest: merged",
    since: { offset: 4, epoch: "e" },
    history: hist(9, [5, 6, 7]),
    buffered: [p(8), p(9)],
    outcome: "recovered",
    publications: seq(5, 9),
    position: { offset: 9, epoch: "e" },
  },
  { name: "since beyond the top", since: { offset: 12, epoch: "e" }, history: hist(9, []), outcome: "ahead", publications: [], position: { offset: 9, epoch: "e" } },
  { name: "since negative", since: { offset: -1, epoch: "e" }, history: hist(9, seq(1, 9)), outcome: "ahead", publications: [], position: { offset: 9, epoch: "e" } },
  { name: "since not an integer", since: { offset: 2.5, epoch: "e" }, history: hist(9, seq(1, 9)), outcome: "ahead", publications: [], position: { offset: 9, epoch: "e" } },
];

describe("decideRecovery: all or nothing", () => {
  for (const c of cases) {
    it(c.name, () => {
      const d = decideRecovery({ since: c.since, history: c.history, buffered: c.buffered ?? [] });
      assert.equal(d.outcome, c.outcome);
      assert.equal(d.recovered, c.outcome === "recovered");
      assert.deepEqual(offsets(d.publications), c.publications);
      assert.deepEqual(d.position, c.position);
      if (d.recovered) {
        // the invariant: contiguous from since+1 to position, in one epoch
        const from = c.since!.offset + 1;
        assert.deepEqual(offsets(d.publications), from <= d.position.offset ? seq(from, d.position.offset) : []);
        assert.ok(d.publications.every((x) => x.epoch === d.position.epoch));
      } else {
        assert.deepEqual(d.publications, []);
      }
    });
  }

  it("never a partial replay: random trims, holes and buffers", () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const top = Math.floor(rnd() * 20);
      const kept = Math.floor(rnd() * (top + 1));
      let hOffsets = seq(top - kept + 1, top);
      if (rnd() < 0.2 && hOffsets.length > 2) hOffsets = hOffsets.filter((_, j) => j !== 1);
      const since = Math.floor(rnd() * 25) - 2;
      const buffered = range(Math.max(1, top - 2), top + Math.floor(rnd() * 4)).filter(() => rnd() < 0.8);
      const d = decideRecovery({ since: { offset: since, epoch: "e" }, history: hist(top, hOffsets), buffered });
      if (d.recovered) {
        assert.deepEqual(offsets(d.publications), since + 1 <= d.position.offset ? seq(since + 1, d.position.offset) : []);
        assert.ok(d.position.offset >= top);
      } else {
        assert.equal(d.publications.length, 0);
        assert.equal(d.position.offset, top);
      }
    }
  });

  it("with the cursor: the buffer's tail is delivered once, a hole in it is repaired", () => {
    const history = hist(9, seq(5, 9));
    const buffered = [p(8), p(9), p(10), p(12), p(13)];
    const d = decideRecovery({ since: { offset: 4, epoch: "e" }, history, buffered });
    assert.deepEqual(offsets(d.publications), seq(5, 10));
    const cursor = new ChannelCursor(d.position);
    assert.deepEqual(
      buffered.map((x) => cursor.accept(x)),
      ["duplicate", "duplicate", "duplicate", "gap", "held"],
    );
    assert.deepEqual(cursor.gap, { from: 11, to: 11 });
    const r = cursor.repair(hist(13, seq(1, 13)));
    assert.ok(r.ok);
    assert.deepEqual(offsets(r.publications), [11, 12, 13]);
    assert.deepEqual(cursor.position, { offset: 13, epoch: "e" });
  });
});
