import type { Balancer, PickContext, ServerView } from "./types.ts";
import { buildRing, hash32, ringFind, ServerSetWatch, type Ring } from "./hash.ts";
import { weightedRoundRobin } from "./weighted-round-robin.ts";
import { usableWeight } from "./weighted.ts";

const LONG_WALK = 64;

/**
 * Consistent hashing on a ring with virtual nodes (Karger et al. 1997): each server
 * with weight > 0 owns max(1, round(100 × weight)) points derived from its *name*; a
 * key goes to the first point clockwise from its hash whose server is available.
 *
 * - A server that leaves (down, drained, removed) gives up only its own keys, spread
 *   over the others by the vnodes; every other key stays put. Reordering the servers
 *   moves nothing.
 * - The ring is rebuilt only when names or weights change (see {@link ServerSetWatch}:
 *   positive weight changes settle for up to 1 s), never for a health flap: unavailable
 *   servers are walked past. O(log points) per pick plus an O(n) change check.
 *
 * No key falls back to smooth weighted round-robin; the caller logs that at debug.
 *
 * @example
 * const b = consistentHash();
 * b.pick(servers, { key: "user-42", now, random }); // stable while user-42's server is up
 */
export function consistentHash(): Balancer {
  const fallback = weightedRoundRobin();
  const watch = new ServerSetWatch({ availability: false });
  let ring: Ring = buildRing([]);
  return {
    name: "consistent-hash",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      if (ctx.key === undefined) return fallback.pick(servers, ctx);
      if (watch.changed(servers, ctx.now)) ring = buildRing(servers);
      const owners = ring.owners;
      const size = owners.length; // 0 (no server with weight > 0): no step, undefined
      let at = ringFind(ring, hash32(ctx.key));
      for (let step = 0; step < size; step++) {
        const s = servers[owners[at]!]!;
        if (s.available) return s;
        // A long walk usually means most servers are down: stop early if all are.
        if (step === LONG_WALK && usableWeight(servers) === 0) return undefined;
        if (++at === size) at = 0;
      }
      return undefined;
    },
  } satisfies Balancer;
}
