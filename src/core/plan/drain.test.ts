import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseSchedule, planDrain, spreadCloses, type ScheduledClose } from "./drain.ts";
import { maxInWindow, mulberry32 } from "./testing.kit.ts";

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

function assertPlanShape<Id>(plan: readonly ScheduledClose<Id>[], input: readonly Id[], begin: number, window: number): void {
  assert.equal(plan.length, input.length);
  assert.deepEqual(new Set(plan.map((c) => c.id)), new Set(input));
  const slot = window / input.length;
  plan.forEach((c, k) => {
    if (k > 0) assert.ok(plan[k - 1]!.at <= c.at, "sorted by time");
    // stratified: the k-th close is inside the k-th slot
    if (window > 0) assert.ok(c.at >= begin + k * slot && c.at < begin + (k + 1) * slot, `close ${k} at ${c.at}`);
    else assert.equal(c.at, begin);
  });
}

test("spreadCloses: the JSDoc example, determinism, one close per slot", () => {
  assert.deepEqual(spreadCloses(["a", "b"], 1000, 10_000, () => 0.5), [
    { id: "a", at: 3500 },
    { id: "b", at: 8500 },
  ]);
  assert.deepEqual(spreadCloses(ids(50), 0, 1000, mulberry32(9)), spreadCloses(ids(50), 0, 1000, mulberry32(9)));
  assert.deepEqual(spreadCloses([], 0, 1000, mulberry32(1)), []);
  for (const [n, window] of [[1, 10_000], [7, 1000], [1000, 10_000], [3, 0], [10, -5]] as const) {
    assertPlanShape(spreadCloses(ids(n), 500, window, mulberry32(n)), ids(n), 500, Math.max(0, window));
  }
});

test("spreadCloses: one draw per swap, then one per slot, in that order; the input is left as it was", () => {
  // Fisher–Yates over 2 ids takes one draw (j for i = 1), then each slot one: a draw
  // taken for a needless i = 0 swap would shift every time after it.
  const draws = [0, 0.25, 0.75, 0.5];
  const input = ["a", "b"];
  assert.deepEqual(spreadCloses(input, 0, 1000, () => draws.shift()!), [
    { id: "b", at: 125 },
    { id: "a", at: 875 },
  ]);
  assert.deepEqual(input, ["a", "b"], "the caller's ids are not shuffled in place");
});

test("spreadCloses: the order is shuffled, not the input order", () => {
  const plan = spreadCloses(ids(1000), 0, 10_000, mulberry32(2));
  const firstHundred = plan.slice(0, 100).map((c) => c.id);
  assert.ok(firstHundred.filter((id) => id < 100).length < 30, "the first tenth of the closes is not the first tenth of the ids");
});

test("spreadCloses: no window of w holds more than ⌈w·n/window⌉ + 1 closes", () => {
  const cases: [n: number, window: number, w: number][] = [
    [1000, 10_000, 1000],
    [1000, 10_000, 250],
    [10_000, 10_000, 1000],
    [37, 10_000, 1000],
    [5, 10_000, 1000],
    [1000, 53_000, 1000],
  ];
  for (const [n, window, w] of cases) {
    const bound = Math.ceil((w * n) / window) + 1;
    for (let seed = 1; seed <= 20; seed++) {
      const times = spreadCloses(ids(n), 0, window, mulberry32(seed)).map((c) => c.at);
      assert.ok(maxInWindow(times, w) <= bound, `n ${n} window ${window} w ${w} seed ${seed}`);
    }
  }
});

test("planDrain: 1,000 tunnels, drainTimeout 30 s, default spread 10 s: ≤ 10.1% in any 1 s", () => {
  // X = 10.1%: the ideal is 1/10 of the closes per second; stratification guarantees
  // at most one more than that (101) in any 1 s, whatever the random draws. With the
  // caller's 100 ms timer each close fires up to 100 ms late: ≤ 111 (11.1%).
  for (let seed = 1; seed <= 20; seed++) {
    const plan = planDrain(ids(1000), { start: 5000, drainTimeout: 30_000 }, mulberry32(seed));
    assertPlanShape(plan, ids(1000), 35_000, 10_000);
    assert.ok(plan[0]!.at >= 35_000 && plan.at(-1)!.at < 45_000);
    assert.ok(maxInWindow(plan.map((c) => c.at), 1000) <= 101, `seed ${seed}`);
    const fired = plan.map((c) => Math.ceil(c.at / 100) * 100);
    assert.ok(maxInWindow(fired, 1000) <= 111, `seed ${seed}, 100 ms timer`);
  }
});

test("planDrain: timing table", () => {
  const cases: { name: string; timing: Parameters<typeof planDrain>[1]; begin: number; window: number }[] = [
    { name: "explicit spread", timing: { start: 0, drainTimeout: 30_000, drainSpread: 5000 }, begin: 30_000, window: 5000 },
    { name: "default spread", timing: { start: 100, drainTimeout: 0 }, begin: 100, window: 10_000 },
    { name: "no spread: all at the timeout", timing: { start: 0, drainTimeout: 1000, drainSpread: 0 }, begin: 1000, window: 0 },
    { name: "negative timeout counts as 0", timing: { start: 50, drainTimeout: -1, drainSpread: 100 }, begin: 50, window: 100 },
  ];
  for (const c of cases) assertPlanShape(planDrain(ids(20), c.timing, mulberry32(4)), ids(20), c.begin, c.window);
});

test("CloseSchedule: due pops what is due, in order, once", () => {
  const s = new CloseSchedule([
    { id: "c", at: 300 },
    { id: "a", at: 100 },
    { id: "b", at: 200 },
    { id: "d", at: 300 },
  ]);
  assert.equal(s.size, 4);
  assert.equal(s.nextAt, 100);
  assert.deepEqual(s.due(99), []);
  assert.deepEqual(s.due(100), ["a"]);
  assert.deepEqual(s.due(100), []);
  assert.equal(s.nextAt, 200);
  assert.deepEqual(s.due(1000), ["b", "c", "d"]);
  assert.equal(s.size, 0);
  assert.equal(s.nextAt, undefined);
  assert.deepEqual(s.due(2000), []);
});

test("CloseSchedule: sorts a descending plan, and keeps its own copy of what it is given", () => {
  const descending = [
    { id: "b", at: 200 },
    { id: "a", at: 100 },
  ];
  const s = new CloseSchedule(descending);
  assert.deepEqual(descending.map((c) => c.id), ["b", "a"], "the caller's array is not sorted in place");
  assert.deepEqual(s.due(150), ["a"]);
  assert.deepEqual(s.due(200), ["b"]);

  const sorted = [
    { id: "x", at: 10 },
    { id: "y", at: 20 },
  ];
  const t = new CloseSchedule(sorted);
  sorted.length = 0; // the caller reuses its array
  assert.equal(t.size, 2);
  assert.deepEqual(t.due(20), ["x", "y"]);
});

test("CloseSchedule: a coarse timer over a real drain plan closes every tunnel exactly once", () => {
  const plan = planDrain(ids(1000), { start: 0, drainTimeout: 30_000, drainSpread: 10_000 }, mulberry32(11));
  const s = new CloseSchedule(plan);
  const closed: number[] = [];
  for (let now = 0; s.size > 0; now += 250) {
    for (const id of s.due(now)) {
      assert.ok(now >= 30_000 && now < 40_250, String(now));
      closed.push(id);
    }
  }
  assert.deepEqual(closed, plan.map((c) => c.id));
});
