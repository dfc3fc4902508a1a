import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BrokerPublication, HistoryResult } from "../broker/types.ts";
import { ChannelCursor, type AcceptResult } from "./cursor.ts";

const p = (offset: number, epoch = "e"): BrokerPublication => ({ offset, epoch, data: String(offset) });
const hist = (top: number, offsets: number[], epoch = "e"): HistoryResult => ({ position: { offset: top, epoch }, publications: offsets.map((o) => p(o, epoch)) });

describe("ChannelCursor.accept", () => {
  const cases: { name: string; start: number; live: (number | [number, string])[]; results: AcceptResult[]; end: number; epoch?: string; gap?: [number, number] | null }[] = [
    { name: "in order", start: 0, live: [1, 2, 3], results: ["deliver", "deliver", "deliver"], end: 3 },
    { name: "duplicates and stale", start: 5, live: [5, 3, 6, 6], results: ["duplicate", "duplicate", "deliver", "duplicate"], end: 6 },
    { name: "a gap holds what follows", start: 5, live: [6, 9, 10, 8], results: ["deliver", "gap", "held", "held"], end: 6, gap: [7, 8] },
    { name: "duplicates while repairing", start: 5, live: [7, 5], results: ["gap", "duplicate"], end: 5, gap: [6, 6] },
    { name: "epoch change moves to the new epoch", start: 5, live: [6, [3, "x"], [4, "x"]], results: ["deliver", "epoch-changed", "deliver"], end: 4, epoch: "x" },
    { name: "epoch change drops a pending repair", start: 5, live: [8, [1, "x"], [2, "x"]], results: ["gap", "epoch-changed", "deliver"], end: 2, epoch: "x", gap: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cursor = new ChannelCursor({ offset: c.start, epoch: "e" });
      const got = c.live.map((x) => cursor.accept(typeof x === "number" ? p(x) : p(x[0], x[1])));
      assert.deepEqual(got, c.results);
      assert.deepEqual(cursor.position, { offset: c.end, epoch: c.epoch ?? "e" });
      const gap = c.gap === undefined || c.gap === null ? null : { from: c.gap[0], to: c.gap[1] };
      assert.deepEqual(cursor.gap, gap);
      assert.equal(cursor.repairing, gap !== null);
    });
  }

  it("delivers publications of a channel without history", () => {
    const cursor = new ChannelCursor({ offset: 0, epoch: "" });
    assert.equal(cursor.accept({ data: "1" }), "deliver");
    assert.equal(cursor.accept({ data: "1" }), "deliver");
  });

  it("overflows when too much is held during a repair", () => {
    const cursor = new ChannelCursor({ offset: 0, epoch: "e" }, { maxHeld: 3 });
    assert.deepEqual([2, 3, 4, 5].map((o) => cursor.accept(p(o))), ["gap", "held", "held", "overflow"]);
    assert.deepEqual(cursor.position, { offset: 5, epoch: "e" });
    assert.equal(cursor.repairing, false);
    assert.equal(cursor.accept(p(6)), "deliver");
  });
});

describe("ChannelCursor.repair", () => {
  const cases: { name: string; start: number; live: number[]; history: HistoryResult; ok: boolean; delivered?: number[]; gap?: [number, number] | null; end: number; epoch?: string; reason?: RegExp }[] = [
    { name: "the missing range and the held ones, in order", start: 5, live: [8, 10, 9], history: hist(10, [6, 7, 8, 9, 10]), ok: true, delivered: [6, 7, 8, 9, 10], gap: null, end: 10 },
    { name: "history older than the held ones", start: 5, live: [8, 9], history: hist(7, [4, 5, 6, 7]), ok: true, delivered: [6, 7, 8, 9], gap: null, end: 9 },
    { name: "a second hole remains: deliver up to it, read again", start: 5, live: [8, 12], history: hist(8, [6, 7, 8]), ok: true, delivered: [6, 7, 8], gap: [9, 11], end: 8 },
    { name: "history no longer has the gap", start: 5, live: [9, 10], history: hist(10, [8, 9, 10]), ok: false, end: 10, reason: /history no longer has offset 6 \(kept: 8\.\.10\)/ },
    { name: "epoch changed under the repair", start: 5, live: [9], history: hist(2, [1, 2], "x"), ok: false, end: 2, epoch: "x", reason: /epoch changed \(e → x\)/ },
    { name: "resync with nothing seen: what history has beyond", start: 5, live: [], history: hist(8, [4, 5, 6, 7, 8]), ok: true, delivered: [6, 7, 8], gap: null, end: 8 },
    { name: "resync with nothing new", start: 5, live: [], history: hist(5, [5]), ok: true, delivered: [], gap: null, end: 5 },
    { name: "resync where history was trimmed past the position", start: 5, live: [], history: hist(16, [15, 16]), ok: false, end: 16, reason: /no longer has offset 6 \(kept: 15\.\.16\)/ },
    { name: "resync where history expired", start: 5, live: [], history: hist(9, []), ok: false, end: 9, reason: /no longer has offset 6 \(kept: none, top 9\)/ },
    { name: "a stale history read that cannot close the gap", start: 5, live: [9], history: hist(5, [5]), ok: false, end: 9, reason: /no longer has offset 6/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cursor = new ChannelCursor({ offset: c.start, epoch: "e" });
      for (const o of c.live) cursor.accept(p(o));
      assert.equal(cursor.repairSince, c.start);
      const r = cursor.repair(c.history);
      assert.equal(r.ok, c.ok);
      if (r.ok) {
        assert.deepEqual(r.publications.map((x) => x.offset), c.delivered);
        assert.deepEqual(r.gap, c.gap === null || c.gap === undefined ? null : { from: c.gap[0], to: c.gap[1] });
      } else {
        assert.match(r.reason, c.reason!);
      }
      assert.deepEqual(cursor.position, { offset: c.end, epoch: c.epoch ?? "e" });
    });
  }

  it("a failed repair leaves a usable cursor at the top", () => {
    const cursor = new ChannelCursor({ offset: 5, epoch: "e" });
    cursor.accept(p(9));
    assert.equal(cursor.repair(hist(9, [8, 9])).ok, false);
    assert.equal(cursor.accept(p(9)), "duplicate");
    assert.equal(cursor.accept(p(10)), "deliver");
  });

  it("every offset is delivered once, in order, whatever the losses (repairs from a full history)", () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const cursor = new ChannelCursor({ offset: 0, epoch: "e" });
      const delivered: number[] = [];
      const total = 50;
      for (let o = 1; o <= total; o++) {
        if (rnd() < 0.3) continue; // lost between broker and node
        const r = cursor.accept(p(o));
        if (r === "deliver") delivered.push(o);
        // the repair read sometimes happens later (more arrives in between)
        if (cursor.repairing && rnd() < 0.5) {
          let res = cursor.repair(hist(o, Array.from({ length: o }, (_, i) => i + 1)));
          while (res.ok) {
            delivered.push(...res.publications.map((x) => x.offset!));
            if (res.gap === null) break;
            res = cursor.repair(hist(o, Array.from({ length: o }, (_, i) => i + 1)));
          }
          assert.ok(res.ok);
        }
      }
      const res = cursor.repair(hist(total, Array.from({ length: total }, (_, i) => i + 1)));
      assert.ok(res.ok);
      delivered.push(...res.publications.map((x) => x.offset!));
      assert.deepEqual(delivered, Array.from({ length: total }, (_, i) => i + 1));
    }
  });
});
