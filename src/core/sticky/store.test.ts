import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStickyStore } from "./store.ts";
import type { StickyStore } from "./store.ts";
import { runStickyStoreConformance } from "./conformance.kit.ts";

runStickyStoreConformance("memory", ({ ttlMs }) => {
  let clock = 1_000_000;
  return {
    store: new MemoryStickyStore({ ttlMs, maxEntries: 100 }),
    now: () => clock,
    advance: (ms) => {
      clock += ms;
    },
  };
});

test("memory sticky store: answers synchronously and stays bounded", () => {
  const store: StickyStore = new MemoryStickyStore({ ttlMs: 1000, maxEntries: 2 });
  store.set("a", "s1", 0);
  assert.equal(store.get("a", 1), "s1", "a plain value, not a Promise");
  store.set("b", "s2", 2);
  store.set("c", "s3", 3);
  assert.equal(store.get("a", 4), undefined);
  assert.equal((store as MemoryStickyStore).size, 2);
});
