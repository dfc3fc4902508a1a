// The server API (DESIGN §6): POST /api/publish, /api/presence, /api/history behind the
// bearer token; answers and errors exactly as documented.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hub } from "../../src/hub/hub.ts";
import { api, ProtoClient, startHub, token } from "../hub/support.ts";

let hub: Hub;
before(async () => {
  hub = await startHub("limits: { maxMessageBytes: 2KiB }\nsendQueue: { maxBytes: 64KiB }");
});
after(() => hub.close());

test("publish: 200 {offset, epoch}; the same idempotencyKey answers the first result and stores once", async () => {
  const r1 = await api(hub.url, "/api/publish", { channel: "chat:api", data: { n: 1 }, idempotencyKey: "k-1" });
  assert.equal(r1.status, 200);
  assert.deepEqual(Object.keys(r1.body).sort(), ["epoch", "offset"]);
  assert.equal(r1.body.offset, 1);
  const r2 = await api(hub.url, "/api/publish", { channel: "chat:api", data: { n: 1 }, idempotencyKey: "k-1" });
  assert.deepEqual(r2, r1);
  const r3 = await api(hub.url, "/api/publish", { channel: "chat:api", data: { n: 2 } });
  assert.equal(r3.body.offset, 2);
  const h = await api(hub.url, "/api/history", { channel: "chat:api" });
  assert.equal(h.status, 200);
  assert.deepEqual((h.body.publications as { data: unknown }[]).map((p) => p.data), [{ n: 1 }, { n: 2 }]);
  assert.equal(h.body.offset, 2);
  assert.equal(h.body.epoch, r1.body.epoch);
});

test("publish on a channel without history: 200 {}; history there: 400", async () => {
  const r = await api(hub.url, "/api/publish", { channel: "live:api", data: 1 });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {});
  const h = await api(hub.url, "/api/history", { channel: "live:api" });
  assert.equal(h.status, 400);
  assert.match(String(h.body.error), /keeps no history/);
});

test("history with since and limit; since from another epoch gives the position and nothing", async () => {
  for (let i = 1; i <= 5; i++) await api(hub.url, "/api/publish", { channel: "chat:hist", data: i });
  const top = await api(hub.url, "/api/history", { channel: "chat:hist", limit: 0 });
  assert.deepEqual(top.body.publications, []);
  const epoch = top.body.epoch;
  const r = await api(hub.url, "/api/history", { channel: "chat:hist", since: { offset: 1, epoch }, limit: 2 });
  assert.deepEqual((r.body.publications as { offset: number }[]).map((p) => p.offset), [2, 3]);
  const other = await api(hub.url, "/api/history", { channel: "chat:hist", since: { offset: 1, epoch: "old" } });
  assert.deepEqual(other.body.publications, []);
  assert.equal(other.body.offset, 5);
});

test("presence lists connected subscribers; a channel without presence is a 400", async () => {
  const c = await ProtoClient.connect(hub.url, await token("zoe", { info: { role: "admin" } }));
  await c.request({ type: "subscribe", channel: "chat:who" });
  const r = await api(hub.url, "/api/presence", { channel: "chat:who" });
  assert.equal(r.status, 200);
  assert.equal(r.body.channel, "chat:who");
  assert.deepEqual((r.body.clients as { user: string; info: unknown }[]).map((x) => [x.user, x.info]), [["zoe", { role: "admin" }]]);
  assert.equal((await api(hub.url, "/api/presence", { channel: "small:x" })).status, 400);
  c.close();
});

test("auth and input errors: 401 without or with a wrong token, 404, 405, 400 bad bodies and channels, 413", async () => {
  const no = await api(hub.url, "/api/publish", { channel: "chat:a", data: 1 }, null);
  assert.equal(no.status, 401);
  assert.match(String(no.body.error), /Bearer <api.token>/);
  assert.equal((await api(hub.url, "/api/publish", { channel: "chat:a", data: 1 }, "wrong")).status, 401);
  assert.equal((await api(hub.url, "/api/nope", {})).status, 404);
  assert.equal((await fetch(`${hub.url}/api/publish`)).status, 405);
  const cases: [unknown, RegExp][] = [
    ["{oops", /not JSON/],
    ["[1]", /JSON object/],
    [{ data: 1 }, /channel is required/],
    [{ channel: "bad name", data: 1 }, /not allowed/],
    [{ channel: "nowhere", data: 1 }, /no channel rule/],
    [{ channel: "chat:a" }, /data is required/],
    [{ channel: "chat:a", data: 1, idempotencyKey: 5 }, /idempotencyKey/],
  ];
  for (const [body, message] of cases) {
    const r = await api(hub.url, "/api/publish", body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(String(r.body.error), message);
  }
  const big = await api(hub.url, "/api/publish", { channel: "chat:a", data: "x".repeat(3000) });
  assert.equal(big.status, 413);
});

test("without api.token the API answers 403 and says how to enable it", async () => {
  const { Hub } = await import("../../src/hub/hub.ts");
  const { loadHubConfig } = await import("../../src/hub/config/load.ts");
  const r = loadHubConfig("listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nauth: { anonymous: true }\nchannels: [{ match: '*', anonymous: true }]\n", { env: {}, baseDir: "." });
  assert.ok(r.ok);
  const bare = new Hub(r.config, { admin: false, log: (await import("../../src/log.ts")).createLogger("t", "silent") });
  await bare.start();
  try {
    const res = await api(bare.url, "/api/publish", { channel: "x", data: 1 });
    assert.equal(res.status, 403);
    assert.match(String(res.body.error), /set api.token/);
  } finally {
    await bare.close();
  }
});
