import type { Balancer, PickContext, ServerView } from "./types.ts";
import { drawTwo } from "./weighted.ts";

/**
 * Decay time constant of the latency estimate, in ms (Finagle's and Linkerd's 10 s): a
 * sample's weight falls to 1/e after 10 s.
 *
 * @example
 * Math.exp(-5_000 / EWMA_DECAY_MS); // ≈ 0.61 of an estimate survives 5 s without samples
 */
export const EWMA_DECAY_MS = 10_000;

/**
 * The second candidate wins only when it is more than 10% cheaper than the first. The
 * first is drawn by weight, so servers that perform alike split by weight as in every
 * other policy, instead of by whichever estimate is a hair lower (a sample a few ms
 * older has decayed a little more); a server clearly slower or busier is still avoided.
 *
 * @example
 * // first drawn costs 10: the second wins only below 10 / 1.1 ≈ 9.09
 */
export const TIE_MARGIN = 0.1;

// Latency estimate of one server, in ms, as of `stamp` (ms of the caller's clock).
interface Estimate {
  ewma: number;
  stamp: number;
}

/**
 * Least response time, as peak-EWMA (Finagle's `p2cPeakEwma`, Linkerd's balancer): two
 * candidates drawn by weight, the cheaper wins (the second only by more than
 * {@link TIE_MARGIN}); cost = decayed latency estimate × (load per weight + one average
 * request). Why peak, why decay, why failures never lower the estimate, why p2c rather
 * than the minimum over all servers: docs/algorithms.md#least-response-time-peak-ewma.
 * O(n) per pick, no allocation.
 *
 * @example
 * const b = leastResponseTime();
 * const s = b.pick(servers, ctx)!;
 * // ... when the response head arrives:
 * b.onEnd!(s, 42, true, clock.now());
 */
export function leastResponseTime(): Balancer {
  const estimates = new Map<string, Estimate>();

  function current(e: Estimate | undefined, now: number): number {
    if (e === undefined) return -1;
    const dt = now - e.stamp;
    return dt > 0 ? e.ewma * Math.exp(-dt / EWMA_DECAY_MS) : e.ewma;
  }

  const pair = new Float64Array(3); // drawTwo's output, reused

  function prune(servers: readonly ServerView[]): void {
    const live = new Set<string>();
    for (const s of servers) live.add(s.name);
    for (const name of estimates.keys()) if (!live.has(name)) estimates.delete(name);
  }

  return {
    name: "least-response-time",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      const n = drawTwo(servers, ctx.random, pair);
      if (n <= 1) return n === 0 ? undefined : servers[pair[0]!];
      // Servers removed from the config leave their estimate behind; sweep now and then.
      if (estimates.size > 2 * servers.length + 16) prune(servers);
      const a = servers[pair[0]!]!;
      const b = servers[pair[1]!]!;
      let ea = current(estimates.get(a.name), ctx.now);
      let eb = current(estimates.get(b.name), ctx.now);
      // One or both unmeasured: nothing to compare latencies with, the load decides.
      if (ea < 0 || eb < 0) ea = eb = 1;
      const unit = n / pair[2]!; // 1 / mean weight
      const costA = ea * (a.active / a.weight + unit);
      const costB = eb * (b.active / b.weight + unit);
      return costB * (1 + TIE_MARGIN) < costA ? b : a;
    },
    onEnd(server: ServerView, latencyMs: number, ok: boolean, now: number): void {
      let latency = latencyMs > 0 ? latencyMs : 0;
      const e = estimates.get(server.name);
      if (e === undefined) {
        // A failure is no latency measurement: stay unmeasured (optimistic) instead.
        if (ok) estimates.set(server.name, { ewma: latency, stamp: now });
        return;
      }
      const cur = current(e, now);
      // Held at the undecayed value: with it as the sample, the EWMA stays put.
      if (!ok && latency < e.ewma) latency = e.ewma;
      if (latency >= cur) {
        e.ewma = latency; // peak: jump up at once
      } else {
        const dt = now - e.stamp;
        e.ewma = cur + latency * (dt > 0 ? 1 - Math.exp(-dt / EWMA_DECAY_MS) : 0);
      }
      if (now > e.stamp) e.stamp = now;
    },
  } satisfies Balancer;
}
