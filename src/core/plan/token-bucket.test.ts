import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "./testing.kit.ts";
import { jitteredRetryAfter, TokenBucket } from "./token-bucket.ts";

test("TokenBucket: scripted sequences under a virtual clock", () => {
  type Step = [now: number, op: "take" | "take2" | "retry" | "available", want: boolean | number];
  const cases: { name: string; rate: number; burst: number; steps: Step[] }[] = [
    {
      name: "starts full, empties, refills one token per 1/rate",
      rate: 10,
      burst: 2,
      steps: [[0, "retry", 0], [0, "take", true], [0, "retry", 0], [0, "take", true], [0, "take", false], [0, "retry", 100], [99, "take", false], [99, "retry", 1], [100, "take", true], [100, "take", false]],
    },
    {
      name: "refill caps at burst",
      rate: 10,
      burst: 2,
      steps: [[0, "take2", true], [60_000, "available", 2], [60_000, "take", true], [60_000, "take", true], [60_000, "take", false]],
    },
    {
      name: "a non-integer period rounds the retry up; a full bucket holds no more than burst",
      rate: 3,
      burst: 1,
      steps: [[0, "take", true], [0, "retry", 334], [333, "take", false], [333, "retry", 1], [334, "take", true], [334, "retry", 334]],
    },
    {
      name: "fractional rate: one token per 2 s",
      rate: 0.5,
      burst: 1,
      steps: [[0, "take", true], [0, "retry", 2000], [1999, "take", false], [2000, "take", true]],
    },
    {
      name: "take(n) is all or nothing",
      rate: 1,
      burst: 3,
      steps: [[0, "take2", true], [0, "take2", false], [0, "available", 1], [0, "take", true], [1000, "take2", false], [2000, "take2", true]],
    },
    {
      name: "a clock stepping back refills nothing and spends nothing twice",
      rate: 10,
      burst: 1,
      steps: [[1000, "take", true], [500, "take", false], [500, "retry", 100], [1050, "take", false], [1100, "take", true]],
    },
  ];
  for (const c of cases) {
    const b = new TokenBucket(c.rate, c.burst, 0);
    for (const [i, [now, op, want]] of c.steps.entries()) {
      const got = op === "take" ? b.take(now) : op === "take2" ? b.take(now, 2) : op === "retry" ? b.retryAfterMs(now) : b.available(now);
      assert.equal(got, want, `${c.name}: step ${i} (${op} at ${now})`);
    }
  }
});

test("TokenBucket: exact over an hour of 1 ms polling (integer arithmetic, no drift)", () => {
  // burst ≥ 2 so the bucket never overflows while polled (with burst 1 it is full at
  // 333.3 ms and the poll at 334 wastes the rest, as a full bucket should).
  for (const [rate, burst] of [[3, 2], [7, 3], [200, 400], [0.5, 1]] as const) {
    const b = new TokenBucket(rate, burst, 0);
    let granted = 0;
    for (let now = 0; now <= 3_600_000; now++) if (b.take(now)) granted++;
    assert.equal(granted, burst + Math.floor(rate * 3600), `rate ${rate} burst ${burst}`);
  }
});

test("TokenBucket: waiting retryAfterMs is always enough and never more than needed", () => {
  const random = mulberry32(7);
  for (const [rate, burst] of [[3, 1], [7, 2], [250, 10], [0.3, 1]] as const) {
    const b = new TokenBucket(rate, burst, 0);
    let now = 0;
    for (let i = 0; i < 500; i++) {
      while (b.take(now));
      const wait = b.retryAfterMs(now);
      assert.ok(wait > 0);
      assert.equal(b.available(now + wait - 1), 0, `rate ${rate}: a token before ${wait} ms`);
      assert.ok(b.available(now + wait) >= 1, `rate ${rate}: no token after the ${wait} ms it said`);
      now += wait + Math.floor(random() * 3 * wait);
      assert.ok(b.take(now));
    }
  }
  assert.equal(new TokenBucket(1, 2, 0).retryAfterMs(0, 3), Infinity);
});

test("TokenBucket: rejects a rate or burst it cannot honour", () => {
  for (const [rate, burst] of [[0, 1], [-1, 1], [NaN, 1], [Infinity, 1], [1, 0], [1, 1.5]]) {
    assert.throws(() => new TokenBucket(rate!, burst!, 0), RangeError, `${rate}/${burst}`);
  }
  // The message names the setting and the value it got.
  assert.throws(() => new TokenBucket(-1, 1, 0), { message: "rate must be a positive number, got -1" });
  assert.throws(() => new TokenBucket(1, 1.5, 0), { message: "burst must be an integer ≥ 1, got 1.5" });
});

test("jitteredRetryAfter: uniform over [ms, 2ms), seconds rounded up and at least 1", () => {
  const cases: [ms: number, r: number, want: { ms: number; seconds: number }][] = [
    [1000, 0, { ms: 1000, seconds: 1 }],
    [1000, 0.999999, { ms: 1999, seconds: 2 }],
    [1000, 0.5, { ms: 1500, seconds: 2 }],
    [5, 0.5, { ms: 7, seconds: 1 }],
    [333.3, 0, { ms: 334, seconds: 1 }],
    [0, 0.7, { ms: 0, seconds: 1 }],
    [-5, 0.7, { ms: 0, seconds: 1 }],
    [30_000, 0.25, { ms: 37_500, seconds: 38 }],
  ];
  for (const [ms, r, want] of cases) assert.deepEqual(jitteredRetryAfter(ms, () => r), want, `${ms} @ ${r}`);
  assert.throws(() => jitteredRetryAfter(Infinity, () => 0), { name: "RangeError", message: "a retry hint needs a finite delay, got Infinity" });

  // 10,000 refused clients told "1 s": no one early, none as late as 2 s, and no 100 ms
  // bucket holds more than 10% + 1.5 points of them.
  const random = mulberry32(3);
  const bins = new Array<number>(10).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const { ms } = jitteredRetryAfter(1000, random);
    assert.ok(ms >= 1000 && ms < 2000, String(ms));
    bins[Math.floor((ms - 1000) / 100)]!++;
  }
  for (const n of bins) assert.ok(n > 850 && n < 1150, `bins ${bins.join(" ")}`);
});
