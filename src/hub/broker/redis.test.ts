import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { runBrokerConformance, type BrokerHarness } from "./conformance.kit.ts";
import { channelKeys, decodeEntries, decodeMessage } from "./redis-lua.ts";
import { RedisBroker, redactUrl } from "./redis.ts";
import { deletePrefix, REDIS_URL, requireRedis, startRedisServer, uniquePrefix, type PrivateRedis } from "./testing.kit.ts";

before(() => requireRedis());

/** Nodes on the shared Redis, under a prefix of their own. */
async function sharedHarness(): Promise<BrokerHarness> {
  const prefix = uniquePrefix("conformance");
  let n = 0;
  return {
    node: () => new RedisBroker({ url: REDIS_URL, prefix, node: `n${++n}` }),
    advance: (ms) => sleep(ms),
    close: () => deletePrefix(REDIS_URL, prefix),
  };
}

// The outage test needs a Redis it may kill: a private one, append-only and fsynced on
// every write, so what was acknowledged before the kill is there after the restart.
let outageRedis: PrivateRedis | undefined;
after(() => outageRedis?.stop());
async function outageHarness(): Promise<BrokerHarness> {
  outageRedis ??= await startRedisServer({ persist: true });
  const redis = outageRedis;
  const prefix = uniquePrefix("outage");
  let n = 0;
  return {
    node: () => new RedisBroker({ url: redis.url, prefix, node: `o${++n}`, probeIntervalMs: 200, probeTimeoutMs: 500, commandTimeoutMs: 500 }),
    advance: (ms) => sleep(ms),
    close: () => deletePrefix(redis.url, prefix),
    outage: { begin: () => redis.kill(), end: () => redis.restart() },
  };
}

runBrokerConformance("redis", sharedHarness, { outage: outageHarness });

describe("redis broker: wire details", () => {
  it("decodes publications, joins and leaves; data is sliced, never parsed", () => {
    assert.deepEqual(decodeMessage('p\n7\nxYz\n\n{"a":"b\\nc"}'), { kind: "pub", pub: { offset: 7, epoch: "xYz", data: '{"a":"b\\nc"}' } });
    assert.deepEqual(decodeMessage("p\n\n\n\nraw\nwith newline"), { kind: "pub", pub: { data: "raw\nwith newline" } });
    assert.deepEqual(decodeMessage('p\n1\ne\n{"client":"c","user":"u"}\n1'), { kind: "pub", pub: { offset: 1, epoch: "e", data: "1", info: { client: "c", user: "u" } } });
    assert.deepEqual(decodeMessage('j\n{"client":"c","user":"u"}'), { kind: "join", who: { client: "c", user: "u" } });
    assert.deepEqual(decodeMessage('l\n{"client":"c","user":"u"}'), { kind: "leave", who: { client: "c", user: "u" } });
    for (const bad of ["", "x", "p\n1", "p\n1\ne", "jx"]) assert.deepEqual(decodeMessage(bad), { kind: "bad" }, JSON.stringify(bad));
    assert.deepEqual(decodeEntries([["3-0", ["d", "1"]], ["4-0", ["d", "2", "i", '{"client":"c","user":""}']]], "e"), [
      { offset: 3, epoch: "e", data: "1" },
      { offset: 4, epoch: "e", data: "2", info: { client: "c", user: "" } },
    ]);
  });

  it("keeps a channel's keys in one cluster slot (hash tag) under the prefix", () => {
    const k = channelKeys("app", "chat:1");
    for (const key of [k.meta, k.stream, k.presenceZ, k.presenceH]) assert.match(key, /^app:\{chat:1\}:/);
    assert.equal(k.pubsub, "app:{chat:1}");
  });

  it("stores publications as a stream with the offset as the entry id, and expires both keys", async () => {
    const prefix = uniquePrefix("layout");
    const b = new RedisBroker({ url: REDIS_URL, prefix });
    await b.start({ publication() {}, join() {}, leave() {}, state() {} });
    const { createClient } = await import("redis");
    const c = createClient({ url: REDIS_URL, RESP: 2 });
    try {
      const r = await b.publish("c", { data: '{"x":1}', history: { size: 2, ttlMs: 60_000 }, info: { client: "c1", user: "u" } });
      await b.publish("c", { data: "2", history: { size: 2, ttlMs: 60_000 } });
      const lastPublish = performance.now();
      await b.publish("c", { data: "3", history: { size: 2, ttlMs: 60_000 } });
      await c.connect();
      const k = channelKeys(prefix, "c");
      assert.deepEqual(await c.hGetAll(k.meta), { e: r.epoch, o: "3" });
      const entries = await c.sendCommand(["XRANGE", k.stream, "-", "+"]);
      assert.deepEqual(entries, [["2-0", ["d", "2"]], ["3-0", ["d", "3"]]]);
      for (const key of [k.meta, k.stream]) {
        // Set to 60 s by the last publish: less only by the time since (a loaded machine
        // can take seconds between the publish and this read), measured once the read is
        // back (measured before it, a read that took 30 ms at load 9 failed the bound).
        const ttl = await c.pTTL(key);
        const since = performance.now() - lastPublish;
        assert.ok(ttl >= 60_000 - since - 5 && ttl <= 60_000, `${key} ttl ${ttl}, ${Math.round(since)} ms after the last publish`);
      }
    } finally {
      if (c.isOpen) c.destroy(); // also when an assertion failed: an open client would keep the file running
      await b.close();
      await deletePrefix(REDIS_URL, prefix);
    }
  });

  it("cannot start without Redis: a clear BrokerUnavailableError, password redacted", async () => {
    const b = new RedisBroker({ url: "redis://:secret@127.0.0.1:1", startTimeoutMs: 1000 });
    await assert.rejects(b.start({ publication() {}, join() {}, leave() {}, state() {} }), (e: Error) => {
      assert.equal(e.name, "BrokerUnavailableError");
      assert.match(e.message, /cannot start on redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
    assert.equal(redactUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
  });
});
