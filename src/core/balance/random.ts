import type { Balancer, PickContext, ServerView } from "./types.ts";
import { usableWeight, weightedDraw } from "./weighted.ts";

/**
 * Weighted random: each available server with probability weight / Σweight, drawn
 * with `ctx.random`. Stateless, so it needs no coordination between workers; fair only
 * on average (short runs can repeat a server). O(n) per pick, no allocation.
 *
 * @example
 * const b = random();
 * b.pick(servers, { key: undefined, now: 0, random: mulberry32(42) });
 */
export function random(): Balancer {
  return {
    name: "random",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      const total = usableWeight(servers);
      if (total === 0) return undefined;
      return servers[weightedDraw(servers, total, ctx.random(), -1)];
    },
  } satisfies Balancer;
}
