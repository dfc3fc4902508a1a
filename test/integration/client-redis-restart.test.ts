import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";
import { startRedisServer, uniquePrefix, type PrivateRedis } from "../../src/hub/broker/testing.kit.ts";
import { Cluster } from "../support/cluster.ts";
import { Fleet, Publisher } from "../support/fleet.ts";

// The third target of issue 10, for the Redis side: a Redis restart that keeps history
// (AOF, fsync always), in the middle of a stream, loses and duplicates nothing for the
// application. The real gateway in front of two hub nodes (child processes) on a private
// redis-server, 20 clients of the SDK on one channel, a publisher at 20 messages/s
// through the gateway that retries with its idempotency key while publishes answer 503.
// Redis is killed with SIGKILL and started again on the same data; every client must
// deliver 1, 2, 3, … exactly once, in order, and never be told its history was lost.
// (SIGKILL and SIGTERM of a hub node: client-e2e.test.ts.)

const N = 20;
const CHANNEL = "e2e:redis-restart";
let redis: PrivateRedis | undefined;
let cluster: Cluster | undefined;
let fleet: Fleet | undefined;
let pub: Publisher | undefined;

after(async () => {
  await pub?.stop();
  fleet?.close();
  await cluster?.stop();
  await redis?.stop();
});

test("a Redis restart that keeps history, mid-stream: every client of both nodes delivers every message exactly once, in order", { timeout: 180_000 }, async () => {
  redis = await startRedisServer({ persist: true });
  cluster = await Cluster.start({ hubs: ["hub-a", "hub-b"], redisUrl: redis.url, prefix: uniquePrefix("client-redis") });
  fleet = await Fleet.start(cluster.url, N, CHANNEL);
  const f = fleet;
  assert.ok(f.on("hub-a").length > 0 && f.on("hub-b").length > 0, `clients on both nodes: ${f.on("hub-a").length} on a, ${f.on("hub-b").length} on b`);
  pub = new Publisher(cluster.httpUrl, CHANNEL, 20).start();
  await f.waitDelivered(10, 15_000);

  // Down for a while: publishes fail (503 from the hubs, or from the gateway once it marks them down) and are retried.
  const retriesBefore = pub.retries;
  await redis.kill();
  await sleep(1500);
  const storedWhileDown = pub.count;
  await redis.restart();
  await f.until("the publisher storing again after the restart", () => pub!.count >= storedWhileDown + 40, 60_000);
  assert.ok(pub.retries > retriesBefore, "publishes failed while Redis was down (the outage was real)");

  await pub.stop();
  const total = pub.count;
  await f.waitDelivered(total, 60_000);
  const v = f.verify(total);
  assert.deepEqual(v, { clients: N, complete: N, lost: 0, duplicates: 0, outOfOrder: 0, unrecovered: 0 }, `after ${total} messages, ${pub.retries} publish retries`);
});
