import type { Balancer, ServerView } from "./types.ts";
import { SmoothWeights, usable } from "./weighted.ts";

/**
 * Smooth weighted round-robin, exactly NGINX's (`ngx_http_upstream_get_peer`): at each
 * pick every available server's current weight grows by its effective weight, the
 * largest wins (first on ties) and loses the total. Weights 5:1:1 give `a a b a c a a`,
 * never `a a a a a b c`: the heaviest server gets no bursts. Fractional weights work
 * as is. O(n) per pick, no allocation.
 *
 * Current weights are kept per server name, so a join, leave or reorder does not reset
 * the others; an unavailable server keeps its current weight and resumes from it.
 *
 * @example
 * const b = weightedRoundRobin();
 * // weights a=5, b=1, c=1 → a, a, b, a, c, a, a, then again
 * b.pick(servers, ctx);
 */
export function weightedRoundRobin(): Balancer {
  const sw = new SmoothWeights();
  return {
    name: "weighted-round-robin",
    pick(servers: readonly ServerView[]): ServerView | undefined {
      const current = sw.sync(servers);
      let best = -1;
      let top = -Infinity;
      let total = 0;
      for (let i = 0; i < servers.length; i++) {
        const w = usable(servers[i]!);
        if (w === 0) continue;
        total += w;
        const c = current[i]! + w;
        current[i] = c;
        if (c > top) {
          top = c;
          best = i;
        }
      }
      if (best < 0) return undefined;
      current[best] = current[best]! - total;
      return servers[best];
    },
  } satisfies Balancer;
}
