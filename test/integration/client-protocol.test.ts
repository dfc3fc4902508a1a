import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type Client } from "../../src/client/client.ts";
import { ClientClosedError, HubError, MessageTooLargeError, QueueFullError } from "../../src/client/errors.ts";
import type { ChannelMessage, SubscribedInfo } from "../../src/client/subscription.ts";
import { scriptedHub, waitFor, type ScriptedConn } from "../support/client.ts";

// The client's side of holdfast.v1 against a scripted peer on a real socket: what it
// sends, and how it reacts to every reply and push — including what a correct hub
// never sends (a hole in offsets, another epoch mid-stream). The same behaviours
// against the real hub are in client-hub.test.ts.

// connectTimeout as the default (10 s): none of these tests is about it, and with 2 s a
// first connection that was slow to open on a loaded machine (2.7 s seen) was given up
// and redialled, so the hub's first connection was not the one the client was open on.
const fast = { backoff: { min: 10, max: 50 }, minUptime: 100, connectTimeout: 10_000 };

function connected(c: ScriptedConn, m: Record<string, unknown>, extra: Record<string, unknown> = {}): void {
  c.send({ id: m.id, type: "connected", client: `c${c.received.length}`, user: "u1", node: "hub-1", ping: 25_000, pong: 10_000, ...extra });
}

function states(client: Client): string[] {
  const out: string[] = [];
  client.on("state", (s, info) => out.push(info.reason ? `${s}:${info.reason}` : s));
  return out;
}

test("client protocol: connect handshake, state events, session, pong to ping", async () => {
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") {
      connected(c, m);
      c.send({ type: "ping" });
    }
  });
  const client = connect(hub.url, { ...fast, token: async () => "jwt-1", name: "test/1" });
  const seen = states(client);
  try {
    assert.equal(client.state, "connecting");
    await waitFor("open", () => client.state === "open");
    assert.equal(hub.conns.length, 1, `one connection (states: ${seen.join(", ")})`);
    assert.deepEqual(client.session, { client: "c1", user: "u1", node: "hub-1", transport: "websocket" });
    const c = hub.conns[0]!;
    assert.deepEqual(c.received[0], { id: 1, type: "connect", token: "jwt-1", name: "test/1" });
    await waitFor("pong", () => c.received.some((m) => m.type === "pong"));
    assert.deepEqual(seen, ["connecting", "open"]);
  } finally {
    client.close();
    await hub.close();
  }
  assert.deepEqual(seen, ["connecting", "open", "closed:client closed"]);
});

