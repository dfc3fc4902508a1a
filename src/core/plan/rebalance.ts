/**
 * Rebalancing long-lived connections (DESIGN §4 "Rebalance", issue 5 part 5): after a
 * scale-out the new server holds no tunnels, and least-conn alone takes hours of churn
 * to even things out. With `rebalance: { maxSkew, rate }` the control plane closes
 * (`1012`) some tunnels of the servers above their weighted fair share, newest first,
 * at most `rate` per second, until every server is within `maxSkew` of its share; the
 * clients reconnect through the balancer. Also the jittered `maxLifetime` deadline.
 * PURE: clock and randomness are parameters.
 *
 * @example
 * const rebalancer = new Rebalancer(backend.rebalance);
 * // on a coarse timer, e.g. every 100 ms:
 * for (const { name, count } of rebalancer.plan(serverViews(), now)) {
 *   for (const id of newestFirst(openTunnels(name), count)) tunnels.get(id)!.close(1012, "");
 * }
 */

/**
 * What the rebalancer reads of a server.
 *
 * - `weight`: the effective weight the balancer uses (slow start, agent weight), so a
 *   warming server is not handed more than the balancer would give it.
 * - `available`: takes new connections (up, not ejected, not draining, not in
 *   maintenance; a backup only while it is in use). Unavailable servers are left out
 *   entirely: their tunnels are the drain's business, and nothing is moved towards them.
 * - `tunnels`: open tunnels on the server now.
 *
 * @example
 * const view: RebalanceServer = { name: "api1", weight: 10, available: true, tunnels: 450 };
 */
export interface RebalanceServer {
  readonly name: string;
  readonly weight: number;
  readonly available: boolean;
  readonly tunnels: number;
}

/**
 * Close `count` tunnels of server `name` (pick them with {@link newestFirst}).
 *
 * @example
 * const c: RebalanceClose = { name: "api1", count: 20 };
 */
export interface RebalanceClose {
  readonly name: string;
  readonly count: number;
}

// Shares are fractions: keep float noise (e.g. 1.25 × 300.00000000000006) from asking
// for a close or counting a server out of bounds.
const EPS = 1e-9;

/**
 * Each available server's weighted fair share of the tunnels on the available servers:
 * `total × weight / Σ weights`. Unavailable servers get no entry; with no available
 * weight the map is empty.
 *
 * @example
 * fairShares([
 *   { name: "a", weight: 2, available: true, tunnels: 500 },
 *   { name: "b", weight: 1, available: true, tunnels: 100 },
 *   { name: "c", weight: 1, available: false, tunnels: 300 },
 * ]); // Map { "a" => 400, "b" => 200 }
 */
export function fairShares(servers: readonly RebalanceServer[]): Map<string, number> {
  let total = 0;
  let weights = 0;
  for (const s of servers) {
    if (!s.available) continue;
    total += s.tunnels;
    weights += Math.max(0, s.weight);
  }
  const shares = new Map<string, number>();
  if (weights <= 0) return shares;
  for (const s of servers) if (s.available) shares.set(s.name, (total * Math.max(0, s.weight)) / weights);
  return shares;
}

/**
 * Whether every available server holds between `share / maxSkew` and `share × maxSkew`
 * tunnels. Both sides matter: after adding a tenth server to nine holding 100 each, no
 * old server exceeds 1.25 × 90, yet the new one, at 0, is far below its share.
 *
 * @example
 * const s = (name: string, tunnels: number) => ({ name, weight: 1, available: true, tunnels });
 * isBalanced([s("a", 330), s("b", 330), s("c", 240)], 1.25); // true: shares 300, bounds [240, 375]
 * isBalanced([s("a", 450), s("b", 450), s("c", 0)], 1.25);   // false
 */
export function isBalanced(servers: readonly RebalanceServer[], maxSkew: number): boolean {
  const shares = fairShares(servers);
  for (const s of servers) {
    const share = shares.get(s.name);
    if (share === undefined) continue;
    if (s.tunnels > share * maxSkew + EPS || s.tunnels < share / maxSkew - EPS) return false;
  }
  return true;
}

