// Hub nodes sharing a real Redis (REDIS_URL, keys under a unique prefix): fan-out across
// nodes, resume on another node, recovered:false beyond history, presence across nodes;
// and on a private redis-server (spare port): a restart without persistence changes
// the epoch, one with persistence loses nothing, an outage answers unavailable/503 and
// /healthz says so.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hub } from "../../src/hub/hub.ts";
import { deletePrefix, REDIS_URL, requireRedis, startRedisServer, uniquePrefix } from "../../src/hub/broker/testing.kit.ts";
import { api, ProtoClient, startHub, token } from "../hub/support.ts";
import { waitFor } from "../support/wait.ts";

const prefix = uniquePrefix("hub-redis");
const broker = (url: string, p = prefix) => `broker: { type: redis, url: "${url}", prefix: "${p}" }\npresence: { ttl: 3s }`;
let a: Hub;
let b: Hub;

before(async () => {
  await requireRedis();
  a = await startHub(broker(REDIS_URL), { env: { NODE: "node-a" } });
  b = await startHub(broker(REDIS_URL), { env: { NODE: "node-b" } });
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await deletePrefix(REDIS_URL, prefix);
});

test("two nodes on one Redis: a client on node A gets what is published on node B, and the other way", async () => {
  const ca = await ProtoClient.connect(a.url, await token("alice"));
  const cb = await ProtoClient.connect(b.url, await token("bob"));
  assert.equal(ca.received[0]!.node, "node-a");
  assert.equal(cb.received[0]!.node, "node-b");
  await ca.request({ type: "subscribe", channel: "chat:both" });
  await cb.request({ type: "subscribe", channel: "chat:both" });
  const r = await api(b.url, "/api/publish", { channel: "chat:both", data: { from: "api on b" } });
  assert.equal(r.status, 200);
  assert.equal(r.body.offset, 1);
  await ca.request({ type: "publish", channel: "chat:both", data: { from: "alice on a" } });
  for (const c of [ca, cb]) {
    const pubs = await c.waitPubs("chat:both", 2);
    assert.deepEqual(pubs.map((p) => [p.offset, (p.data as { from: string }).from]), [[1, "api on b"], [2, "alice on a"]]);
  }
  // Presence spans nodes: bob's join (node B) reaches alice (node A).
  await ca.next((m) => m.type === "join" && m.user === "bob");
  const p = await cb.request({ type: "presence", channel: "chat:both" });
  assert.deepEqual((p.clients as { user: string }[]).map((x) => x.user).sort(), ["alice", "bob"]);
  ca.close();
  await cb.next((m) => m.type === "leave" && m.user === "alice");
  cb.close();
});

test("resume on another node recovers exactly the missed publications", async () => {
  const t = await token("r");
  const ca = await ProtoClient.connect(a.url, t);
  const s = await ca.request({ type: "subscribe", channel: "chat:move" });
  for (let i = 1; i <= 3; i++) await api(b.url, "/api/publish", { channel: "chat:move", data: i });
  const seen = await ca.waitPubs("chat:move", 3);
  ca.close();
  for (let i = 4; i <= 9; i++) await api(a.url, "/api/publish", { channel: "chat:move", data: i });
  const cb = await ProtoClient.connect(b.url, t);
  const r = await cb.request({ type: "subscribe", channel: "chat:move", since: { offset: seen.at(-1)!.offset, epoch: s.epoch } });
  assert.equal(r.recovered, true);
  assert.deepEqual((r.publications as { data: number }[]).map((p) => p.data), [4, 5, 6, 7, 8, 9]);
  await api(a.url, "/api/publish", { channel: "chat:move", data: 10 });
  assert.equal((await cb.next((m) => m.type === "pub")).data, 10);
  cb.close();
});

test("a gap larger than history answers recovered: false with nothing", async () => {
  const c = await ProtoClient.connect(a.url, await token("g"));
  const s = await c.request({ type: "subscribe", channel: "small:redis" });
  c.close();
  for (let i = 1; i <= 8; i++) await api(b.url, "/api/publish", { channel: "small:redis", data: i });
  const d = await ProtoClient.connect(b.url, await token("g"));
  const r = await d.request({ type: "subscribe", channel: "small:redis", since: { offset: 0, epoch: s.epoch } });
  assert.equal(r.recovered, false);
  assert.deepEqual(r.publications, []);
  assert.equal(r.offset, 8);
  const h = await api(b.url, "/api/history", { channel: "small:redis" });
  assert.deepEqual((h.body.publications as { data: number }[]).map((p) => p.data), [6, 7, 8]);
  d.close();
});

