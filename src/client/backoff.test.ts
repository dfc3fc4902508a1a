import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffCeiling, backoffDelay, backoffOptions, DEFAULT_BACKOFF, hintDelay, type BackoffOptions } from "./backoff.ts";
import { playback } from "./testing.kit.ts";

const o: BackoffOptions = { min: 250, max: 30_000, factor: 2, jitter: "full" };

test("backoff ceiling: min·factor^n, capped at max, no overflow on a long outage", () => {
  const cases: [number, number][] = [
    [0, 250], [1, 500], [2, 1000], [3, 2000], [6, 16_000], [7, 30_000], [20, 30_000], [5000, 30_000],
  ];
  for (const [n, want] of cases) assert.equal(backoffCeiling(n, o), want, `attempt ${n}`);
  assert.equal(backoffCeiling(3, { ...o, factor: 1.5, min: 100 }), 337.5);
  assert.equal(backoffCeiling(-1, o), 250, "a negative attempt is the first");
});

test("backoff delay: full jitter scales random in [0, ceiling); equal keeps the upper half; none is the ceiling", () => {
  const cases: [BackoffOptions["jitter"], number, number, number][] = [
    ["full", 0, 0, 0],
    ["full", 0, 0.5, 125],
    ["full", 3, 0.999, 1998],
    ["full", 30, 0.25, 7500],
    ["equal", 2, 0, 500],
    ["equal", 2, 0.5, 750],
    ["none", 2, 0.7, 1000],
    ["none", 9, 0.1, 30_000],
  ];
  for (const [jitter, n, r, want] of cases) {
    assert.equal(backoffDelay(n, { ...o, jitter }, playback([r])), want, `${jitter} attempt ${n} random ${r}`);
  }
});

test("backoff delay: full jitter is uniform over [0, ceiling) (20,000 draws, 10 buckets)", () => {
  const N = 20_000;
  const buckets = new Array<number>(10).fill(0);
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const d = backoffDelay(3, o, Math.random);
    assert.ok(d >= 0 && d < 2000, `delay ${d} outside [0, 2000)`);
    buckets[Math.floor(d / 200)]!++;
    sum += d;
  }
  // Each bucket holds 10% ± 2% (≈ 9 standard deviations: this cannot flake).
  for (const [i, b] of buckets.entries()) assert.ok(Math.abs(b / N - 0.1) < 0.02, `bucket ${i}: ${b}/${N}`);
  assert.ok(Math.abs(sum / N - 1000) < 40, `mean ${sum / N}, expected ~1000`);
});

test("hint delay: the hint plus up to the hint again, at least backoff.min, at most 1 s", () => {
  const cases: [number, number, number, number][] = [
    // hint, backoff.min, random, delay
    [400, 250, 0, 400],
    [400, 250, 0.5, 600],
    [0, 250, 0.5, 125],
    [100, 250, 0.4, 200],
    [2500, 250, 0.5, 3000],
    [10_000, 250, 0.999, 10_999],
    [10_000, 2000, 0.5, 11_000],
  ];
  for (const [hint, min, r, want] of cases) assert.equal(hintDelay(hint, min, playback([r])), want, `hint ${hint} min ${min} random ${r}`);
});

test("backoff options: defaults, and each bad field named", () => {
  assert.deepEqual(backoffOptions(undefined), DEFAULT_BACKOFF);
  assert.deepEqual(backoffOptions({ min: 100, jitter: "none" }), { min: 100, max: 30_000, factor: 2, jitter: "none" });
  const bad: [Partial<BackoffOptions>, RegExp][] = [
    [{ min: -1 }, /backoff\.min/],
    [{ min: Number.NaN }, /backoff\.min/],
    [{ max: 100 }, /backoff\.max .* >= backoff\.min \(250\)/],
    [{ max: Infinity }, /backoff\.max/],
    [{ factor: 0.5 }, /backoff\.factor/],
    [{ jitter: "half" as "full" }, /backoff\.jitter .*"half"/],
  ];
  for (const [opts, msg] of bad) assert.throws(() => backoffOptions(opts), msg, JSON.stringify(opts));
});
