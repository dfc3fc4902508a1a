/**
 * Test helpers for the control-plane decisions: the seeded PRNG shared with the
 * balancer tests and a sliding-window counter for "no more than X closes per second".
 * PURE; used by the tests only.
 *
 * @example
 * const plan = planDrain(ids, { start: 0, drainTimeout: 30_000 }, mulberry32(1));
 * maxInWindow(plan.map((c) => c.at), 1000); // ≤ 101 for 1,000 ids
 */
export { mulberry32 } from "../balance/testing.kit.ts";

/**
 * The largest number of `times` inside any half-open window `[t, t + window)`.
 *
 * @example
 * maxInWindow([0, 500, 999, 1000, 1500], 1000); // 3: 0, 500, 999 (or 500, 999, 1000)
 */
export function maxInWindow(times: readonly number[], window: number): number {
  const t = times.slice().sort((a, b) => a - b);
  let max = 0;
  let first = 0;
  for (let i = 0; i < t.length; i++) {
    while (t[i]! - t[first]! >= window) first++;
    max = Math.max(max, i - first + 1);
  }
  return max;
}
