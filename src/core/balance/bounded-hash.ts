import type { Balancer, BalancerOptions, PickContext, ServerView } from "./types.ts";
import { buildRing, hash32, ringFind, ServerSetWatch, type Ring } from "./hash.ts";
import { weightedRoundRobin } from "./weighted-round-robin.ts";
import { usable } from "./weighted.ts";

/**
 * Default `hashBalanceFactor`, HAProxy's documented example value for
 * `hash-balance-factor`: a server may carry 125% of its fair share of the load.
 *
 * @example
 * boundedHash({ hashBalanceFactor: DEFAULT_HASH_BALANCE_FACTOR }); // same as boundedHash()
 */
export const DEFAULT_HASH_BALANCE_FACTOR = 125;

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016; HAProxy's
 * `hash-balance-factor`, Vimeo's use for video). Same ring as `consistent-hash`, but a
 * server is eligible only while `active` is below its capacity
 *
 *     capacity = ceil(factor / 100 × (Σ active + 1) × weight / Σ weight)
 *
 * (Σ over available servers, `+ 1` for the request being placed); a key walks
 * clockwise to the first available server under capacity. No server ever exceeds
 * `factor`% of its fair share of the in-flight load, and while loads are even the
 * mapping is plain consistent hashing. A hot key spills to its ring successors instead
 * of melting one server, at the price of moving a few more keys than `consistent-hash`
 * when the set or the load changes.
 *
 * `hashBalanceFactor` (percent) defaults to 125; values below 100 cannot be met (the
 * capacities would not add up to the load) and are raised to 100.
 *
 * No key falls back to smooth weighted round-robin; the caller logs that at debug.
 *
 * @example
 * const b = boundedHash({ hashBalanceFactor: 125 });
 * b.pick(servers, { key: "room-7", now, random }); // room-7's server unless it is 25% over
 */
export function boundedHash(opts: BalancerOptions = {}): Balancer {
  const factor = Math.max(100, opts.hashBalanceFactor ?? DEFAULT_HASH_BALANCE_FACTOR) / 100;
  const fallback = weightedRoundRobin();
  const watch = new ServerSetWatch({ availability: false });
  let ring: Ring = buildRing([]);
  return {
    name: "bounded-hash",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      if (ctx.key === undefined) return fallback.pick(servers, ctx);
      if (watch.changed(servers, ctx.now)) ring = buildRing(servers);
      let load = 0;
      let total = 0;
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i]!;
        const w = usable(s);
        if (w === 0) continue;
        total += w;
        load += s.active;
      }
      if (total === 0) return undefined;
      const perWeight = (factor * (load + 1)) / total;
      const owners = ring.owners;
      const size = owners.length;
      let at = ringFind(ring, hash32(ctx.key));
      for (let step = 0; step < size; step++) {
        const s = servers[owners[at]!]!;
        // An unusable server's capacity is ⌈perWeight × 0⌉ = 0: it is never under it.
        if (s.active < Math.ceil(perWeight * usable(s))) return s;
        if (++at === size) at = 0;
      }
      // Unreachable: every usable server is on the ring (weight ↔ 0 rebuilds it at once),
      // and their capacities are integers summing to at least factor × (load + 1) ≥
      // load + 1 (float rounding costs far less than 1), so one is under its capacity.
      return undefined;
    },
  } satisfies Balancer;
}