/**
 * How many tunnels to close on which server, at most `budget` in all, for the backend
 * to come within `maxSkew` (stateless; {@link Rebalancer} adds the rate limit).
 *
 * - Nothing when the backend {@link isBalanced} or fewer than two servers are available.
 * - Otherwise as many closes as bringing every server within bounds needs, assuming the
 *   reconnects land below their share: the larger of the overloaded servers' excess
 *   over `share × maxSkew` and the underloaded servers' shortfall under `share / maxSkew`.
 * - Each close goes to the server with the highest load per weight, and only to a
 *   server that stays at or above its share after it: no server is ever emptied below
 *   its share to fill another.
 *
 * It converges without emptying any server below its share, each surplus tunnel moving
 * at most once, when reconnects land on servers below their share (least-conn does);
 * a balancer that sends a tunnel back where it was defeats it. The argument and its
 * limits: docs/algorithms.md#rebalancing-converges.
 *
 * @example
 * const s = (name: string, tunnels: number) => ({ name, weight: 1, available: true, tunnels });
 * planRebalance([s("a", 450), s("b", 450), s("c", 0)], 1.25);
 * // [{ name: "a", count: 120 }, { name: "b", count: 120 }]: then 330 / 330 / 240
 * planRebalance([s("a", 450), s("b", 450), s("c", 0)], 1.25, 20);
 * // [{ name: "a", count: 10 }, { name: "b", count: 10 }]
 */
export function planRebalance(servers: readonly RebalanceServer[], maxSkew: number, budget = Infinity): RebalanceClose[] {
  const shares = fairShares(servers);
  const pool: { name: string; weight: number; tunnels: number; share: number; closes: number }[] = [];
  for (const s of servers) {
    const share = shares.get(s.name);
    if (share !== undefined) pool.push({ name: s.name, weight: Math.max(0, s.weight), tunnels: s.tunnels, share, closes: 0 });
  }
  if (pool.length < 2) return [];
  let over = 0;
  let under = 0;
  for (const p of pool) {
    over += Math.max(0, Math.ceil(p.tunnels - p.share * maxSkew - EPS));
    under += Math.max(0, Math.ceil(p.share / maxSkew - p.tunnels - EPS));
  }
  const wanted = Math.min(Math.max(over, under), Math.max(0, Math.floor(budget)));
  // One close at a time to the most loaded per weight (water-filling): with a budget
  // smaller than the need, the most loaded give until level with the next, then both.
  // O(closes × servers); the Rebalancer's budget keeps closes per plan at the rate.
  for (let k = 0; k < wanted; k++) {
    let best: (typeof pool)[number] | undefined;
    let bestLoad = -Infinity;
    for (const p of pool) {
      const left = p.tunnels - p.closes;
      if (left - 1 < p.share - EPS) continue;
      const load = p.weight > 0 ? left / p.weight : Infinity;
      if (load > bestLoad) {
        best = p;
        bestLoad = load;
      }
    }
    if (best === undefined) break;
    best.closes++;
  }
  return pool.filter((p) => p.closes > 0).map((p) => ({ name: p.name, count: p.closes }));
}

/**
 * `rebalance` of a backend's config.
 *
 * @example
 * const settings: RebalanceSettings = backend.rebalance ?? { maxSkew: 1.25, rate: 20 };
 */
export interface RebalanceSettings {
  readonly maxSkew: number;
  readonly rate: number;
}

/**
 * {@link planRebalance} under a rate limit across the whole backend: at most
 * `c = max(1, ⌊rate⌋)` closes in any window of `c / rate` seconds; for an integer rate,
 * at most `rate` closes in any 1 s window (`rate: 0.5`: one close per 2 s). One per
 * backend; call `plan` on any coarse timer with fresh counts, it returns what to close now.
 *
 * A sliding window, not a `TokenBucket`: a bucket of one second's capacity lets a
 * full burst plus a second's refill through in the same second after a quiet spell,
 * twice the configured rate. Ticks that divide a second (100 ms, 250 ms, 1 s) reach the
 * full rate; a 100 ms tick spends a second's budget at once, a 1000/rate ms tick paces
 * the closes one by one.
 *
 * @example
 * const r = new Rebalancer({ maxSkew: 1.25, rate: 20 });
 * const s = (name: string, tunnels: number) => ({ name, weight: 1, available: true, tunnels });
 * r.plan([s("a", 450), s("b", 450), s("c", 0)], 0);   // 10 + 10 closes
 * r.plan([s("a", 440), s("b", 440), s("c", 20)], 500); // []: the second's budget is spent
 */
