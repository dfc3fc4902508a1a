import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBrokerConformance, Recorder, type BrokerHarness } from "./conformance.kit.ts";
import { MemoryBroker, MemoryStore } from "./memory.ts";

async function memoryHarness(): Promise<BrokerHarness> {
  let t = 1_000_000;
  const store = new MemoryStore({ now: () => t });
  return {
    node: () => new MemoryBroker({ store }),
    advance: async (ms) => void (t += ms),
    close: async () => {},
    outage: { begin: async () => store.setAvailable(false), end: async () => store.setAvailable(true) },
  };
}

runBrokerConformance("memory", memoryHarness, { outage: memoryHarness });

describe("memory broker", () => {
  it("a new store is a new epoch for every channel", async () => {
    const h = { size: 10, ttlMs: 60_000 };
    const a = new MemoryBroker();
    const b = new MemoryBroker();
    await a.start(new Recorder());
    await b.start(new Recorder());
    for (const ch of ["ch", "chat:1", "news"]) {
      const ra = await a.publish(ch, { data: "1", history: h });
      const rb = await b.publish(ch, { data: "1", history: h });
      assert.deepEqual([ra.offset, rb.offset], [1, 1], ch);
      assert.notEqual(ra.epoch, rb.epoch, ch);
    }
  });

  it("forgets expired channels and idempotency keys as time passes (bounded memory)", async () => {
    let t = 0;
    const store = new MemoryStore({ now: () => t, newEpoch: () => `e${t}` });
    const b = new MemoryBroker({ store });
    await b.start(new Recorder());
    for (let i = 0; i < 1000; i++) await b.publish(`c${i}`, { data: "x", history: { size: 1, ttlMs: 1000 }, idempotencyKey: `k${i}`, idempotencyTtlMs: 1000 });
    assert.deepEqual(store.stats(), { channels: 1000, idempotencyKeys: 1000, presenceChannels: 0 });
    t = 5000;
    await b.publish("last", { data: "x", history: { size: 1, ttlMs: 1000 }, idempotencyKey: "k" });
    assert.deepEqual(store.stats(), { channels: 1, idempotencyKeys: 1, presenceChannels: 0 });
    // the expired channels went with that publish: a read now starts each at a new epoch
    assert.deepEqual((await b.history("c0", { history: { size: 1, ttlMs: 1000 } })).position, { offset: 0, epoch: "e5000" });
  });

  it("start twice is an error; calls before start fail clearly", async () => {
    const b = new MemoryBroker();
    await assert.rejects(b.publish("x", { data: "1", history: null }), /call start\(\) first/);
    await b.start(new Recorder());
    await assert.rejects(b.start(new Recorder()), /already started/);
  });
});
