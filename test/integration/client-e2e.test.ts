import assert from "node:assert/strict";
import { after, test } from "node:test";
import { deletePrefix, REDIS_URL, requireRedis, uniquePrefix } from "../../src/hub/broker/testing.kit.ts";
import { Cluster } from "../support/cluster.ts";
import { Fleet, Publisher, type Member } from "../support/fleet.ts";

// The end-to-end proof of issue 11 (part 9): the real gateway (a child process) in
// front of two hub nodes (child processes) on one Redis, 30 clients of the SDK on one
// channel and a publisher at 20 messages/s through the gateway. One after the other:
// a node killed with SIGKILL mid-stream, a node drained through the gateway's admin API,
// a rolling restart of both nodes, a scale-out from one node to two with `rebalance`.
// Through all of it every client delivers every message exactly once and in order.
// The reconnect profile (rates, times, lateness) is measured by the bench
// (bench/e2e.ts), not asserted here.

const N = 30;
/** No reconnect for this long = settled: 10× the rebalancer's step (rate 20/s). */
const QUIET_MS = 500;
const CHANNEL = "e2e:proof";
const prefix = uniquePrefix("client-e2e");
let cluster: Cluster | undefined;
let fleet: Fleet | undefined;
let pub: Publisher | undefined;

after(async () => {
  await pub?.stop();
  fleet?.close();
  await cluster?.stop();
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
});

/** Every client caught up with `count`: the messages since the last checkpoint delivered once each, in order (the bench reports the same counts). */
async function checkpoint(f: Fleet, count: number, what: string): Promise<void> {
  const c = await f.checkpoint(count, 30_000);
  const { lost, duplicates, outOfOrder, unrecovered, behind } = c;
  assert.deepEqual({ lost, duplicates, outOfOrder, unrecovered, behind }, { lost: 0, duplicates: 0, outOfOrder: 0, unrecovered: 0, behind: 0 }, `${what}, messages ${c.from + 1}..${c.to}: ${c.first}`);
}

async function movedOff(f: Fleet, victims: Member[], node: string, what: string): Promise<void> {
  await f.until(`${what}: the ${victims.length} clients of ${node} back on another node`, () => victims.every((m) => m.client.state === "open" && m.client.session !== null && m.client.session.node !== node), 60_000);
}

test("end to end: SIGKILL, drain, rolling restart and scale-out through the gateway — every client gets every message exactly once, in order", { timeout: 240_000 }, async () => {
  await requireRedis();
  cluster = await Cluster.start({
    hubs: ["hub-a", "hub-b"],
    redisUrl: REDIS_URL,
    prefix,
    // Spreads of 1 s: long enough that 10–20 clients' reconnects are spread out (the
    // bench measures the profile), short enough to keep this test's four moves quick.
    backendExtra: "    drainTimeout: 200ms\n    drainSpread: 1s\n    rebalance: { maxSkew: 1.25, rate: 20 }",
    hubExtra: "shutdown: { spread: 1s }",
  });
  const c = cluster;
  fleet = await Fleet.start(c.url, N, CHANNEL);
  const f = fleet;
  const hinted = new Set<Member>();
  for (const m of f.members) m.client.on("state", (s, info) => void (s === "reconnecting" && info.code === 1012 && info.hinted && hinted.add(m)));
  assert.ok(f.on("hub-a").length > 0 && f.on("hub-b").length > 0, `least-conn spreads the fleet: ${f.on("hub-a").length} on a, ${f.on("hub-b").length} on b`);
  pub = new Publisher(c.httpUrl, CHANNEL, 20).start();
  await f.waitDelivered(10, 15_000);

  // 1. A node is killed mid-stream: the gateway tells its clients 1012 with hints over drainSpread.
  const killed = f.on("hub-a");
  await c.kill("hub-a", "SIGKILL");
  await movedOff(f, killed, "hub-a", "SIGKILL");
  const unhinted = killed.filter((m) => !hinted.has(m));
  assert.equal(unhinted.length, 0, `every client of the dead node got a 1012 with a hint (${killed.length - unhinted.length} of ${killed.length})`);
  await checkpoint(f, pub.count, "after SIGKILL");
  await c.startHub("hub-a");
  await c.waitServer("hub-a", "up");
  await f.until("rebalance fills hub-a again", () => f.on("hub-a").length >= N / 3, 60_000);
  await f.settle(QUIET_MS);

  // 2. A node drained through the gateway's admin API: its tunnels close with 1012, spread.
  const drained = f.on("hub-b");
  assert.ok(drained.length > 0);
  await c.serverAction("hub-b", "drain");
  await movedOff(f, drained, "hub-b", "drain");
  await checkpoint(f, pub.count, "after the drain");
  await c.serverAction("hub-b", "enable");
  await f.until("rebalance fills hub-b again", () => f.on("hub-b").length >= N / 3, 60_000);
  await f.settle(QUIET_MS);

  // 3. A rolling restart: SIGTERM (1012 + retry-after spread over shutdown.spread), start again, next node.
  for (const node of ["hub-a", "hub-b"]) {
    const leaving = f.on(node);
    await c.kill(node, "SIGTERM");
    await movedOff(f, leaving, node, `rolling restart of ${node}`);
    await c.startHub(node);
    await c.waitServer(node, "up");
    await f.settle(QUIET_MS);
    await checkpoint(f, pub.count, `after the restart of ${node}`);
  }

  // 4. Scale-out from one node to two: everyone on hub-a, then hub-b joins and rebalance moves some over.
  await c.kill("hub-b", "SIGTERM");
  await f.until("everyone on hub-a", () => f.on("hub-a").length === N, 60_000);
  await f.settle(QUIET_MS);
  await c.startHub("hub-b");
  await c.waitServer("hub-b", "up");
  await f.until("rebalance moves clients to the new node", () => f.on("hub-b").length >= N / 3, 60_000);
  await f.settle(QUIET_MS);
  await checkpoint(f, pub.count, "after the scale-out");

  await pub.stop();
  const total = pub.count;
  await f.waitDelivered(total, 30_000);
  const v = f.verify(total);
  assert.deepEqual(v, { clients: N, complete: N, lost: 0, duplicates: 0, outOfOrder: 0, unrecovered: 0 }, `after ${total} messages`);
  assert.ok(total >= 100, `the publisher kept going through it all (${total} messages, ${pub.retries} retries)`);
});
