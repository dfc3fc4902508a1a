// What a hub does under bad conditions, over real sockets: slow consumers (send queue
// close / drop-oldest), dead clients (pong timeout), no connect, token expiry with
// in-band refresh, a node at its connection limit, lost live messages (gap repair or
// resubscribe), a broker outage, and garbage from many clients at once.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { MemoryBroker, MemoryStore } from "../../src/hub/broker/memory.ts";
import type { Broker, BrokerEvents, BrokerPublication } from "../../src/hub/broker/types.ts";
import { api, ProtoClient, startHub, token } from "../hub/support.ts";
import { until } from "../support/wait.ts";

const pause = (c: ProtoClient) => (c.ws as unknown as { _socket: Socket })._socket.pause();
const resume = (c: ProtoClient) => (c.ws as unknown as { _socket: Socket })._socket.resume();

test("a slow consumer with onOverflow: close is closed with 1013 + retry-after; the others keep receiving", { timeout: 30_000 }, async () => {
  const hub = await startHub("sendQueue: { maxBytes: 64KiB, onOverflow: close }\nlimits: { maxMessageBytes: 32KiB }");
  try {
    const slow = await ProtoClient.connect(hub.url, await token("slow"));
    const fast = await ProtoClient.connect(hub.url, await token("fast"));
    await slow.request({ type: "subscribe", channel: "live:flood" });
    await fast.request({ type: "subscribe", channel: "live:flood" });
    pause(slow);
    const blob = "x".repeat(16_000);
    // One event-loop turn per publication, so that the fast client (in this process too) reads as it goes.
    for (let i = 0; i < 600 && hub.stats.overflows === 0; i++) {
      await hub.publish("live:flood", { i, blob });
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(hub.stats.overflows, 1);
    resume(slow);
    const { code, reason } = await slow.waitClose();
    assert.equal(code, 1013);
    assert.match(reason, /^retry-after=\d+; send queue full/);
    await hub.publish("live:flood", "after");
    await fast.next((m) => m.type === "pub" && m.data === "after", 10_000);
    fast.close();
  } finally {
    await hub.close();
  }
});

test("drop-oldest: the slow client gets unsubscribe + resubscribe in place of what was dropped, and recovers exactly the rest", { timeout: 30_000 }, async () => {
  const hub = await startHub("sendQueue: { maxBytes: 64KiB, onOverflow: drop-oldest }\nlimits: { maxMessageBytes: 32KiB }");
  try {
    const slow = await ProtoClient.connect(hub.url, await token("slow"));
    const s = await slow.request({ type: "subscribe", channel: "chat:flood" });
    pause(slow);
    const blob = "y".repeat(16_000);
    let n = 0;
    while (hub.stats.dropped === 0 && n < 800) await hub.publish("chat:flood", { i: ++n, blob });
    for (let k = 0; k < 20; k++) await hub.publish("chat:flood", { i: ++n, blob });
    assert.ok(hub.stats.dropped > 0, "the queue overflowed");
    resume(slow);
    const push = await slow.next((m) => m.type === "unsubscribe", 10_000);
    assert.equal(push.channel, "chat:flood");
    assert.equal(push.resubscribe, true);
    assert.equal(slow.closed, undefined);
    const got = slow.pubs("chat:flood");
    assert.deepEqual(got.map((p) => p.offset), Array.from({ length: got.length }, (_, i) => i + 1), "contiguous up to the hole");
    assert.ok(got.length < n);
    const r = await slow.request({ type: "subscribe", channel: "chat:flood", since: { offset: got.length, epoch: s.epoch } });
    assert.equal(r.recovered, true);
    assert.deepEqual((r.publications as { offset: number }[]).map((p) => p.offset), Array.from({ length: n - got.length }, (_, i) => got.length + i + 1));
    slow.close();
  } finally {
    await hub.close();
  }
});

test("heartbeats: a client that never answers is closed with 4001; one that does stays; no connect in time → 4000", { timeout: 30_000 }, async () => {
  const hub = await startHub("ping: { interval: 200ms, timeout: 300ms }");
  try {
    const mute = await ProtoClient.connect(hub.url, await token("mute"));
    const alive = await ProtoClient.connect(hub.url, await token("alive"));
    alive.ws.on("message", (d: Buffer) => {
      if (d.toString() === '{"type":"ping"}') alive.raw('{"type":"pong"}');
    });
    const silent = await ProtoClient.open(hub.url);
    assert.equal((await silent.waitClose()).code, 4000);
    const { code, reason } = await mute.waitClose();
    assert.equal(code, 4001);
    assert.match(reason, /no pong/);
    assert.ok(mute.received.some((m) => m.type === "ping"));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(alive.closed, undefined);
    alive.close();
  } finally {
    await hub.close();
  }
});

test("token expiry: expired push, commands refused until refresh, refresh in-band keeps the connection; no refresh → 4002", { timeout: 30_000 }, async () => {
  const hub = await startHub("ping: { interval: 200ms, timeout: 600ms }");
  try {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const keeper = await ProtoClient.connect(hub.url, await token("ann", { exp }));
    keeper.ws.on("message", (d: Buffer) => d.toString() === '{"type":"ping"}' && keeper.raw('{"type":"pong"}'));
    const lazy = await ProtoClient.connect(hub.url, await token("ann", { exp }));
    lazy.ws.on("message", (d: Buffer) => d.toString() === '{"type":"ping"}' && lazy.raw('{"type":"pong"}'));
    await keeper.request({ type: "subscribe", channel: "chat:exp" });
    await keeper.next((m) => m.type === "expired", 5000);
    assert.equal((await keeper.request({ type: "subscribe", channel: "chat:exp2" })).code, "token_expired");
    assert.equal((await keeper.request({ type: "refresh", token: await token("bob") })).code, "forbidden");
    const r = await keeper.request({ type: "refresh", token: await token("ann", { exp: exp + 3600 }) });
    assert.equal(r.type, "refreshed");
    assert.equal(r.expires, (exp + 3600) * 1000);
    assert.equal((await keeper.request({ type: "subscribe", channel: "chat:exp2" })).type, "subscribed");
    await hub.publish("chat:exp", "still subscribed");
    assert.equal((await keeper.next((m) => m.type === "pub")).data, "still subscribed");
    assert.equal((await lazy.waitClose()).code, 4002);
    assert.equal(keeper.closed, undefined);
    keeper.close();
  } finally {
    await hub.close();
  }
});

test("limits.maxConnections: one more WebSocket is accepted and closed with 1013 + retry-after; SSE gets 503", async () => {
  const hub = await startHub("limits: { maxConnections: 2 }");
  try {
    const c1 = await ProtoClient.connect(hub.url);
    const c2 = await ProtoClient.connect(hub.url);
    const c3 = await ProtoClient.open(hub.url);
    const { code, reason } = await c3.waitClose();
    assert.equal(code, 1013);
    assert.match(reason, /^retry-after=\d+/);
    const sse = await fetch(`${hub.url}/sse`);
    assert.equal(sse.status, 503);
    assert.ok(Number(sse.headers.get("retry-after")) >= 1);
    c1.close();
    c2.close();
  } finally {
    await hub.close();
  }
});

/** A MemoryBroker whose live publications can be intercepted (lost between broker and node). */
class LossyBroker extends MemoryBroker {
  drop: (channel: string, pub: BrokerPublication) => boolean = () => false;
  events: BrokerEvents | undefined;
  override start(events: BrokerEvents): Promise<void> {
    this.events = events;
    return super.start({ ...events, publication: (ch, p) => (this.drop(ch, p) ? undefined : events.publication(ch, p)) });
  }
}

test("a live message lost between broker and node is repaired from history; a hole history cannot fill ends in resubscribe", async () => {
  const broker = new LossyBroker({ store: new MemoryStore() });
  const hub = await startHub("", { broker: broker as Broker });
  try {
    const c = await ProtoClient.connect(hub.url, await token("gap"));
    await c.request({ type: "subscribe", channel: "chat:gap" });
    broker.drop = (_ch, p) => p.offset === 3 || p.offset === 4;
    for (let i = 1; i <= 6; i++) await hub.publish("chat:gap", i);
    const pubs = await c.waitPubs("chat:gap", 6);
    assert.deepEqual(pubs.map((p) => p.offset), [1, 2, 3, 4, 5, 6]);
    assert.equal(hub.stats.gaps, 1);

    await c.request({ type: "subscribe", channel: "small:gap" });
    broker.drop = (ch, p) => ch === "small:gap" && p.offset! <= 5;
    for (let i = 1; i <= 6; i++) await hub.publish("small:gap", i);
    const push = await c.next((m) => m.type === "unsubscribe" && m.channel === "small:gap");
    assert.equal(push.resubscribe, true);
    c.close();
  } finally {
    await hub.close();
  }
});

test("a broker outage: publishes unavailable and 503, /healthz says so; when it returns, what live delivery missed is delivered", async () => {
  const store = new MemoryStore();
  const broker = new LossyBroker({ store });
  const hub = await startHub("", { broker: broker as Broker });
  try {
    const c = await ProtoClient.connect(hub.url, await token("o"));
    await c.request({ type: "subscribe", channel: "chat:outage" });
    await hub.publish("chat:outage", 1);
    // Publications 2 and 3 are stored but their live delivery is lost, then the broker goes down.
    broker.drop = () => true;
    await hub.publish("chat:outage", 2);
    await hub.publish("chat:outage", 3);
    store.setAvailable(false);
    await until(() => !hub.node.brokerUp, 5000, "the hub to see the broker down", 25);
    const health = await fetch(`${hub.url}/healthz`);
    assert.equal(health.status, 503);
    assert.equal(((await health.json()) as { status: string }).status, "broker-down");
    assert.equal((await c.request({ type: "publish", channel: "chat:outage", data: "no" })).code, "unavailable");
    const r = await api(hub.url, "/api/publish", { channel: "chat:outage", data: "no" });
    assert.equal(r.status, 503);
    assert.match(String(r.body.error), /nothing was stored/);
    broker.drop = () => false;
    store.setAvailable(true);
    const pubs = await c.waitPubs("chat:outage", 3);
    assert.deepEqual(pubs.map((p) => p.data), [1, 2, 3]);
    assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
    c.close();
  } finally {
    await hub.close();
  }
});

test("garbage from 40 clients at once (bad JSON, bad types, huge ids, binary, unknown commands) crashes nothing and disturbs no one", { timeout: 30_000 }, async () => {
  const hub = await startHub("limits: { maxMessageBytes: 8KiB }\nsendQueue: { maxBytes: 64KiB }");
  try {
    const good = await ProtoClient.connect(hub.url, await token("good"));
    await good.request({ type: "subscribe", channel: "chat:calm" });
    const junk = [
      "", "null", "[]", "[1,2]", "42", '"str"', "{", "}{", '{"type":1}', '{"id":-1,"type":"subscribe"}', '{"id":1.5,"type":"connect"}',
      '{"id":1e300,"type":"connect"}', '{"id":1,"type":"connect","token":5}', '{"id":2,"type":"subscribe","channel":{}}',
      '{"id":3,"type":"publish","channel":"chat:calm"}', '{"id":4,"type":"history","channel":"chat:calm","limit":-5}',
      '{"id":5,"type":"subscribe","channel":"chat:x","since":{"offset":"1","epoch":2}}', '{"id":6,"type":"__proto__"}',
      '{"id":7,"type":"constructor"}', '{"__proto__":{"polluted":true},"id":8,"type":"pong"}', "\u0000\u0001", "x".repeat(9000),
    ];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const clients = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const c = await ProtoClient.open(hub.url);
      if (i % 2 === 0) await c.request({ type: "connect" });
      for (let k = 0; k < 30; k++) {
        if (c.closed) break;
        const pick = junk[Math.floor(rand() * junk.length)]!;
        if (rand() < 0.1) c.raw(Buffer.from(Array.from({ length: 20 }, () => Math.floor(rand() * 256))));
        else c.raw(pick);
      }
      return c;
    }));
    await hub.publish("chat:calm", "fine");
    assert.equal((await good.next((m) => m.type === "pub")).data, "fine");
    assert.equal(good.closed, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
    for (const c of clients) c.close();
    good.close();
  } finally {
    await hub.close();
  }
});
