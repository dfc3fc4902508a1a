import { test } from "node:test";
import assert from "node:assert/strict";
import type { StickyStore } from "./store.ts";

/**
 * The contract every {@link StickyStore} keeps, run by each store's own test (memory now,
 * Redis with cluster mode): `get` may be sync or async, so every answer is awaited.
 * A kit (`*.kit.ts`, not a test file): it only exports the suite, which store.test.ts runs.
 *
 * @example
 * runStickyStoreConformance("memory", ({ ttlMs }) => {
 *   let now = 0;
 *   return { store: new MemoryStickyStore({ ttlMs, maxEntries: 100 }), now: () => now, advance: (ms) => { now += ms; } };
 * });
 */
export function runStickyStoreConformance(name: string, factory: StickyStoreFactory): void {
  const ttlMs = 200;
  const cases: { name: string; run(h: StickyStoreHarness): Promise<void> }[] = [
    {
      name: "an unknown key is undefined",
      async run({ store, now }) {
        assert.equal(await store.get("198.51.100.1", now()), undefined);
      },
    },
    {
      name: "set then get",
      async run({ store, now }) {
        store.set("198.51.100.1", "api1", now());
        assert.equal(await store.get("198.51.100.1", now()), "api1");
        assert.equal(await store.get("198.51.100.2", now()), undefined);
      },
    },
    {
      name: "set overwrites",
      async run({ store, now }) {
        store.set("198.51.100.1", "api1", now());
        store.set("198.51.100.1", "api2", now());
        assert.equal(await store.get("198.51.100.1", now()), "api2");
      },
    },
    {
      name: "delete forgets, deleting twice is harmless",
      async run({ store, now }) {
        store.set("198.51.100.1", "api1", now());
        store.delete("198.51.100.1");
        store.delete("198.51.100.1");
        assert.equal(await store.get("198.51.100.1", now()), undefined);
      },
    },
    {
      name: "entries expire after ttl without use",
      async run({ store, now, advance }) {
        store.set("198.51.100.1", "api1", now());
        await advance(ttlMs + 50);
        assert.equal(await store.get("198.51.100.1", now()), undefined);
      },
    },
    {
      name: "a get extends the ttl",
      async run({ store, now, advance }) {
        store.set("198.51.100.1", "api1", now());
        await advance(ttlMs * 0.6);
        assert.equal(await store.get("198.51.100.1", now()), "api1");
        await advance(ttlMs * 0.6);
        assert.equal(await store.get("198.51.100.1", now()), "api1");
      },
    },
    {
      name: "IPv6 keys",
      async run({ store, now }) {
        store.set("2001:db8::1", "api3", now());
        assert.equal(await store.get("2001:db8::1", now()), "api3");
      },
    },
  ];
  for (const c of cases) {
    test(`sticky store conformance (${name}): ${c.name}`, async () => {
      const h = await factory({ ttlMs });
      try {
        await c.run(h);
      } finally {
        await h.close?.();
      }
    });
  }
}

/**
 * A fresh, empty store with a clock the suite can move.
 *
 * @example
 * const h: StickyStoreHarness = { store, now: () => clock, advance: (ms) => { clock += ms; } };
 */
export interface StickyStoreHarness {
  readonly store: StickyStore;
  /** The `now` to pass to the store. */
  now(): number;
  /** Let `ms` pass: move an injected clock, or sleep for a store with a real one. */
  advance(ms: number): void | Promise<void>;
  close?(): void | Promise<void>;
}

/**
 * Builds one harness per case.
 *
 * @example
 * const factory: StickyStoreFactory = async ({ ttlMs }) => {
 *   const store = await RedisStickyStore.connect(url, { backend: "test", ttlMs });
 *   return { store, now: Date.now, advance: (ms) => sleep(ms), close: () => store.close() };
 * };
 */
export type StickyStoreFactory = (opts: { readonly ttlMs: number }) => StickyStoreHarness | Promise<StickyStoreHarness>;