test("client protocol: the watchdog uses the announced ping + pong and reconnects a silent hub", async () => {
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") connected(c, m, { ping: 150, pong: 100 });
  });
  const client = connect(hub.url, fast);
  const seen = states(client);
  try {
    await waitFor("a second connection", () => hub.conns.length >= 2, 3000);
    const drop = seen.find((s) => s.startsWith("reconnecting"));
    assert.match(drop ?? "", /^reconnecting:heartbeat timeout: nothing received for (2[5-9]\d|[3-9]\d\d) ms$/);
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: resubscribe from the last offset after a drop; recovered publications once, in order; duplicates and holes handled", async () => {
  let top = 0;
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") return connected(c, m);
    if (m.type !== "subscribe") return;
    const since = m.since as { offset: number; epoch: string } | undefined;
    if (since === undefined) return c.send({ id: m.id, type: "subscribed", channel: m.channel, recovered: false, wasRecovering: false, recoverable: true, offset: top, epoch: "e1", publications: [] });
    const pubs = [];
    for (let o = since.offset + 1; o <= top; o++) pubs.push({ channel: m.channel, data: { n: o }, offset: o, epoch: "e1" });
    c.send({ id: m.id, type: "subscribed", channel: m.channel, recovered: true, wasRecovering: true, recoverable: true, offset: top, epoch: "e1", publications: pubs });
  });
  const pub = (c: ScriptedConn, o: number) => c.send({ type: "pub", channel: "ch", data: { n: o }, offset: o, epoch: "e1" });
  top = 3;
  const client = connect(hub.url, fast);
  const sub = client.subscribe("ch");
  const got: number[] = [];
  const subs: SubscribedInfo[] = [];
  sub.on("message", (e: ChannelMessage) => got.push(e.offset!));
  sub.on("subscribed", (e) => subs.push(e));
  try {
    await waitFor("subscribed", () => sub.state === "subscribed");
    const c1 = hub.conns[0]!;
    top = 5;
    pub(c1, 4);
    pub(c1, 4); // a duplicate
    pub(c1, 5);
    await waitFor("4, 5", () => got.length === 2);
    // A hole: 7 before 6. The client resubscribes from 5 and gets 6, 7 from the replay.
    top = 7;
    pub(c1, 7);
    await waitFor("6, 7 recovered", () => got.length === 4);
    assert.deepEqual(c1.received.filter((m) => m.type === "unsubscribe" || m.type === "subscribe").map((m) => [m.type, (m.since as { offset: number } | undefined)?.offset]), [["subscribe", undefined], ["unsubscribe", undefined], ["subscribe", 5]]);
    // The connection dies; 8 and 9 are published meanwhile; the next connection resumes from 7.
    c1.destroy();
    top = 9;
    await waitFor("reconnected and 8, 9 recovered", () => got.length === 6, 3000);
    const c2 = hub.conns[1]!;
    assert.deepEqual(c2.received.find((m) => m.type === "subscribe")?.since, { offset: 7, epoch: "e1" });
    pub(c2, 9); // already recovered
    pub(c2, 10);
    await waitFor("10", () => got.length === 7);
    assert.deepEqual(got, [4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(subs.map((s) => [s.recovered, s.wasRecovering, s.offset]), [[false, false, 3], [true, true, 7], [true, true, 9]]);
    assert.deepEqual(sub.position, { offset: 10, epoch: "e1" });
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: another epoch mid-stream resubscribes and surfaces recovered: false", async () => {
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") return connected(c, m);
    if (m.type === "subscribe" && m.since === undefined) return c.send({ id: m.id, type: "subscribed", channel: "ch", recovered: false, wasRecovering: false, recoverable: true, offset: 10, epoch: "e1", publications: [] });
    if (m.type === "subscribe") return c.send({ id: m.id, type: "subscribed", channel: "ch", recovered: false, wasRecovering: true, recoverable: true, offset: 2, epoch: "e2", publications: [] });
  });
  const client = connect(hub.url, fast);
  const sub = client.subscribe("ch");
  const subs: SubscribedInfo[] = [];
  const got: unknown[] = [];
  sub.on("subscribed", (e) => subs.push(e));
  sub.on("message", (e) => got.push(e.data));
  try {
    await waitFor("subscribed", () => subs.length === 1);
    hub.conns[0]!.send({ type: "pub", channel: "ch", data: "from e2", offset: 2, epoch: "e2" });
    await waitFor("resubscribed", () => subs.length === 2);
    assert.deepEqual(subs[1], { recovered: false, wasRecovering: true, recoverable: true, epoch: "e2", offset: 2 });
    assert.deepEqual(got, [], "a publication from another epoch is not delivered before the app knows");
    hub.conns[0]!.send({ type: "pub", channel: "ch", data: "next", offset: 3, epoch: "e2" });
    await waitFor("next", () => got.length === 1);
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: publishes queue offline, flush in order with idempotency keys, and are re-sent with the same keys after a drop", async () => {
  let answer = false;
  let offset = 0;
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") return connected(c, m);
    if (m.type === "publish" && answer) c.send({ id: m.id, type: "published", offset: ++offset, epoch: "e1" });
  });
  await hub.kill(); // the hub is down while the app publishes
  const client = connect(hub.url, { ...fast, queue: { max: 3 } });
  try {
    const results = [client.publish("ch", { n: 1 }), client.publish("ch", { n: 2 }, { idempotencyKey: "mine" }), client.publish("ch", { n: 3 })];
    await assert.rejects(client.publish("ch", { n: 4 }), QueueFullError);
    await assert.rejects(client.publish("ch", undefined), /JSON can encode/);
    await assert.rejects(client.publish("ch", { big: 1n }), TypeError);
    assert.equal(client.queued, 3);
    await sleep(100);
    assert.notEqual(client.state, "open");
    // The hub comes back but its first connection never answers a publish, then dies.
    await hub.revive();
    await waitFor("3 publishes on the first connection", () => hub.conns[0]?.received.filter((m) => m.type === "publish").length === 3, 3000);
    const first = hub.conns[0]!.received.filter((m) => m.type === "publish");
    assert.deepEqual(first.map((m) => (m.data as { n: number }).n), [1, 2, 3]);
    assert.equal(first[1]!.idempotencyKey, "mine");
    for (const m of first) assert.match(String(m.idempotencyKey), /^([0-9a-f]{32}|mine)$/);
    answer = true;
    hub.conns[0]!.destroy();
    assert.deepEqual(await Promise.all(results), [1, 2, 3].map((o) => ({ offset: o, epoch: "e1" })));
    const again = hub.conns[1]!.received.filter((m) => m.type === "publish");
    assert.deepEqual(again.map((m) => m.idempotencyKey), first.map((m) => m.idempotencyKey), "re-sent with the same keys, in the same order");
    assert.equal(client.queued, 0);
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: publish errors — unavailable is retried with the same key, forbidden rejects, too large never leaves", async () => {
  const tries = new Map<string, number>();
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") return connected(c, m, { maxMessageBytes: 200 });
    if (m.type !== "publish") return;
    const key = String(m.idempotencyKey);
    tries.set(key, (tries.get(key) ?? 0) + 1);
    if (m.channel === "secret") return c.send({ id: m.id, type: "error", code: "forbidden", message: "not on secret", temporary: false });
    if (tries.get(key)! < 3) return c.send({ id: m.id, type: "error", code: "unavailable", message: "broker down", temporary: true });
    c.send({ id: m.id, type: "published", offset: 1, epoch: "e" });
  });
  const client = connect(hub.url, fast);
  try {
    assert.deepEqual(await client.publish("ch", "x", { idempotencyKey: "k" }), { offset: 1, epoch: "e" });
    assert.equal(tries.get("k"), 3);
    await assert.rejects(client.publish("secret", "x"), (e: unknown) => e instanceof HubError && e.code === "forbidden" && !e.temporary);
    await assert.rejects(client.publish("ch", "y".repeat(300)), (e: unknown) => e instanceof MessageTooLargeError && /over the hub's limit of 200/.test(e.message));
    assert.equal(hub.conns[0]!.received.filter((m) => m.type === "publish" && String(m.data).length > 200).length, 0);
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: close() rejects what waits — unsent as not stored, sent as maybe stored", async () => {
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") connected(c, m);
  });
  const client = connect(hub.url, fast);
  await waitFor("open", () => client.state === "open");
  const sent = client.publish("ch", 1);
  await waitFor("publish sent", () => hub.conns[0]!.received.some((m) => m.type === "publish"));
  const presence = client.subscribe("ch").presence();
  client.close();
  await assert.rejects(sent, (e: unknown) => e instanceof ClientClosedError && /may have been stored/.test(e.message));
  await assert.rejects(presence, ClientClosedError);
  await assert.rejects(client.publish("ch", 2), /closed client: not sent/);
  assert.throws(() => client.subscribe("other"), ClientClosedError);
  await hub.close();
});

