import type { Balancer, ServerView } from "./types.ts";
import { SmoothWeights, usable } from "./weighted.ts";

/**
 * Weighted least connections, NGINX's least_conn: the available server with the lowest
 * `active / weight`, ties broken by smooth weighted round-robin among the tied servers
 * (so equal servers share, and an idle backend splits by weight). In-flight counts stay
 * proportional to the weights at every concurrency. O(n) per pick, no allocation.
 *
 * Not HAProxy's `(active + 1) / weight`: that ranks by the load *after* the pick, which
 * sends every request of an idle backend to the heaviest server and starves light ones
 * at low concurrency (weights 10:1: the light server gets nothing until ~10 requests are
 * in flight). For hours-long tunnels the long-run share matters more than where one
 * request lands on an idle backend.
 *
 * @example
 * const b = weightedLeastConn();
 * // weights a=2, b=1, requests held open: after 9 picks a holds 6, b holds 3
 * b.pick(servers, ctx);
 */
export function weightedLeastConn(): Balancer {
  const sw = new SmoothWeights();
  return {
    name: "weighted-least-conn",
    pick(servers: readonly ServerView[]): ServerView | undefined {
      // Compare a/wa with b/wb by cross-multiplying: exact ties stay exact.
      let bestActive = 0;
      let bestW = 0;
      let ties = 0;
      let only = -1;
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i]!;
        const w = usable(s);
        if (w === 0) continue;
        const d = only < 0 ? -1 : s.active * bestW - bestActive * w;
        if (d < 0) {
          bestActive = s.active;
          bestW = w;
          ties = 1;
          only = i;
        } else if (d === 0) ties++;
      }
      if (ties <= 1) return only < 0 ? undefined : servers[only];
      const current = sw.sync(servers);
      let best = -1;
      let top = -Infinity;
      let total = 0;
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i]!;
        const w = usable(s);
        if (w === 0 || s.active * bestW !== bestActive * w) continue;
        total += w;
        const c = current[i]! + w;
        current[i] = c;
        if (c > top) {
          top = c;
          best = i;
        }
      }
      current[best] = current[best]! - total;
      return servers[best];
    },
  } satisfies Balancer;
}
