// The hub's protocol over real WebSockets (docs/protocol.md): connect, subscribe,
// publish, fan-out, resume, history, presence, errors. Raw `ws` clients.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hub } from "../../src/hub/hub.ts";
import { api, ProtoClient, startHub, token } from "../hub/support.ts";

let hub: Hub;
before(async () => {
  hub = await startHub("limits: { maxSubscriptions: 3, maxMessageBytes: 4KiB }\nsendQueue: { maxBytes: 64KiB }");
});
after(() => hub.close());

test("connect with a token: connected names the client, the user and the node", async () => {
  const c = await ProtoClient.open(hub.url);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const r = await c.request({ type: "connect", token: await token("alice", { exp }), name: "test/1" });
  assert.equal(r.type, "connected");
  assert.equal(r.user, "alice");
  assert.equal(r.node, "test-hub");
  assert.equal(r.ping, 25_000);
  assert.equal(r.pong, 10_000);
  assert.equal(r.expires, exp * 1000);
  assert.equal(r.maxMessageBytes, 4096);
  assert.match(String(r.client), /^[0-9a-f-]{36}$/);
  c.close();
});

test("a publication reaches every subscriber, in order, with offsets and the epoch", async () => {
  const [a, b] = await Promise.all([ProtoClient.connect(hub.url, await token("a")), ProtoClient.connect(hub.url, await token("b"))]);
  for (const c of [a, b]) {
    const s = await c.request({ type: "subscribe", channel: "chat:order" });
    assert.equal(s.type, "subscribed");
    assert.equal(s.recovered, false);
    assert.equal(s.wasRecovering, false);
    assert.equal(s.recoverable, true);
    assert.deepEqual(s.publications, []);
  }
  // Pipelined: one connection's publishes are stored in the order sent.
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => a.request({ type: "publish", channel: "chat:order", data: { i: i + 1 } })));
  assert.deepEqual(replies.map((r) => [r.type, r.offset]), Array.from({ length: 20 }, (_, i) => ["published", i + 1]));
  for (const c of [a, b]) {
    const pubs = await c.waitPubs("chat:order", 20);
    assert.deepEqual(pubs.map((p) => (p.data as { i: number }).i), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(pubs.map((p) => p.offset), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(new Set(pubs.map((p) => p.epoch)).size, 1);
    assert.deepEqual(pubs[0]!.info, { client: (await clientId(a)), user: "a" });
  }
  a.close();
  b.close();
});

async function clientId(c: ProtoClient): Promise<string> {
  return String(c.received.find((m) => m.type === "connected")!.client);
}

test("resume: subscribe with since gets exactly the missed publications, then live ones", async () => {
  const t = await token("r");
  const c = await ProtoClient.connect(hub.url, t);
  const s = await c.request({ type: "subscribe", channel: "chat:resume" });
  for (let i = 1; i <= 3; i++) await hub.publish("chat:resume", { i });
  await c.waitPubs("chat:resume", 3);
  const last = c.pubs("chat:resume").at(-1)!;
  c.close();
  for (let i = 4; i <= 8; i++) await hub.publish("chat:resume", { i });
  const d = await ProtoClient.connect(hub.url, t);
  const r = await d.request({ type: "subscribe", channel: "chat:resume", since: { offset: last.offset, epoch: s.epoch } });
  assert.equal(r.recovered, true);
  assert.equal(r.wasRecovering, true);
  assert.equal(r.offset, 8);
  assert.deepEqual((r.publications as { offset: number; data: { i: number }; channel: string }[]).map((p) => [p.offset, p.data.i, p.channel]), [4, 5, 6, 7, 8].map((i) => [i, i, "chat:resume"]));
  await hub.publish("chat:resume", { i: 9 });
  const p = await d.next((m) => m.type === "pub");
  assert.equal(p.offset, 9);
  d.close();
});

test("resume beyond history (trimmed) answers recovered: false with nothing", async () => {
  const c = await ProtoClient.connect(hub.url, await token("s"));
  const s = await c.request({ type: "subscribe", channel: "small:gap" });
  for (let i = 1; i <= 10; i++) await hub.publish("small:gap", { i });
  const r = await (await ProtoClient.connect(hub.url, await token("s"))).request({ type: "subscribe", channel: "small:gap", since: { offset: 2, epoch: s.epoch } });
  assert.equal(r.recovered, false);
  assert.equal(r.wasRecovering, true);
  assert.deepEqual(r.publications, []);
  assert.equal(r.offset, 10);
  const e = await (await ProtoClient.connect(hub.url, await token("s"))).request({ type: "subscribe", channel: "small:gap", since: { offset: 9, epoch: "another-epoch" } });
  assert.equal(e.recovered, false);
  assert.deepEqual(e.publications, []);
  c.close();
});

test("a channel without history: no offsets, recoverable false, publications still delivered", async () => {
  const c = await ProtoClient.connect(hub.url, await token("l"));
  const s = await c.request({ type: "subscribe", channel: "live:x" });
  assert.equal(s.recoverable, false);
  assert.equal(s.offset, 0);
  const r = await c.request({ type: "publish", channel: "live:x", data: "hello" });
  assert.equal(r.type, "published");
  assert.equal(r.offset, undefined);
  const p = await c.next((m) => m.type === "pub");
  assert.equal(p.data, "hello");
  assert.equal(p.offset, undefined);
  c.close();
});