test("client protocol: token provider — called once per fresh token, again on the expired push and on token_expired at connect", async () => {
  let calls = 0;
  let refuse = false;
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") {
      if (refuse) {
        refuse = false;
        return c.send({ id: m.id, type: "error", code: "token_expired", message: "exp in the past" });
      }
      return connected(c, m);
    }
    if (m.type === "refresh") c.send({ id: m.id, type: "refreshed" });
    if (m.type === "subscribe") c.send({ id: m.id, type: "subscribed", channel: m.channel, recovered: false, wasRecovering: false, recoverable: false, offset: 0, epoch: "", publications: [] });
  });
  const client = connect(hub.url, { ...fast, token: () => `t${++calls}` });
  const sub = client.subscribe("ch");
  try {
    await waitFor("open", () => client.state === "open");
    hub.conns[0]!.destroy(); // a plain reconnect reuses the token
    await waitFor("second connection", () => (hub.conns[1]?.received.length ?? 0) > 0); // not `.length`: 0 would end the wait
    assert.equal(hub.conns[1]!.received[0]!.token, "t1");
    hub.conns[1]!.send({ type: "expired" });
    await waitFor("refresh", () => hub.conns[1]!.received.find((m) => m.type === "refresh"));
    assert.equal(hub.conns[1]!.received.find((m) => m.type === "refresh")!.token, "t2");
    refuse = true;
    hub.conns[1]!.destroy();
    await waitFor("connected again", () => hub.conns.length >= 3 && client.state === "open", 3000);
    const tokens = hub.conns.slice(2).map((c) => c.received[0]!.token);
    assert.deepEqual(tokens, ["t2", "t3"], "the refused token is replaced");
    await waitFor("resubscribed", () => sub.state === "subscribed");
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: a terminal close stops with the reason; a fixed token that expired stops too", async () => {
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect" && m.token === "bad") c.close(4500, "token signature invalid");
    if (m.type === "connect" && m.token === "old") c.send({ id: m.id, type: "error", code: "token_expired", message: "exp in the past" });
  });
  const a = connect(hub.url, { ...fast, token: "bad" });
  const sa = states(a);
  const b = connect(hub.url, { ...fast, token: "old" });
  const sb = states(b);
  try {
    await waitFor("both closed", () => a.state === "closed" && b.state === "closed");
    assert.deepEqual(sa, ["connecting", "closed:token signature invalid"]);
    assert.deepEqual(sb, ["connecting", "closed:the token expired and the token option is a fixed string: pass a function to refresh it"]);
    assert.equal(hub.conns.length, 2, "no reconnect after a terminal answer");
  } finally {
    await hub.close();
  }
});