export class Rebalancer {
  readonly maxSkew: number;
  #cap: number;
  #window: number;
  #log: { at: number; count: number }[] = [];
  #used = 0;

  constructor(settings: RebalanceSettings) {
    if (!(settings.maxSkew > 1)) throw new RangeError(`maxSkew must be > 1, got ${settings.maxSkew}`);
    if (!(settings.rate > 0) || !Number.isFinite(settings.rate)) throw new RangeError(`rate must be a positive number, got ${settings.rate}`);
    this.maxSkew = settings.maxSkew;
    this.#cap = Math.max(1, Math.floor(settings.rate));
    this.#window = (this.#cap * 1000) / settings.rate;
  }

  /**
   * What to close at `now`, given the backend's servers as they are now.
   *
   * @example
   * for (const { name, count } of rebalancer.plan(views, now)) closeNewest(name, count);
   */
  plan(servers: readonly RebalanceServer[], now: number): RebalanceClose[] {
    while (this.#log.length > 0 && this.#log[0]!.at <= now - this.#window) this.#used -= this.#log.shift()!.count;
    const budget = this.#cap - this.#used;
    if (budget <= 0) return [];
    const closes = planRebalance(servers, this.maxSkew, budget);
    let count = 0;
    for (const c of closes) count += c.count;
    if (count > 0) {
      this.#log.push({ at: now, count });
      this.#used += count;
    }
    return closes;
  }
}

/**
 * An open tunnel as the rebalancer's victim picking sees it.
 *
 * @example
 * const t: OpenTunnel<number> = { id: 7, openedAt: 1_700_000 };
 */
export interface OpenTunnel<Id> {
  readonly id: Id;
  readonly openedAt: number;
}

/**
 * The ids of the `count` most recently opened tunnels, newest first (ties in input
 * order). Newest first because a young tunnel has the least to lose (a client that just
 * connected has little state to resume) and, after a scale-out, the newest are the ones
 * the imbalance was still adding.
 *
 * @example
 * newestFirst([{ id: "x", openedAt: 1 }, { id: "y", openedAt: 3 }, { id: "z", openedAt: 2 }], 2); // ["y", "z"]
 */
export function newestFirst<Id>(tunnels: readonly OpenTunnel<Id>[], count: number): Id[] {
  if (count <= 0) return [];
  // A full sort per call: plans run on a coarse timer and `count` is small; a top-k heap
  // would only pay off for servers with hundreds of thousands of tunnels.
  return tunnels
    .slice()
    .sort((a, b) => b.openedAt - a.openedAt)
    .slice(0, count)
    .map((t) => t.id);
}

/**
 * When a tunnel opened at `openedAt` reaches `maxLifetime` (ms) with ±10% jitter:
 * uniform in `[0.9, 1.1) × maxLifetime` after it opened, so the tunnels that opened
 * together (a reconnect wave) do not expire together. `Infinity` when `maxLifetime`
 * is 0 (off). Draw it once, when the tunnel opens.
 *
 * @example
 * lifetimeDeadline(0, 6 * 3600_000, () => 0.5); // 21_600_000 (6 h)
 * lifetimeDeadline(0, 6 * 3600_000, () => 0);   // 19_440_000 (5 h 24 min)
 * lifetimeDeadline(0, 0, Math.random);          // Infinity
 */
export function lifetimeDeadline(openedAt: number, maxLifetime: number, random: () => number): number {
  if (!(maxLifetime > 0)) return Infinity;
  return openedAt + Math.floor(maxLifetime * (0.9 + 0.2 * random()));
}
