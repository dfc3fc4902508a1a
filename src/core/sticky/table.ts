/**
 * The source-address → server table behind `sticky: { source: true, ttl, maxEntries }`
 * (DESIGN §4 "Stickiness"). PURE: the clock arrives as `now` on every call, no timers.
 *
 * @example
 * const t = new StickyTable({ ttlMs: 30 * 60_000, maxEntries: 100_000 });
 * t.set("203.0.113.7", "api1", now);
 * t.get("203.0.113.7", now + 1000); // "api1"
 */

/**
 * Options of {@link StickyTable}.
 *
 * @example
 * const opts: StickyTableOptions = { ttlMs: 1_800_000, maxEntries: 100_000 };
 */
export interface StickyTableOptions {
  /** Idle lifetime of an entry in ms (> 0): it expires this long after its last use. */
  readonly ttlMs: number;
  /** Bound on the number of entries (>= 1); past it the least recently used goes. */
  readonly maxEntries: number;
}

interface Entry {
  server: string;
  expires: number;
}

/**
 * A TTL + LRU map from a key (the client address) to a server name.
 *
 * The TTL is an idle timeout, like HAProxy's stick-table `expire`: `get` and `set` push the
 * expiry to `now + ttlMs`. The Map's insertion order is the recency order (a touch is
 * delete + re-insert), and because every touch sets `expires = now + ttlMs` with one ttl,
 * it is also the expiry order: the oldest entry is always the first to expire. So
 * eviction takes the head, and `set` can drop expired entries from the head in amortised
 * O(1) without a timer. `now` must not go backwards by much (use a monotonic clock); if it
 * does, entries only live a little longer.
 *
 * @example
 * const t = new StickyTable({ ttlMs: 1000, maxEntries: 2 });
 * t.set("a", "s1", 0); t.set("b", "s2", 0); t.get("a", 10); t.set("c", "s3", 20);
 * t.get("b", 20); // undefined: "b" was the least recently used
 * t.get("a", 2000); // undefined: expired
 */
export class StickyTable {
  readonly #ttl: number;
  readonly #max: number;
  readonly #map = new Map<string, Entry>();

  constructor(opts: StickyTableOptions) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`sticky table ttlMs must be > 0, got ${opts.ttlMs}`);
    if (!(Number.isInteger(opts.maxEntries) && opts.maxEntries >= 1)) {
      throw new RangeError(`sticky table maxEntries must be an integer >= 1, got ${opts.maxEntries}`);
    }
    this.#ttl = opts.ttlMs;
    this.#max = opts.maxEntries;
  }

  /**
   * Entries held, expired ones not yet dropped included (an upper bound of the live ones).
   *
   * @example
   * table.size; // 0 on a new table
   */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The server for `key`, or `undefined` when absent or expired (then dropped). A hit
   * counts as a use: it becomes the most recent and its expiry moves to `now + ttlMs`.
   *
   * @example
   * table.get("203.0.113.7", now); // "api1" | undefined
   */
  get(key: string, now: number): string | undefined {
    const map = this.#map;
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= now) {
      map.delete(key);
      return undefined;
    }
    e.expires = now + this.#ttl;
    map.delete(key);
    map.set(key, e);
    return e.server;
  }

  /**
   * Maps `key` to `server` (replacing any entry) as the most recent use, dropping expired
   * entries and, when full, the least recently used one.
   *
   * @example
   * table.set("203.0.113.7", "api2", now);
   */
  set(key: string, server: string, now: number): void {
    const map = this.#map;
    const old = map.get(key);
    if (old !== undefined) {
      map.delete(key);
      old.server = server;
      old.expires = now + this.#ttl;
      map.set(key, old);
      return;
    }
    for (const [k, e] of map) {
      if (e.expires > now && map.size < this.#max) break;
      map.delete(k); // expired, or the least recently used of a full table
    }
    map.set(key, { server, expires: now + this.#ttl });
  }

  /**
   * Forgets `key`. Returns whether it was present.
   *
   * @example
   * table.delete("203.0.113.7"); // true
   */
  delete(key: string): boolean {
    return this.#map.delete(key);
  }

  /**
   * Forgets every entry.
   *
   * @example
   * table.clear(); // table.size === 0
   */
  clear(): void {
    this.#map.clear();
  }
}