test("client protocol: SSE fallback when WebSockets are blocked; same messages, sends in order, the disconnect hint obeyed", async () => {
  let offset = 0;
  const hub = await scriptedHub((c, m) => {
    if (m.type === "connect") return connected(c, m);
    if (m.type === "publish") c.send({ id: m.id, type: "published", offset: ++offset, epoch: "e1" });
    if (m.type === "subscribe") c.send({ id: m.id, type: "subscribed", channel: "ch", recovered: false, wasRecovering: false, recoverable: true, offset: 0, epoch: "e1", publications: [] });
  });
  hub.refuseWebSocket = true;
  const client = connect(hub.url, fast);
  const sub = client.subscribe("ch");
  const got: unknown[] = [];
  sub.on("message", (e) => got.push(e.data));
  try {
    await waitFor("open over SSE", () => client.session?.transport === "sse", 3000);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.publish("ch", i)));
    assert.deepEqual(results.map((r) => r.offset), Array.from({ length: 20 }, (_, i) => i + 1), "published in order");
    const c = hub.conns.find((x) => x.transport === "sse")!;
    c.send({ type: "pub", channel: "ch", data: "down the stream", offset: 1, epoch: "e1" });
    await waitFor("pub over SSE", () => got.length === 1);
    // The hub ends the stream with a hint; the client waits it out, then stays on SSE.
    const t0 = performance.now();
    c.close(1012, "retry-after=300");
    await waitFor("reconnected", () => client.state === "open" && hub.conns.filter((x) => x.transport === "sse").length === 2, 3000);
    assert.ok(performance.now() - t0 >= 295, "the hint was obeyed");
    // A refused stream with Retry-After is a 1013 hint too.
    hub.refuseSse = { status: 503, retryAfter: "1" };
    const seen = states(client);
    hub.conns.at(-1)!.destroy();
    await waitFor("refused", () => seen.some((s) => s.startsWith("reconnecting:retry-after=1000; HTTP 503")), 3000);
  } finally {
    client.close();
    await hub.close();
  }
});

test("client protocol: bad options are clear errors", () => {
  assert.throws(() => connect("ftp://x/connect"), /ws:, wss:, http: or https:/);
  assert.throws(() => connect("ws://x/connect", { transports: ["pigeon" as "sse"] }), /unknown transport "pigeon"/);
  assert.throws(() => connect("ws://x/connect", { transports: [] }), /non-empty/);
  assert.throws(() => connect("ws://x/connect", { queue: { max: 0 } }), /queue\.max/);
  assert.throws(() => connect("ws://x/connect", { backoff: { factor: 0 } }), /backoff\.factor/);
  assert.throws(() => connect("ws://x/connect", { token: 42 as unknown as string }), /token must be a string or a function/);
  assert.throws(() => connect("ws://x/connect", { minUptime: -1 }), /minUptime/);
});
