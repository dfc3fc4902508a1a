import type { ServerView } from "./types.ts";

/**
 * Shared helpers of the hash policies (source-hash, consistent-hash, maglev,
 * bounded-hash): a 32-bit string hash, a weighted ring, and a cheap change detector so
 * tables are rebuilt only when the server set changes, never per pick. PURE.
 *
 * @example
 * const ring = buildRing(servers);
 * const s = servers[ring.owners[ringFind(ring, hash32("alice"))]!];
 */

/**
 * murmur3's 32-bit finalizer: a bijection with full avalanche. Turns FNV's weak low bits
 * and arithmetic progressions (vnode numbers) into well-spread ring points.
 *
 * @example
 * mix32(1); // 1364076727
 */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * FNV-1a over the string's UTF-16 code units, then {@link mix32}. Unsigned 32-bit.
 * Code units rather than UTF-8 bytes: no encoder, no allocation, and every worker runs
 * the same code, so the mapping is the same everywhere. `seed` gives independent hashes
 * of one string (maglev needs two per server name).
 *
 * @example
 * hash32("10.0.0.7") === hash32("10.0.0.7"); // true, on every process
 * hash32("api1", 1) !== hash32("api1", 2);    // independent hash functions
 */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) | 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/**
 * Vnodes per unit of weight: 100, the usual figure. A weight-1 server's ring share is
 * then off from its weight by ~1/√100 = 10% (1σ); maglev does better when it matters.
 *
 * @example
 * buildRing(servers).points.length; // ≈ VNODES_PER_WEIGHT × Σ weight
 */
export const VNODES_PER_WEIGHT = 100;
/**
 * Ring size cap. Weights are configured 1..256, so 100 × Σweight can reach millions on
 * a big backend; past this cap every server's vnode count is scaled down alike (shares
 * stay proportional, but a weight change then moves a few keys of every server).
 *
 * @example
 * // 300 servers of weight 10 would want 300,000 points: each gets 874 instead of 1,000
 * buildRing(servers).points.length <= MAX_RING_POINTS; // true
 */
export const MAX_RING_POINTS = 1 << 18;
const SERVER_SLOTS = 2 ** 20; // owner packed under the point in one float64 for the sort
const GOLDEN = 0x9e3779b9;

/**
 * A hash ring: `points` sorted ascending, `owners[i]` the position (in the server array
 * the ring was built from) of the server owning `points[i]`.
 *
 * @example
 * const ring = buildRing(servers);
 * ring.points.length; // ≈ 100 × Σ weight
 */
export interface Ring {
  readonly points: Uint32Array;
  readonly owners: Uint32Array;
}

/**
 * Builds the weighted ring over every server with weight > 0 (available or not: the
 * policies walk past unavailable servers, so health flaps never rebuild the ring).
 * Server `s` gets max(1, round(100 × weight)) vnodes; point `i` of `s` is
 * `mix32(hash32(name) + i × φ)`, so points depend on the *name* only: reordering the
 * servers moves no key, and removing one moves only the keys it owned.
 *
 * @example
 * const ring = buildRing([{ index: 0, name: "a", weight: 2, available: true, active: 0 }]);
 * ring.points.length; // 200
 */
export function buildRing(servers: readonly ServerView[]): Ring {
  const n = servers.length;
  if (n >= SERVER_SLOTS) throw new RangeError(`buildRing: at most ${SERVER_SLOTS - 1} servers`);
  let wanted = 0;
  for (let i = 0; i < n; i++) wanted += vnodes(servers[i]!.weight, 1);
  const scale = wanted > MAX_RING_POINTS ? MAX_RING_POINTS / wanted : 1;
  let total = 0;
  for (let i = 0; i < n; i++) total += vnodes(servers[i]!.weight, scale);
  const packed = new Float64Array(total);
  let k = 0;
  for (let pos = 0; pos < n; pos++) {
    const s = servers[pos]!;
    const count = vnodes(s.weight, scale);
    const base = hash32(s.name);
    for (let v = 0; v < count; v++) packed[k++] = mix32((base + Math.imul(v, GOLDEN)) | 0) * SERVER_SLOTS + pos;
  }
  packed.sort();
  const points = new Uint32Array(total);
  const owners = new Uint32Array(total);
  for (let i = 0; i < total; i++) {
    const p = packed[i]!;
    const point = Math.floor(p / SERVER_SLOTS);
    points[i] = point;
    owners[i] = p - point * SERVER_SLOTS;
  }
  return { points, owners };
}