test("idempotency keys: the same key on either node is applied once and answers the first result", async () => {
  const first = await api(a.url, "/api/publish", { channel: "chat:idem", data: "x", idempotencyKey: "k1" });
  const again = await api(b.url, "/api/publish", { channel: "chat:idem", data: "x", idempotencyKey: "k1" });
  assert.equal(first.status, 200);
  assert.deepEqual(again.body, first.body);
  const h = await api(a.url, "/api/history", { channel: "chat:idem" });
  assert.equal((h.body.publications as unknown[]).length, 1);
});

test("a Redis restart without persistence: clients are told to resubscribe, old positions answer recovered: false, the epoch changes", async () => {
  const redis = await startRedisServer();
  const hub = await startHub(broker(redis.url, "restart"), { env: { NODE: "restarts" } });
  try {
    const c = await ProtoClient.connect(hub.url, await token("e"));
    const s = await c.request({ type: "subscribe", channel: "chat:epoch" });
    for (let i = 1; i <= 3; i++) await hub.publish("chat:epoch", i);
    await c.waitPubs("chat:epoch", 3);

    await redis.kill();
    await waitFor("healthz 503 while Redis is down", async () => (await fetch(`${hub.url}/healthz`)).status === 503, 5000, 25);
    const health = (await (await fetch(`${hub.url}/healthz`)).json()) as { status: string; brokerUp: boolean };
    assert.equal(health.status, "broker-down");
    assert.equal(health.brokerUp, false);
    const refused = await c.request({ type: "publish", channel: "chat:epoch", data: "lost?" });
    assert.equal(refused.code, "unavailable");
    assert.equal(refused.temporary, true);
    const r503 = await api(hub.url, "/api/publish", { channel: "chat:epoch", data: "lost?" });
    assert.equal(r503.status, 503);

    await redis.restart();
    await waitFor("healthz 200 once Redis is back", async () => (await fetch(`${hub.url}/healthz`)).status === 200, 15_000, 25);
    const push = await c.next((m) => m.type === "unsubscribe", 10_000);
    assert.equal(push.channel, "chat:epoch");
    assert.equal(push.resubscribe, true);
    const again = await c.request({ type: "subscribe", channel: "chat:epoch", since: { offset: 3, epoch: s.epoch } });
    assert.equal(again.recovered, false);
    assert.notEqual(again.epoch, s.epoch);
    assert.deepEqual(again.publications, []);
    const p = await hub.publish("chat:epoch", 4);
    assert.equal(p.offset, 1);
    assert.equal(p.epoch, again.epoch);
    assert.equal((await c.next((m) => m.type === "pub" && m.epoch === again.epoch)).data, 4);
    // The refused publishes were never stored.
    const h = await api(hub.url, "/api/history", { channel: "chat:epoch" });
    assert.deepEqual((h.body.publications as { data: unknown }[]).map((x) => x.data), [4]);
    c.close();
  } finally {
    await hub.close();
    await redis.stop();
  }
});

test("a Redis restart that keeps history: subscribers continue with nothing lost and no resubscribe", async () => {
  const redis = await startRedisServer({ persist: true });
  const hub = await startHub(broker(redis.url, "persist"), { env: { NODE: "persists" } });
  try {
    const c = await ProtoClient.connect(hub.url, await token("p"));
    await c.request({ type: "subscribe", channel: "chat:keep" });
    for (let i = 1; i <= 5; i++) await hub.publish("chat:keep", i);
    await redis.kill();
    await redis.restart();
    await waitFor("healthz 200 once Redis is back", async () => (await fetch(`${hub.url}/healthz`)).status === 200, 15_000, 25);
    for (let i = 6; i <= 8; i++) await hub.publish("chat:keep", i);
    const pubs = await c.waitPubs("chat:keep", 8);
    assert.deepEqual(pubs.map((p) => [p.offset, p.data]), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => [i, i]));
    assert.equal(c.received.filter((m) => m.type === "unsubscribe").length, 0);
    c.close();
  } finally {
    await hub.close();
    await redis.stop();
  }
});
