import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryBroker, MemoryStore } from "./memory.ts";
import { RedisBroker } from "./redis.ts";
import { createBroker } from "./registry.ts";

describe("createBroker", () => {
  it("memory, on a shared store when given", () => {
    const store = new MemoryStore();
    const b = createBroker({ type: "memory" }, { store });
    assert.ok(b instanceof MemoryBroker);
    assert.equal(b.store, store);
    assert.equal(b.type, "memory");
  });
  it("redis, with the node's name and the prefix", () => {
    const b = createBroker({ type: "redis", url: "redis://127.0.0.1:6379", prefix: "app" }, { node: "hub-7" });
    assert.ok(b instanceof RedisBroker);
    assert.deepEqual([b.type, b.prefix, b.node, b.up], ["redis", "app", "hub-7", false]);
  });
});
