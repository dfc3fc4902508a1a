// The subscribe path under fire: clients subscribe (fresh or with `since`) and
// unsubscribe while publications keep coming, on one node with the memory broker and on
// two nodes sharing Redis. Every subscription must then see the channel as one stream:
// after `subscribed` at offset N (plus its recovered publications), live publications
// N+1, N+2, … with no hole and no repeat, to the last one published.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Hub } from "../../src/hub/hub.ts";
import { deletePrefix, REDIS_URL, requireRedis, uniquePrefix } from "../../src/hub/broker/testing.kit.ts";
import { ProtoClient, startHub, token } from "../hub/support.ts";
import { until } from "../support/wait.ts";

const prefix = uniquePrefix("hub-consistency");
after(() => deletePrefix(REDIS_URL, prefix).catch(() => {}));

/** Checks one client's view of `channel` from the subscribed reply on. */
function contiguous(c: ProtoClient, channel: string, last: number): void {
  const sub = c.received.findLast((m) => m.type === "subscribed" && m.channel === channel)!;
  const seen = [...(sub.publications as { offset: number }[]).map((p) => p.offset), ...c.received.slice(c.received.indexOf(sub) + 1).filter((m) => m.type === "pub" && m.channel === channel).map((m) => m.offset as number)];
  const start = sub.wasRecovering ? (seen[0] ?? (sub.offset as number) + 1) : (sub.offset as number) + 1;
  assert.deepEqual(seen, Array.from({ length: last - start + 1 }, (_, i) => start + i), `client subscribed at ${sub.offset} (recovering: ${sub.wasRecovering})`);
}

async function storm(hubs: Hub[], channel: string): Promise<void> {
  const N = 300;
  let published = 0;
  const publisher = (async () => {
    for (let i = 1; i <= N; i++) {
      await hubs[i % hubs.length]!.publish(channel, i);
      published = i;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const clients: ProtoClient[] = [];
  // Subscribers arrive all along, some resuming from a position seen by an earlier one.
  let k = 0;
  while (published < N - 20) {
    const hub = hubs[k % hubs.length]!;
    const c = await ProtoClient.connect(hub.url, await token(`u${k}`));
    const earlier = clients.findLast((x) => x.pubs(channel).length > 0);
    const since = k % 3 === 2 && earlier !== undefined ? { offset: earlier.pubs(channel).at(-1)!.offset, epoch: earlier.pubs(channel).at(-1)!.epoch } : undefined;
    const r = await c.request({ type: "subscribe", channel, since });
    assert.equal(r.type, "subscribed");
    if (since !== undefined) assert.equal(r.recovered, true, "history (size 1000) reaches back");
    // A few unsubscribe and subscribe again at once.
    if (k % 7 === 6) {
      await c.request({ type: "unsubscribe", channel });
      await c.request({ type: "subscribe", channel });
    }
    clients.push(c);
    k++;
  }
  await publisher;
  await until(() => clients.every((c) => c.pubs(channel).at(-1)?.offset === N || (c.received.findLast((m) => m.type === "subscribed")?.offset as number) === N), 15_000, "every client to reach the last publication", 25);
  for (const c of clients) contiguous(c, channel, N);
  assert.ok(clients.length >= 10, `${clients.length} subscribers joined during the storm`);
  for (const c of clients) c.close();
}

test("one node, memory broker: subscribes during a stream see it whole, once", { timeout: 60_000 }, async () => {
  const hub = await startHub("channels:\n  - { match: \"chat:*\", history: { size: 1000, ttl: 5m }, clientPublish: true }\n  - { match: \"public:*\", anonymous: true }");
  try {
    await storm([hub], "chat:storm");
  } finally {
    await hub.close();
  }
});

test("two nodes on Redis: subscribes during a stream see it whole, once", { timeout: 60_000 }, async () => {
  await requireRedis();
  const rules = `broker: { type: redis, url: "${REDIS_URL}", prefix: "${prefix}" }\nchannels:\n  - { match: "chat:*", history: { size: 1000, ttl: 5m }, clientPublish: true }\n  - { match: "public:*", anonymous: true }`;
  const a = await startHub(rules, { env: { NODE: "a" } });
  const b = await startHub(rules, { env: { NODE: "b" } });
  try {
    await storm([a, b], "chat:storm");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
