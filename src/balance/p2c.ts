import type { Balancer, PickContext, ServerView } from "./types.ts";
import { usable, weightedDraw } from "./weighted.ts";

/**
 * Power of two choices (Mitzenmacher): draw two distinct available servers at random by
 * weight, keep the one with the lower `active / weight` (the first drawn on ties, so
 * idle traffic splits by weight). Nearly as even as least-conn, but two random
 * candidates do not herd every worker onto the same "least loaded" server between
 * counter updates, and the most loaded server is never chosen (unless tied). O(n) per
 * pick for the weighted draws, no allocation.
 *
 * @example
 * const b = p2c();
 * b.pick(servers, { key: undefined, now: 0, random: mulberry32(42) });
 */
export function p2c(): Balancer {
  return {
    name: "p2c",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      let total = 0;
      let count = 0;
      let only = -1;
      for (let i = 0; i < servers.length; i++) {
        const w = usable(servers[i]!);
        if (w === 0) continue;
        total += w;
        count++;
        only = i;
      }
      if (count <= 1) return only < 0 ? undefined : servers[only];
      const ia = weightedDraw(servers, total, ctx.random(), -1);
      const a = servers[ia]!;
      const b = servers[weightedDraw(servers, total - a.weight, ctx.random(), ia)]!;
      // b.active / b.weight < a.active / a.weight, without dividing
      return b.active * a.weight < a.active * b.weight ? b : a;
    },
  } satisfies Balancer;
}
