// Losing a hub node, with real child processes on a shared Redis: a node killed with
// SIGKILL loses no message for clients that reconnect to another node; the presence of
// its clients expires; a node stopped with SIGTERM answers 503 on /healthz, refuses new
// connections, and closes its clients with 1012 + retry-after spread over shutdown.spread.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hub } from "../../src/hub/hub.ts";
import { deletePrefix, REDIS_URL, requireRedis, uniquePrefix } from "../../src/hub/broker/testing.kit.ts";
import { killAll, spawnHub } from "../hub/process.ts";
import { api, CHANNELS, hubYaml, ProtoClient, startHub, token } from "../hub/support.ts";
import { waitFor, within } from "../support/wait.ts";

const prefix = uniquePrefix("hub-node-loss");
const shared = `broker: { type: redis, url: "${REDIS_URL}", prefix: "${prefix}" }\npresence: { ttl: 1s }`;
// loss:*: a history longer than the SIGKILL test publishes (300), so whether its client
// recovers does not depend on how far the publisher ran ahead while the node died (at
// load 9, more than chat:*'s 100 messages: recovered false).
const channels = `${CHANNELS}  - { match: "loss:*", history: { size: 1000, ttl: 5m } }\n`;
let b: Hub;

before(async () => {
  await requireRedis();
  b = await startHub(`${shared}\n${channels}`, { env: { NODE: "survivor" } });
});
after(async () => {
  killAll();
  await b?.close();
  await deletePrefix(REDIS_URL, prefix);
});

test("SIGKILL of a node: its clients reconnect to another node and get every message, once, in order", { timeout: 60_000 }, async () => {
  const victim = await spawnHub(hubYaml(`${shared}\n${channels}`), { NODE: "victim" });
  const t = await token("k");
  const c = await ProtoClient.connect(victim.url, t);
  const s = await c.request({ type: "subscribe", channel: "loss:kill" });
  const N = 300;
  let published = 0;
  const publisher = (async () => {
    for (let i = 1; i <= N; i++) {
      const r = await api(b.url, "/api/publish", { channel: "loss:kill", data: i, idempotencyKey: `kill-${i}` });
      assert.equal(r.status, 200);
      published = i;
    }
  })();
  await c.waitPubs("loss:kill", 40, 20_000);
  victim.kill("SIGKILL");
  assert.equal((await victim.exited).signal, "SIGKILL");
  const lost = await c.waitClose();
  assert.equal(lost.code, 1006);
  const before = c.pubs("loss:kill");
  assert.ok(published < N, "the node died while publishing went on");

  const d = await ProtoClient.connect(b.url, t);
  const r = await d.request({ type: "subscribe", channel: "loss:kill", since: { offset: before.at(-1)!.offset, epoch: s.epoch } });
  assert.equal(r.recovered, true);
  await publisher;
  const recovered = r.publications as { offset: number; data: number }[];
  const live = await d.waitPubs("loss:kill", N - before.length - recovered.length, 20_000);
  const all = [...before, ...recovered, ...live].map((p) => [p.offset, p.data]);
  assert.deepEqual(all, Array.from({ length: N }, (_, i) => [i + 1, i + 1]));
  d.close();
});

test("presence of a killed node's clients expires, with a leave event", { timeout: 60_000 }, async () => {
  const victim = await spawnHub(hubYaml(`${shared}\n${channels}`), { NODE: "ghost-maker" });
  const ghost = await ProtoClient.connect(victim.url, await token("ghost"));
  await ghost.request({ type: "subscribe", channel: "chat:ghosts" });
  const watcher = await ProtoClient.connect(b.url, await token("watcher"));
  await watcher.request({ type: "subscribe", channel: "chat:ghosts" });
  const users = async () => ((await watcher.request({ type: "presence", channel: "chat:ghosts" })).clients as { user: string }[]).map((x) => x.user).sort();
  // A node stores a subscriber's presence in Redis after answering the subscribe: wait for it.
  await waitFor("ghost and watcher in the presence list", async () => (await users()).join() === "ghost,watcher", 10_000, 20);
  victim.kill("SIGKILL");
  await victim.exited;
  const killedAt = Date.now();
  const leave = await watcher.next((m) => m.type === "leave" && m.user === "ghost", 10_000);
  assert.equal(leave.channel, "chat:ghosts");
  assert.ok(Date.now() - killedAt < 5_000, `expired within a few TTLs (${Date.now() - killedAt} ms)`);
  assert.deepEqual(await users(), ["watcher"]);
  watcher.close();
});

test("SIGTERM: /healthz 503 at once, new connections refused, clients closed with 1012 + retry-after spread over shutdown.spread, exit 0", { timeout: 60_000 }, async () => {
  const node = await spawnHub(hubYaml(`${shared}\nshutdown: { spread: 1500ms }\n${channels}`), { NODE: "leaving" });
  const clients = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
    const c = await ProtoClient.connect(node.url, await token(`u${i}`));
    await c.request({ type: "subscribe", channel: "chat:leaving" });
    return c;
  }));
  const closedAt = new Map<ProtoClient, number>();
  for (const c of clients) c.ws.once("close", () => closedAt.set(c, Date.now()));
  const t0 = Date.now();
  node.kill("SIGTERM");
  await waitFor("admin /healthz 503", async () => (await fetch(`${node.adminUrl}/healthz`).catch(() => undefined))?.status === 503, 3000, 25);
  assert.equal((await fetch(`${node.url}/healthz`)).status, 503);
  await assert.rejects(ProtoClient.open(node.url), { status: 503 });
  const sse = await fetch(`${node.url}/sse`);
  assert.equal(sse.status, 503);
  assert.equal(sse.headers.get("retry-after"), "1");
  for (const c of clients) {
    const { code, reason } = await c.waitClose(10_000);
    assert.equal(code, 1012);
    assert.match(reason, /^retry-after=\d+/);
  }
  const times = [...closedAt.values()].sort((x, y) => x - y);
  assert.ok(times.at(-1)! - times[0]! >= 700, `closes spread over the window (${times[0]! - t0}..${times.at(-1)! - t0} ms)`);
  assert.ok(times.at(-1)! - t0 < 6000, "every client closed soon after the spread");
  assert.deepEqual(await within(node.exited, 10_000, "the node to exit after its spread"), { code: 0, signal: null });
});

