import { LATENCY_BUCKETS, responseTotals } from "../gateway/stats.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";

/**
 * Per-server rates for the dashboard and `holdfast status`: req/s, error rate and
 * latency percentiles, computed from the deltas of the cumulative counters between
 * samples (the way Prometheus' `rate()` and `histogram_quantile()` would), plus the
 * last minute of req/s for the sparklines. Sampled once a second by the admin server:
 * O(servers) per tick, nothing on the data path.
 *
 * @example
 * const rates = new RateTracker();
 * setInterval(() => rates.sample(allServers, performance.now()), 1000);
 * rates.view(server); // { rps: 41.9, errorRate: 0.01, p50Ms: 3.1, p99Ms: 17, history: [...] }
 */

/**
 * What the dashboard shows for one server.
 *
 * @example
 * const v: RateView = rates.view(server);
 */
export interface RateView {
  /** Requests (and tunnels) dispatched per second over the last sample interval. */
  readonly rps: number;
  /** Failed share (5xx or no response) of the exchanges finished in the window; null: none finished. */
  readonly errorRate: number | null;
  /** Latency percentiles (ms, to the response head) over the window; null: no response. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** req/s of each of the last {@link HISTORY} intervals, oldest first. */
  readonly history: readonly number[];
}

/**
 * Seconds of req/s kept for the sparklines.
 *
 * @example
 * rates.view(server).history.length; // up to HISTORY
 */
export const HISTORY = 60;

/**
 * Sample intervals over which error rate and percentiles are computed (a 1 s window
 * would jump around at low traffic).
 *
 * @example
 * rates.view(server).p99Ms; // over the last WINDOW samples
 */
export const WINDOW = 10;

const NB = LATENCY_BUCKETS.length + 1;

/** Ring of cumulative samples for one server. */
class Ring {
  readonly at = new Float64Array(HISTORY + 1);
  readonly requests = new Float64Array(HISTORY + 1);
  readonly responses = new Float64Array(WINDOW + 1);
  readonly errors = new Float64Array(WINDOW + 1);
  readonly buckets = new Float64Array((WINDOW + 1) * NB);
  /** Samples taken so far. */
  n = 0;
}

/**
 * Keeps, per server, a ring of cumulative samples; rates are deltas between them.
 * Servers are keyed weakly: one removed by a reload simply stops being sampled.
 *
 * @example
 * const rates = new RateTracker();
 * rates.sample(servers, performance.now()); // once a second
 * rates.view(servers[0]).rps;
 */
export class RateTracker {
  readonly #rings = new WeakMap<UpstreamServer, Ring>();

  /** Records the current cumulative counters of `servers` at time `now` (ms). */
  sample(servers: Iterable<UpstreamServer>, now: number): void {
    for (const s of servers) {
      let r = this.#rings.get(s);
      if (r === undefined) this.#rings.set(s, (r = new Ring()));
      const h = r.n % (HISTORY + 1);
      const w = r.n % (WINDOW + 1);
      r.at[h] = now;
      r.requests[h] = s.stats.requests;
      const { total, errors } = responseTotals(s.stats);
      r.responses[w] = total;
      r.errors[w] = errors;
      r.buckets.set(s.stats.latency, w * NB);
      r.n++;
    }
  }

  /** The rates of `server` from its samples (zeros before two samples exist). */
  view(server: UpstreamServer): RateView {
    const r = this.#rings.get(server);
    if (r === undefined || r.n < 2) return { rps: 0, errorRate: null, p50Ms: null, p99Ms: null, history: [] };
    const history: number[] = [];
    const count = Math.min(r.n - 1, HISTORY);
    for (let k = r.n - count; k < r.n; k++) {
      const a = (k - 1) % (HISTORY + 1);
      const b = k % (HISTORY + 1);
      const dt = (r.at[b]! - r.at[a]!) / 1000;
      history.push(dt > 0 ? round2((r.requests[b]! - r.requests[a]!) / dt) : 0);
    }
    const span = Math.min(r.n - 1, WINDOW);
    const last = (r.n - 1) % (WINDOW + 1);
    const first = (r.n - 1 - span) % (WINDOW + 1);
    const finished = r.responses[last]! - r.responses[first]!;
    const errors = r.errors[last]! - r.errors[first]!;
    const delta = new Float64Array(NB);
    for (let i = 0; i < NB; i++) delta[i] = r.buckets[last * NB + i]! - r.buckets[first * NB + i]!;
    return {
      rps: history[history.length - 1] ?? 0,
      errorRate: finished > 0 ? errors / finished : null,
      p50Ms: quantileMs(0.5, delta),
      p99Ms: quantileMs(0.99, delta),
      history,
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * The `q` quantile, in ms, of a latency histogram given as non-cumulative bucket counts
 * over {@link LATENCY_BUCKETS} (last = +Inf), interpolated linearly inside the bucket
 * like Prometheus' `histogram_quantile`. In the +Inf bucket it answers the highest
 * finite bound (a floor: "at least 10 s"). Null for an empty histogram.
 *
 * @example
 * quantileMs(0.5, Float64Array.of(0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); // 7.5 (between 5 and 10 ms)
 */
export function quantileMs(q: number, counts: ArrayLike<number>): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && cum + c >= rank) {
      if (i >= LATENCY_BUCKETS.length) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]! * 1000;
      const lo = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
      const hi = LATENCY_BUCKETS[i]!;
      return (lo + ((hi - lo) * (rank - cum)) / c) * 1000;
    }
    cum += c;
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]! * 1000;
}
