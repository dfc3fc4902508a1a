import assert from "node:assert/strict";
import { test } from "node:test";
import { LATENCY_BUCKETS, ServerStats } from "../gateway/stats.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import { HISTORY, quantileMs, RateTracker, WINDOW } from "./rates.ts";

const NB = LATENCY_BUCKETS.length + 1;

function counts(at: Record<number, number>): Float64Array {
  const c = new Float64Array(NB);
  for (const [i, n] of Object.entries(at)) c[Number(i)] = n;
  return c;
}

test("quantileMs interpolates inside the bucket like histogram_quantile", () => {
  const cases: { name: string; q: number; c: Float64Array; want: number | null }[] = [
    { name: "empty", q: 0.5, c: counts({}), want: null },
    { name: "one bucket, median", q: 0.5, c: counts({ 3: 10 }), want: 7.5 }, // (5 ms, 10 ms]
    { name: "first bucket starts at 0", q: 0.5, c: counts({ 0: 4 }), want: 0.5 },
    { name: "p99 lands in the slow bucket", q: 0.99, c: counts({ 0: 98, 6: 2 }), want: 75 }, // (50, 100] ms, half-way
    { name: "+Inf answers the highest bound", q: 0.99, c: counts({ 0: 1, [NB - 1]: 99 }), want: 10_000 },
  ];
  for (const k of cases) {
    const got = quantileMs(k.q, k.c);
    if (k.want === null) assert.equal(got, null, k.name);
    else assert.ok(got !== null && Math.abs(got - k.want) < 1e-9, `${k.name}: got ${got}, want ${k.want}`);
  }
});

function fakeServer(): UpstreamServer {
  return { stats: new ServerStats() } as unknown as UpstreamServer;
}

test("RateTracker: req/s per interval, error rate and percentiles over the window, a minute of history", () => {
  const s = fakeServer();
  const rates = new RateTracker();
  assert.deepEqual(rates.view(s), { rps: 0, errorRate: null, p50Ms: null, p99Ms: null, history: [] });
  let now = 0;
  rates.sample([s], now);
  // 1 s with 20 requests, 2 of them 5xx, latencies 2 ms
  for (let i = 0; i < 20; i++) {
    s.stats.requests++;
    s.stats.response(0, i < 2 ? 503 : 200, 2, 10, 10);
  }
  rates.sample([s], (now += 1000));
  let v = rates.view(s);
  assert.equal(v.rps, 20);
  assert.equal(v.errorRate, 0.1);
  // all 20 in the (1 ms, 2.5 ms] bucket: interpolated at 50% and 99% of its width
  assert.ok(v.p50Ms !== null && Math.abs(v.p50Ms - 1.75) < 1e-9, `p50 ${v.p50Ms}`);
  assert.ok(v.p99Ms !== null && Math.abs(v.p99Ms - 2.485) < 1e-9, `p99 ${v.p99Ms}`);
  assert.deepEqual(v.history, [20]);
  // a half-second interval with 5 requests is 10 req/s
  for (let i = 0; i < 5; i++) s.stats.requests++;
  rates.sample([s], (now += 500));
  assert.equal(rates.view(s).rps, 10);
  // quiet for longer than the window: errors and percentiles fall back to null, history keeps HISTORY points
  for (let i = 0; i < HISTORY + 5; i++) rates.sample([s], (now += 1000));
  v = rates.view(s);
  assert.equal(v.rps, 0);
  assert.equal(v.errorRate, null);
  assert.equal(v.p99Ms, null);
  assert.equal(v.history.length, HISTORY);
  assert.ok(WINDOW < HISTORY);
});
