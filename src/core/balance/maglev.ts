import type { Balancer, PickContext, ServerView } from "./types.ts";
import { hash32, mix32, ServerSetWatch } from "./hash.ts";
import { weightedRoundRobin } from "./weighted-round-robin.ts";
import { usable } from "./weighted.ts";

const OFFSET_SEED = 0x2545f491;
const SKIP_SEED = 0x6c8e9cf5;
const NONE = 0xffffffff;
const PROBES = 8; // with half the table stale, all 9 slots miss 1 time in 512
const GOLDEN = 0x9e3779b9;

/**
 * Lookup-table size for `n` servers: the smallest prime ≥ 2^k + 1 where 2^k is the
 * smallest power of two ≥ max(100 × n, 65536); 65537 up to 655 servers. The Maglev
 * paper keeps M ≥ 100 × N so shares stay within ~1% of their weights. Powers of two
 * make M a step function: a server joining or leaving changes M (and so remaps
 * everything) only when n crosses a doubling, not on every change.
 *
 * @example
 * maglevTableSize(3);    // 65537
 * maglevTableSize(1000); // 131101 (first prime above 2^17)
 */
export function maglevTableSize(n: number): number {
  let pow = 65536;
  while (pow < 100 * n) pow *= 2;
  let m = pow + 1;
  while (!isPrime(m)) m++;
  return m;
}

// Only asked about m > 65536: no case for 0, 1 or 2.
function isPrime(m: number): boolean {
  if (m % 2 === 0) return false;
  for (let d = 3; d * d <= m; d += 2) if (m % d === 0) return false;
  return true;
}

/**
 * Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of M slots filled by
 * letting each usable server claim, in turn, the next free slot of its own permutation
 * (`offset + j × skip mod M`, both from hashes of its name). Weights: each round a
 * server claims a slot only while its claimed count is below round × weight / max
 * weight (as Envoy's weighted Maglev does), so shares follow weights. Servers take turns in *name* order, so the table depends on names, weights
 * and availability, not on array order.
 *
 * Unavailable and weight-0 servers are left out of the table: it is rebuilt over the
 * available ones, cached, and rebuilt again only when that set changes (see
 * {@link ServerSetWatch}), by the first pick that sees the change: ≈ 5–10 ms for
 * M = 65537 on one core, so availability and positive weight changes are applied at
 * most once per second (`REBUILD_SETTLE_MS` in hash.ts; a server at `maxConn` can flip
 * `available` on every connection). Until then a key whose slot holds a server that
 * went unavailable probes a few other slots (rehashing the key), which spreads that
 * server's keys by weight and moves no other key; a server that came back waits for
 * the rebuild. Per pick: an O(n) change check, one hash, one array read.
 *
 * Disruption is near-minimal, not minimal: when one of N servers leaves, its keys move
 * and a small extra share of others' keys shuffles among the survivors.
 *
 * No key falls back to smooth weighted round-robin; the caller logs that at debug.
 *
 * @example
 * const b = maglev();
 * b.pick(servers, { key: "203.0.113.7", now, random }); // O(1) after the first build
 */
export function maglev(): Balancer {
  const fallback = weightedRoundRobin();
  const watch = new ServerSetWatch({ availability: true });
  let table: Uint32Array = new Uint32Array(0);
  return {
    name: "maglev",
    pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined {
      if (ctx.key === undefined) return fallback.pick(servers, ctx);
      if (watch.changed(servers, ctx.now)) table = buildMaglevTable(servers);
      const m = table.length;
      const h = hash32(ctx.key);
      if (m > 0) {
        const s = servers[table[h % m]!]!;
        if (s.available) return s;
        for (let i = 1; i <= PROBES; i++) {
          const t = servers[table[mix32((h + Math.imul(i, GOLDEN)) | 0) % m]!]!;
          if (t.available) return t;
        }
      }
      // Most of the table went down since the last build (or it was built empty):
      // any usable server, from a key-dependent start so keys still spread.
      const n = servers.length;
      for (let i = 0; i < n; i++) {
        const t = servers[(h + i) % n]!;
        if (usable(t) !== 0) return t;
      }
      return undefined;
    },
  } satisfies Balancer;
}

/**
 * Builds the Maglev table over the usable servers of `servers`: each slot holds a
 * position in `servers`. Empty when no server is usable. Exported for tests and tools.
 *
 * @example
 * const table = buildMaglevTable(servers);
 * servers[table[hash32(key) % table.length]!];
 */
export function buildMaglevTable(servers: readonly ServerView[]): Uint32Array {
  const order: number[] = [];
  let maxW = 0;
  for (let i = 0; i < servers.length; i++) {
    const w = usable(servers[i]!);
    if (w === 0) continue;
    order.push(i);
    if (w > maxW) maxW = w;
  }
  if (order.length === 0) return new Uint32Array(0);
  // `order` is ascending and the sort stable: servers of one name stay in array order.
  order.sort((a, b) => compareNames(servers[a]!.name, servers[b]!.name));
  const m = maglevTableSize(servers.length);
  const k = order.length;
  const slot = new Float64Array(k); // next candidate slot of each server's permutation
  const skip = new Float64Array(k);
  const weight = new Float64Array(k);
  const claimed = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const s = servers[order[j]!]!;
    slot[j] = hash32(s.name, OFFSET_SEED) % m;
    skip[j] = (hash32(s.name, SKIP_SEED) % (m - 1)) + 1;
    weight[j] = s.weight;
  }
  const table = new Uint32Array(m).fill(NONE);
  let filled = 0;
  for (let round = 1; filled < m; round++) {
    for (let j = 0; j < k && filled < m; j++) {
      if (claimed[j]! * maxW >= round * weight[j]!) continue;
      let c = slot[j]!;
      while (table[c] !== NONE) {
        c += skip[j]!;
        if (c >= m) c -= m;
      }
      table[c] = order[j]!;
      c += skip[j]!;
      slot[j] = c >= m ? c - m : c;
      claimed[j]!++;
      filled++;
    }
  }
  return table;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
