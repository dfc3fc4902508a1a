import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientClosedError, QueueFullError } from "./errors.ts";
import { PublishQueue, randomKey } from "./queue.ts";

function keys(): () => string {
  let n = 0;
  return () => `k${++n}`;
}

test("PublishQueue: in publish order, sent once per connection, everything unconfirmed again after a rewind", async () => {
  const q = new PublishQueue(10, keys());
  const a = q.add("ch", "a");
  const b = q.add("ch", "b");
  assert.deepEqual([...q.unsent()].map((e) => [e.key, e.data, e.sends]), [["k1", "a", 1], ["k2", "b", 1]]);
  assert.deepEqual([...q.unsent()], [], "nothing twice on one connection");
  const c = q.add("ch", "c");
  assert.deepEqual([...q.unsent()].map((e) => e.key), ["k3"]);
  assert.equal(q.settle("k1", { offset: 1, epoch: "e" }), true);
  assert.deepEqual(await a.promise, { offset: 1, epoch: "e" });
  // The connection drops before k2 and k3 are confirmed: both go again, same keys, same order.
  q.rewind();
  assert.deepEqual([...q.unsent()].map((e) => [e.key, e.sends]), [["k2", 2], ["k3", 2]]);
  assert.equal(q.settle("k2", { offset: 2, epoch: "e" }), true);
  assert.equal(q.settle("k2", { offset: 2, epoch: "e" }), false, "a late duplicate reply is ignored");
  assert.equal(q.settle("k3", {}), true);
  assert.deepEqual(await b.promise, { offset: 2, epoch: "e" });
  assert.deepEqual(await c.promise, {});
  assert.equal(q.size, 0);
});

test("PublishQueue: bounded by max; full is an error and queues nothing", () => {
  const q = new PublishQueue(2, keys());
  q.add("ch", 1);
  q.add("ch", 2);
  assert.throws(() => q.add("ch", 3), (e: unknown) => e instanceof QueueFullError && e.code === "HF_ERR_CLIENT_QUEUE_FULL" && /queue\.max = 2/.test(e.message));
  assert.equal(q.size, 2);
  q.settle("k1", {});
  assert.equal(q.add("ch", 4).key, "k3");
  assert.throws(() => new PublishQueue(0), /queue\.max/);
});

test("PublishQueue: an explicit key is kept; the same key twice while waiting is refused", () => {
  const q = new PublishQueue(5, keys());
  assert.equal(q.add("ch", 1, "mine").key, "mine");
  assert.throws(() => q.add("ch", 2, "mine"), /already waiting/);
});

test("PublishQueue: retry() resends one entry; fail() rejects one; failAll() tells sent from unsent", async () => {
  const q = new PublishQueue(5, keys());
  const a = q.add("ch", "a");
  const b = q.add("ch", "b");
  const c = q.add("ch", "c");
  assert.equal([...q.unsent()].length, 3);
  q.retry("k2");
  assert.deepEqual([...q.unsent()].map((e) => [e.key, e.sends]), [["k2", 2]]);
  q.fail("k1", new Error("forbidden"));
  await assert.rejects(a.promise, /forbidden/);
  const d = q.add("ch", "d");
  q.rewind();
  q.failAll(new ClientClosedError("closed, not sent"), new ClientClosedError("closed, maybe stored"));
  await assert.rejects(b.promise, /maybe stored/);
  await assert.rejects(c.promise, /maybe stored/);
  await assert.rejects(d.promise, /not sent/);
  assert.equal(q.size, 0);
});

test("randomKey: 32 hex digits from 16 random bytes, distinct draws", () => {
  assert.equal(randomKey((b) => b.fill(0xab)), "ab".repeat(16));
  assert.equal(randomKey((b) => b.fill(1)), "01".repeat(16));
  const seen = new Set(Array.from({ length: 1000 }, () => randomKey()));
  assert.equal(seen.size, 1000);
  for (const k of seen) assert.match(k, /^[0-9a-f]{32}$/);
});
