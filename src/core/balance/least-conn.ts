import type { Balancer, ServerView } from "./types.ts";
import { SmoothWeights, usable } from "./weighted.ts";

/**
 * Least connections: the available server with the fewest `active` (in-flight requests
 * plus open tunnels, so a server holding many WebSockets is avoided). Weights only
 * break ties, through smooth weighted round-robin among the tied servers as NGINX's
 * least_conn does: equal servers share instead of the first one taking every tie, and
 * when all are idle the split follows the weights. Use `weighted-least-conn` to make
 * weights count under load too. O(n) per pick, no allocation.
 *
 * @example
 * const b = leastConn();
 * // active a=3, b=1, c=1 → b, then (b now 2) c, ...
 * b.pick(servers, ctx);
 */
export function leastConn(): Balancer {
  const sw = new SmoothWeights();
  return {
    name: "least-conn",
    pick(servers: readonly ServerView[]): ServerView | undefined {
      let min = Infinity;
      let ties = 0;
      let only = -1;
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i]!;
        if (usable(s) === 0) continue;
        if (s.active < min) {
          min = s.active;
          ties = 1;
          only = i;
        } else if (s.active === min) ties++;
      }
      if (ties <= 1) return only < 0 ? undefined : servers[only];
      const current = sw.sync(servers);
      let best = -1;
      let top = -Infinity;
      let total = 0;
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i]!;
        const w = usable(s);
        if (w === 0 || s.active !== min) continue;
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
