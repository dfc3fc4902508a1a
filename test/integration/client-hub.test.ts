import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CloseCode, connect, type Client, type ClientOptions } from "../../src/client/index.ts";
import { MemoryStore } from "../../src/hub/broker/memory.ts";
import type { Hub } from "../../src/hub/hub.ts";
import { waitFor } from "../support/client.ts";
import { hubNode, record } from "../support/client-hub.ts";
import { token } from "../hub/support.ts";

// The client SDK against real hub nodes (in this process, memory broker): the
// behaviours of DESIGN §7 end to end over WebSocket and SSE. Restarts use a shared
// store so history survives, like a node behind a Redis.

const fast: ClientOptions = { backoff: { min: 20, max: 200 }, minUptime: 200 };

function states(client: Client): string[] {
  const out: string[] = [];
  client.on("state", (s, info) => out.push(s === "reconnecting" ? `${s}:${info.code}` : s));
  return out;
}

async function restart(hub: Hub, store: MemoryStore, extra?: string): Promise<Hub> {
  const port = hub.address.port;
  await hub.stop();
  return hubNode(port, { store, extra });
}

for (const transport of ["websocket", "sse"] as const) {
  test(`client ↔ hub (${transport}): subscribe, receive from the API and from clients in order, publish() resolves { offset, epoch }, presence, join/leave`, { timeout: 30_000 }, async () => {
    const hub = await hubNode(0);
    const url = `${hub.url}/connect`;
    const a = connect(url, { ...fast, transports: [transport], token: () => token("alice") });
    const b = connect(url, { ...fast, transports: [transport], token: await token("bob") });
    try {
      const sa = a.subscribe("chat:room");
      const ra = record(sa);
      const joins: string[] = [];
      const leaves: string[] = [];
      sa.on("join", (p) => joins.push(p.user));
      sa.on("leave", (p) => leaves.push(p.user));
      await waitFor("alice subscribed", () => sa.state === "subscribed");
      assert.equal(a.session?.transport, transport);
      assert.equal(a.session?.user, "alice");
      const sb = b.subscribe("chat:room");
      const rb = record(sb);
      await waitFor("bob subscribed", () => sb.state === "subscribed");
      await waitFor("alice sees bob join", () => joins.includes("bob"));
      const who = (await sa.presence()).map((p) => p.user).sort();
      assert.deepEqual(who, ["alice", "bob"]);

      await hub.publish("chat:room", { n: 1 });
      const r2 = await b.publish("chat:room", { n: 2 });
      assert.equal(r2.offset, 2);
      assert.equal(typeof r2.epoch, "string");
      const r3 = await a.publish("chat:room", { n: 3 });
      assert.deepEqual(r3, { offset: 3, epoch: r2.epoch });
      await waitFor("3 messages each", () => ra.data.length === 3 && rb.data.length === 3);
      assert.deepEqual(ra.data, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      assert.deepEqual(rb.offsets, [1, 2, 3]);
      assert.deepEqual(ra.subscribed, [{ recovered: false, wasRecovering: false, recoverable: true, epoch: r2.epoch, offset: 0 }]);

      // Bob leaves: alice sees it, and the presence is alice alone.
      b.close();
      await waitFor("alice sees bob leave", () => leaves.includes("bob"));
      assert.deepEqual(leaves, ["bob"]);
      assert.deepEqual((await sa.presence()).map((p) => p.user), ["alice"]);
    } finally {
      a.close();
      b.close();
      await hub.stop();
    }
  });

  test(`client ↔ hub (${transport}): a hub restart — 1012 hint obeyed, resume from the last offset, missed messages exactly once and in order, offline publishes flushed in order`, { timeout: 30_000 }, async () => {
    const store = new MemoryStore();
    let hub = await hubNode(0, { store, extra: "shutdown: { spread: 300ms }" });
    const client = connect(`${hub.url}/connect`, { ...fast, transports: [transport], token: () => token("frank") });
    const seen = states(client);
    const sub = client.subscribe("chat:news");
    const rec = record(sub);
    try {
      await waitFor("subscribed", () => sub.state === "subscribed");
      for (let i = 1; i <= 5; i++) await hub.publish("chat:news", i);
      await waitFor("1..5", () => rec.data.length === 5);
      const port = hub.address.port;
      const stopping = hub.stop();
      await waitFor("the hub's 1012", () => seen.includes("reconnecting:1012"), 5000);
      await stopping;
      // While the hub is down: the app keeps publishing; another node's API keeps publishing too.
      const queued = [client.publish("chat:news", "q1"), client.publish("chat:news", "q2")];
      assert.equal(client.queued, 2);
      const other = await hubNode(0, { store });
      for (let i = 6; i <= 8; i++) await other.publish("chat:news", i);
      await other.stop();
      hub = await hubNode(port, { store, extra: "shutdown: { spread: 300ms }" });
      const results = await Promise.all(queued);
      assert.deepEqual(results.map((r) => r.offset), [9, 10], "flushed in order after the missed ones");
      await waitFor("1..8, q1, q2", () => rec.data.length === 10, 10_000);
      assert.deepEqual(rec.data, [1, 2, 3, 4, 5, 6, 7, 8, "q1", "q2"]);
      assert.deepEqual(rec.offsets, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(rec.subscribed.length, 2);
      assert.equal(rec.subscribed[1]!.wasRecovering, true);
      assert.equal(rec.subscribed[1]!.recovered, true);
      assert.equal(rec.subscribed[1]!.epoch, rec.subscribed[0]!.epoch);
      assert.deepEqual(seen.slice(0, 3), ["connecting", "open", "reconnecting:1012"]);
      assert.equal(seen.at(-1), "open");
    } finally {
      client.close();
      await hub.stop();
    }
  });
}

test("client ↔ hub: history that no longer reaches back → recovered: false, nothing replayed, live messages continue", { timeout: 30_000 }, async () => {
  const store = new MemoryStore();
  let hub = await hubNode(0, { store });
  const client = connect(`${hub.url}/connect`, { ...fast, token: await token("dave") });
  const sub = client.subscribe("small:feed"); // history size 3
  const rec = record(sub);
  try {
    await waitFor("subscribed", () => sub.state === "subscribed");
    await hub.publish("small:feed", "a");
    await waitFor("a", () => rec.data.length === 1);
    hub = await restart(hub, store);
    // Until it reconnects, five more are published: three are kept, "b" and "c" are gone.
    for (const x of ["b", "c", "d", "e", "f"]) await hub.publish("small:feed", x);
    await waitFor("resubscribed", () => rec.subscribed.length === 2, 10_000);
    assert.deepEqual(rec.subscribed[1], { recovered: false, wasRecovering: true, recoverable: true, epoch: rec.subscribed[0]!.epoch, offset: 6 });
    await hub.publish("small:feed", "g");
    await waitFor("g", () => rec.data.length === 2);
    assert.deepEqual(rec.data, ["a", "g"], "never a partial replay");
  } finally {
    client.close();
    await hub.stop();
  }
});

test("client ↔ hub: an expiring token is refreshed in place — the provider is called again, same session, subscriptions untouched", { timeout: 30_000 }, async () => {
  const hub = await hubNode(0, { extra: "ping: { interval: 300ms, timeout: 2s }" });
  let calls = 0;
  const client = connect(`${hub.url}/connect`, {
    ...fast,
    token: () => {
      calls++;
      return token("carol", { exp: Math.floor(Date.now() / 1000) + 2 });
    },
  });
  const seen = states(client);
  const sub = client.subscribe("chat:refresh");
  const rec = record(sub);
  try {
    await waitFor("subscribed", () => sub.state === "subscribed");
    const id = client.session!.client;
    await waitFor("a refresh after expiry", () => calls >= 2, 8000);
    await sleep(300);
    await hub.publish("chat:refresh", "after refresh");
    await waitFor("delivered", () => rec.data.length === 1);
    assert.equal(client.session?.client, id, "the same connection");
    assert.deepEqual(seen, ["connecting", "open"], "never disconnected");
    assert.equal(rec.subscribed.length, 1);
  } finally {
    client.close();
    await hub.stop();
  }
});

test("client ↔ hub: an invalid token is terminal — closed with the hub's code and reason, no reconnect", { timeout: 30_000 }, async () => {
  const hub = await hubNode(0);
  const client = connect(`${hub.url}/connect`, { ...fast, token: await token("mallory", {}, "another-secret-another-secret-0123456") });
  const info: { code?: number; reason?: string }[] = [];
  client.on("state", (s, i) => void (s === "closed" && info.push(i)));
  try {
    await waitFor("closed", () => client.state === "closed", 5000);
    assert.equal(info[0]!.code, CloseCode.UNAUTHORIZED, `code ${info[0]!.code}`);
    assert.match(info[0]!.reason ?? "", /invalid token/, "says why");
    await waitFor("the hub dropped it", () => hub.node.connections.size === 0);
    await sleep(300);
    assert.equal(info.length, 1, "closed once, no reconnect");
  } finally {
    await hub.stop();
  }
});

test("client ↔ hub: a publish over the hub's maxMessageBytes is refused before it is sent; the connection stays", { timeout: 30_000 }, async () => {
  const hub = await hubNode(0, { extra: "limits: { maxMessageBytes: 1KiB }\nsendQueue: { maxBytes: 64KiB }" });
  const client = connect(`${hub.url}/connect`, { ...fast, token: await token("erin") });
  const seen = states(client);
  try {
    await assert.rejects(client.publish("chat:big", "x".repeat(2000)), { code: "HF_ERR_CLIENT_TOO_LARGE" });
    assert.equal((await client.publish("chat:big", "small")).offset, 1);
    assert.deepEqual(seen, ["connecting", "open"]);
  } finally {
    client.close();
    await hub.stop();
  }
});