test("history and presence commands", async () => {
  const [a, b] = await Promise.all([ProtoClient.connect(hub.url, await token("ann", { info: { color: "red" } })), ProtoClient.connect(hub.url, await token("bob"))]);
  await a.request({ type: "subscribe", channel: "chat:room" });
  await b.request({ type: "subscribe", channel: "chat:room" });
  const join = await a.next((m) => m.type === "join" && m.user === "bob");
  assert.equal(join.channel, "chat:room");
  const p = await a.request({ type: "presence", channel: "chat:room" });
  assert.deepEqual((p.clients as { user: string }[]).map((x) => x.user).sort(), ["ann", "bob"]);
  assert.deepEqual((p.clients as { user: string; info?: unknown }[]).find((x) => x.user === "ann")!.info, { color: "red" });
  for (let i = 1; i <= 5; i++) await hub.publish("chat:room", i);
  const h = await a.request({ type: "history", channel: "chat:room", since: { offset: 2, epoch: (await b.next((m) => m.type === "pub")).epoch }, limit: 2 });
  assert.deepEqual((h.publications as { offset: number }[]).map((x) => x.offset), [3, 4]);
  assert.equal(h.offset, 5);
  b.close();
  const leave = await a.next((m) => m.type === "leave" && m.user === "bob");
  assert.equal(leave.channel, "chat:room");
  a.close();
});

test("errors: before connect, malformed JSON, unknown command, forbidden, unknown channel, limits; the connection stays usable", async () => {
  const c = await ProtoClient.open(hub.url);
  assert.equal((await c.request({ type: "subscribe", channel: "chat:1" })).code, "unauthorized");
  c.raw("{not json");
  const bad = await c.next((m) => m.type === "error" && m.id === undefined);
  assert.equal(bad.code, "bad_request");
  assert.match(String(bad.message), /malformed JSON/);
  c.raw(JSON.stringify({ id: 50, type: "teleport" }));
  assert.equal((await c.next((m) => m.id === 50)).code, "unknown_command");
  c.raw(JSON.stringify({ id: 51, type: "subscribe" }));
  assert.equal((await c.next((m) => m.id === 51)).code, "bad_request");
  c.raw(Buffer.from([1, 2, 3]));
  assert.equal((await c.next((m) => m.type === "error" && /binary/.test(String(m.message)))).code, "bad_request");
  await c.request({ type: "connect", token: await token("u", { channels: ["chat:*", "small:*", "live:*"] }) });
  assert.equal((await c.request({ type: "connect" })).code, "bad_request");
  assert.equal((await c.request({ type: "subscribe", channel: "public:news" })).code, "forbidden");
  assert.equal((await c.request({ type: "subscribe", channel: "nowhere" })).code, "unknown_channel");
  assert.equal((await c.request({ type: "subscribe", channel: "bad name" })).code, "bad_request");
  for (const ch of ["chat:a", "chat:b", "chat:c"]) assert.equal((await c.request({ type: "subscribe", channel: ch })).type, "subscribed");
  const limit = await c.request({ type: "subscribe", channel: "chat:d" });
  assert.equal(limit.code, "limit_exceeded");
  assert.equal(limit.temporary, true);
  assert.equal((await c.request({ type: "subscribe", channel: "chat:a" })).code, "already_subscribed");
  assert.equal((await c.request({ type: "unsubscribe", channel: "chat:a" })).type, "unsubscribed");
  assert.equal((await c.request({ type: "unsubscribe", channel: "chat:a" })).code, "not_subscribed");
  assert.equal((await c.request({ type: "publish", channel: "chat:b", data: 1 })).type, "published");
  assert.equal(c.closed, undefined);
  c.close();
});

test("anonymous connections subscribe where the rule allows, and never publish", async () => {
  const c = await ProtoClient.connect(hub.url);
  assert.equal((await c.request({ type: "subscribe", channel: "public:news" })).type, "subscribed");
  assert.equal((await c.request({ type: "subscribe", channel: "chat:1" })).code, "forbidden");
  assert.equal((await c.request({ type: "publish", channel: "public:news", data: 1 })).code, "forbidden");
  const r = await api(hub.url, "/api/publish", { channel: "public:news", data: { title: "hi" } });
  assert.equal(r.status, 200);
  assert.equal((await c.next((m) => m.type === "pub")).offset, r.body.offset);
  c.close();
});

test("a bad token is refused with an error and close 4500; an expired one with 4002", async () => {
  const c = await ProtoClient.open(hub.url);
  const r = await c.request({ type: "connect", token: await token("x", {}, "another-secret-another-secret-another-secret") });
  assert.equal(r.code, "unauthorized");
  assert.equal((await c.waitClose()).code, 4500);
  const d = await ProtoClient.open(hub.url);
  const e = await d.request({ type: "connect", token: await token("x", { exp: Math.floor(Date.now() / 1000) - 10 }) });
  assert.equal(e.code, "token_expired");
  assert.equal((await d.waitClose()).code, 4002);
});

test("handshakes: without holdfast.v1 → 400; a foreign Origin → 403; the same host passes", async () => {
  await assert.rejects(ProtoClient.open(hub.url, { protocol: null }), { status: 400 });
  await assert.rejects(ProtoClient.open(hub.url, { protocol: "chat" }), { status: 400 });
  await assert.rejects(ProtoClient.open(hub.url, { origin: "https://evil.example" }), { status: 403 });
  const ok = await ProtoClient.open(hub.url, { origin: hub.url });
  ok.close();
});

test("an oversized frame closes that connection with 1009 and disturbs no one else", async () => {
  const big = await ProtoClient.connect(hub.url, await token("big"));
  const other = await ProtoClient.connect(hub.url, await token("other"));
  await other.request({ type: "subscribe", channel: "chat:calm" });
  big.raw(JSON.stringify({ id: 9, type: "publish", channel: "chat:calm", data: "x".repeat(10_000) }));
  assert.equal((await big.waitClose()).code, 1009);
  await hub.publish("chat:calm", "still here");
  assert.equal((await other.next((m) => m.type === "pub")).data, "still here");
  other.close();
});
