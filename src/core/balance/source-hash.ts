import type { Balancer, PickContext, ServerView } from "./types.ts";
import { hash32 } from "./hash.ts";
import { weightedRoundRobin } from "./weighted-round-robin.ts";
import { usableWeight, weightedDraw } from "./weighted.ts";

const TWO_32 = 2 ** 32;

/**
 * Source hash, map-based like HAProxy's default `hash-type map-based`: the key's hash,
 * read as a fraction of 2³², lands in the available servers' weights laid end to end.
 * Same key and same set → same server. Any change in the set (a server down, added,
 * reweighted) remaps keys beyond the ones that had to move: use `consistent-hash`,
 * `maglev` or `bounded-hash` when that matters. O(n + key length) per pick, no table,
 * no allocation.
 *
 * No key (`ctx.key === undefined`: the configured header, cookie... is absent) falls back
 * to smooth weighted round-robin; the caller logs that at debug.
 *
 * @example
 * const b = sourceHash();
 * b.pick(servers, { key: "203.0.113.7", now, random }); // the same server every time
 */
export function sourceHash(): Balancer {
  const fallback = weightedRoundRobin();
  return {
    name: "source-hash",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      if (ctx.key === undefined) return fallback.pick(servers, ctx);
      const total = usableWeight(servers);
      if (total === 0) return undefined;
      return servers[weightedDraw(servers, total, hash32(ctx.key) / TWO_32, -1)];
    },
  } satisfies Balancer;
}
