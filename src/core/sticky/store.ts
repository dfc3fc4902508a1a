import { StickyTable } from "./table.ts";
import type { StickyTableOptions } from "./table.ts";

/**
 * Where source-address stickiness is remembered: in memory on one node, in Redis with
 * `cluster.redis` (DESIGN §4 "Stickiness", §9). One store per backend; a shared store
 * namespaces its keys by backend itself.
 *
 * Sync or async? `get` may return either a value or a Promise (`MaybePromise`):
 * - the memory store answers synchronously, so the hot path pays no Promise, no
 *   microtask hop and no closure per request;
 * - the Redis store (cluster mode) returns a Promise, or a value from a near cache;
 * - callers branch once: `typeof r === "object"` means a Promise (see `SourceSticky`).
 * A `get` hit is a use: it extends the entry's idle TTL (Redis: `GETEX key PX ttl`).
 *
 * `set` and `delete` return nothing: writes are fire-and-forget. A remote store queues or
 * pipelines them and handles (logs, counts) its own failures; losing a write only costs
 * one client a re-pick, whereas awaiting it would put a network round-trip in front of
 * every new client. Two gateways racing on one new client both pick and the last write
 * wins; the client moves at most once.
 *
 * A store's `get` must not reject: an unreachable store answers `undefined` (then the
 * fallback policy picks). `SourceSticky` treats a rejection the same way anyway.
 *
 * @example
 * const store: StickyStore = new MemoryStickyStore({ ttlMs: 30 * 60_000, maxEntries: 100_000 });
 * const r = store.get("203.0.113.7", now);
 * const server = typeof r === "object" ? await r : r;
 */
export interface StickyStore {
  /** The server name for `key`, `undefined` when absent or expired; extends the TTL on a hit. */
  get(key: string, now: number): string | undefined | Promise<string | undefined>;
  /** Maps `key` to `server` with a fresh TTL. Fire-and-forget. */
  set(key: string, server: string, now: number): void;
  /** Forgets `key`. Fire-and-forget. */
  delete(key: string): void;
}

/**
 * The single-node store: a {@link StickyTable} (TTL + LRU), fully synchronous.
 *
 * @example
 * const store = new MemoryStickyStore({ ttlMs: 1_800_000, maxEntries: 100_000 });
 * store.set("203.0.113.7", "api1", now);
 * store.get("203.0.113.7", now); // "api1"
 */
export class MemoryStickyStore implements StickyStore {
  readonly #table: StickyTable;

  constructor(opts: StickyTableOptions) {
    this.#table = new StickyTable(opts);
  }

  /**
   * Entries held (expired ones not yet dropped included), for metrics.
   *
   * @example
   * store.size; // 0
   */
  get size(): number {
    return this.#table.size;
  }

  /**
   * Synchronous lookup; see {@link StickyTable.get}.
   *
   * @example
   * store.get("203.0.113.7", now); // "api1" | undefined
   */
  get(key: string, now: number): string | undefined {
    return this.#table.get(key, now);
  }

  /**
   * See {@link StickyTable.set}.
   *
   * @example
   * store.set("203.0.113.7", "api1", now);
   */
  set(key: string, server: string, now: number): void {
    this.#table.set(key, server, now);
  }

  /**
   * See {@link StickyTable.delete}.
   *
   * @example
   * store.delete("203.0.113.7");
   */
  delete(key: string): void {
    this.#table.delete(key);
  }
}
