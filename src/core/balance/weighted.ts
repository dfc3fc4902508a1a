import type { ServerView } from "./types.ts";

/**
 * Weight helpers shared by the policies: what counts as a usable server, a weighted draw
 * without allocation, and NGINX's smooth-weighted state. PURE.
 *
 * @example
 * const total = usableWeight(servers);
 * const i = weightedDraw(servers, total, ctx.random(), -1);
 */

/**
 * Weight of `s` as a policy should use it: 0 when unavailable, and 0 for a weight ≤ 0
 * or NaN (such a server receives nothing).
 *
 * @example
 * usable({ index: 0, name: "a", weight: 2, available: false, active: 0 }); // 0
 */
export function usable(s: ServerView): number {
  return s.available && s.weight > 0 ? s.weight : 0;
}

/**
 * Sum of the usable weights. O(n), no allocation.
 *
 * @example
 * if (usableWeight(servers) === 0) return undefined;
 */
export function usableWeight(servers: readonly ServerView[]): number {
  let total = 0;
  for (let i = 0; i < servers.length; i++) total += usable(servers[i]!);
  return total;
}

/**
 * Weighted draw among usable servers, skipping position `skip` (-1: none). `total` is
 * their usable weight (without `skip`'s); `u` is uniform in [0, 1). Returns a position,
 * or -1 when nothing is usable. O(n), no allocation.
 *
 * @example
 * const first = weightedDraw(servers, total, ctx.random(), -1);
 * const second = weightedDraw(servers, total - usable(servers[first]!), ctx.random(), first);
 */
export function weightedDraw(servers: readonly ServerView[], total: number, u: number, skip: number): number {
  let target = u * total;
  let last = -1;
  for (let i = 0; i < servers.length; i++) {
    if (i === skip) continue;
    const w = usable(servers[i]!);
    if (w === 0) continue;
    target -= w;
    if (target < 0) return i;
    last = i;
  }
  return last; // rounding left `target` ≥ 0 past the last weight
}

/**
 * Power-of-two-choices candidates: two distinct usable servers drawn by weight. Writes
 * into `out` (reused by the caller: no allocation) `[first position, second position,
 * total usable weight]`. Returns how many servers are usable: 0, 1 (`out[0]` only) or
 * more (all three written).
 *
 * @example
 * const pair = new Float64Array(3);
 * if (drawTwo(servers, ctx.random, pair) >= 2) compare(servers[pair[0]], servers[pair[1]]);
 */
export function drawTwo(servers: readonly ServerView[], random: () => number, out: Float64Array): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < servers.length; i++) {
    const w = usable(servers[i]!);
    if (w === 0) continue;
    total += w;
    count++;
    out[0] = i;
  }
  if (count <= 1) return count;
  const a = weightedDraw(servers, total, random(), -1);
  out[0] = a;
  out[1] = weightedDraw(servers, total - usable(servers[a]!), random(), a);
  out[2] = total;
  return count;
}

/**
 * The `current_weight` of NGINX's smooth weighted round-robin, one per server position,
 * carried over by name when servers join, leave or move (only then does it allocate).
 * A step: every candidate gains its weight, the largest wins and pays back the total,
 * which interleaves picks (5:1:1 gives a a b a c a a) instead of bursting on the
 * heaviest. Least-conn policies reuse it to break ties the way NGINX's least_conn does.
 *
 * @example
 * const sw = new SmoothWeights();
 * const current = sw.sync(servers);
 * let best = -1, total = 0, top = -Infinity;
 * for (const [i, s] of servers.entries()) {
 *   total += s.weight;
 *   current[i] += s.weight;
 *   if (current[i] > top) { top = current[i]; best = i; }
 * }
 * current[best] -= total; // servers[best] is the pick
 */
export class SmoothWeights {
  #servers: ServerView[] = [];
  #names: string[] = [];
  #current = new Float64Array(0);

  /**
   * Aligns the state with `servers` (O(n) identity check, rebuilt only on change) and
   * returns the current weights by position, for the caller's loop to update in place.
   */
  sync(servers: readonly ServerView[]): Float64Array {
    const n = servers.length;
    const known = this.#servers;
    if (n === known.length) {
      let i = 0;
      for (; i < n; i++) {
        const s = servers[i]!;
        if (s === known[i]) continue;
        if (s.name !== this.#names[i]) break;
        known[i] = s; // same server, new view object
      }
      if (i === n) return this.#current;
    }
    const old = new Map<string, number>();
    for (let i = 0; i < this.#names.length; i++) old.set(this.#names[i]!, this.#current[i]!);
    const current = new Float64Array(n);
    for (let i = 0; i < n; i++) current[i] = old.get(servers[i]!.name) ?? 0;
    this.#servers = servers.slice();
    this.#names = servers.map((s) => s.name);
    this.#current = current;
    return current;
  }
}
