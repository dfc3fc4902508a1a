import type { Balancer, PickContext, ServerView } from "./types.ts";
import { drawTwo } from "./weighted.ts";

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
  const pair = new Float64Array(3); // drawTwo's output, reused
  return {
    name: "p2c",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      const n = drawTwo(servers, ctx.random, pair);
      if (n <= 1) return n === 0 ? undefined : servers[pair[0]!];
      const a = servers[pair[0]!]!;
      const b = servers[pair[1]!]!;
      // b.active / b.weight < a.active / a.weight, without dividing
      return b.active * a.weight < a.active * b.weight ? b : a;
    },
  } satisfies Balancer;
}