function vnodes(weight: number, scale: number): number {
  return weight > 0 ? Math.max(1, Math.round(VNODES_PER_WEIGHT * weight * scale)) : 0;
}

/**
 * Index of the first ring point ≥ `h`, wrapping to 0 past the last (clockwise
 * successor). Binary search, O(log points). 0 for an empty ring.
 *
 * @example
 * const i = ringFind(ring, hash32(key));
 * servers[ring.owners[i]!];
 */
export function ringFind(ring: Ring, h: number): number {
  const points = ring.points;
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

/**
 * Changes that can come in storms are applied at most this often (ms of `ctx.now`):
 * positive weight changes (slow start ramps weights continuously) and, when tracked,
 * availability (a server at `maxConn` flips `available` with every connection that
 * opens or closes). Without this a ring or maglev table could be rebuilt on every pick.
 * The first change after a quiet second is applied at once; joins, leaves, reorders
 * and weight ↔ 0 always are.
 *
 * @example
 * servers[0].weight = 4;                // at ctx.now = t, a rebuild happened at t - 10
 * b.pick(servers, { ...ctx, now: t });  // still the old ring
 * b.pick(servers, { ...ctx, now: t - 10 + REBUILD_SETTLE_MS }); // rebuilt with weight 4
 */
export const REBUILD_SETTLE_MS = 1000;

/**
 * Detects, in one allocation-free O(n) pass, whether a table derived from `servers` must
 * be rebuilt: compares the servers (by identity, then by name), their weights and
 * optionally their availability with the snapshot taken at the last rebuild. The O(n)
 * pass is the price of reading live server objects that change in place; it costs a
 * few ns per server, far less than any rebuild. A policy tracking availability must
 * still check `available` at pick time: availability changes settle (see
 * {@link REBUILD_SETTLE_MS}).
 *
 * @example
 * const watch = new ServerSetWatch({ availability: true });
 * if (watch.changed(servers, ctx.now)) table = rebuild(servers);
 */
export class ServerSetWatch {
  #servers: ServerView[] = [];
  #names: string[] = [];
  #weights = new Float64Array(0);
  #up = new Uint8Array(0);
  #builtAt = 0;
  #valid = false;
  readonly #availability: boolean;

  constructor(opts: { readonly availability: boolean }) {
    this.#availability = opts.availability;
  }

  /** True (and the new state recorded) when the caller must rebuild its table now. */
  changed(servers: readonly ServerView[], now: number): boolean {
    if (this.#valid && servers.length === this.#names.length && !this.#differs(servers, now)) return false;
    this.#record(servers, now);
    return true;
  }

  #differs(servers: readonly ServerView[], now: number): boolean {
    const known = this.#servers;
    const weights = this.#weights;
    const up = this.#up;
    const availability = this.#availability;
    let drift = false;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (s !== known[i]) {
        // Same name, new object (a caller rebuilding its views): not a change.
        if (s.name !== this.#names[i]) return true;
        known[i] = s;
      }
      const w = s.weight;
      if (w !== weights[i]) {
        const was = weights[i]! > 0;
        if (!(w > 0) || !was) {
          if (w > 0 || was) return true; // to or from 0 (NaN and negatives count as 0)
        } else drift = true;
      }
      if (availability && (s.available ? 1 : 0) !== up[i]) drift = true;
    }
    return drift && now - this.#builtAt >= REBUILD_SETTLE_MS;
  }

  #record(servers: readonly ServerView[], now: number): void {
    const n = servers.length;
    if (this.#weights.length !== n) {
      this.#weights = new Float64Array(n);
      this.#up = new Uint8Array(n);
    }
    this.#servers = servers.slice();
    this.#names = servers.map((s) => s.name);
    for (let i = 0; i < n; i++) {
      const s = servers[i]!;
      this.#weights[i] = s.weight;
      this.#up[i] = s.available ? 1 : 0;
    }
    this.#builtAt = now;
    this.#valid = true;
  }
}
