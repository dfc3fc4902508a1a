// The SSE transport (docs/protocol.md "SSE"): GET /sse streams the same messages as a
// WebSocket, POST /send carries commands with the session header; CORS for browsers on
// an allowed origin; the graceful stop ends streams with a disconnect push.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SSE_SESSION_HEADER } from "../../src/protocol/hub.ts";
import type { Hub } from "../../src/hub/hub.ts";
import { api, startHub, token } from "../hub/support.ts";
import { within } from "../support/wait.ts";

type Msg = Record<string, unknown>;

/** An SSE client: the events as parsed JSON, in order. */
async function openSse(url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(`${url}/sse`, { headers, signal: ac.signal });
  const events: Msg[] = [];
  let ended = false;
  const pump = (async () => {
    if (!res.ok || res.body === null) return;
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split("\n")) if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)) as Msg);
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  const next = async (match: (m: Msg) => boolean, ms = 5000): Promise<Msg> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = events.find(match);
      if (m !== undefined) return m;
      if (Date.now() > end) throw new Error(`SSE: timed out; got ${JSON.stringify(events).slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { res, events, next, ended: () => ended, pump, close: () => ac.abort() };
}

let hub: Hub;
before(async () => {
  hub = await startHub('allowedOrigins: ["https://app.example"]\nlimits: { maxMessageBytes: 4KiB }\nsendQueue: { maxBytes: 64KiB }\nshutdown: { spread: 300ms }');
});
after(() => hub.close());

const send = (url: string, session: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/send`, { method: "POST", headers: { "content-type": "application/json", [SSE_SESSION_HEADER]: session, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

test("SSE: session first, commands by POST /send (one or a batch), replies and publications down the stream", async () => {
  const s = await openSse(hub.url);
  assert.equal(s.res.status, 200);
  assert.match(s.res.headers.get("content-type")!, /^text\/event-stream/);
  const first = await s.next(() => true);
  assert.equal(first.type, "session");
  const session = String(first.session);
  assert.match(session, /^[A-Za-z0-9_-]{22}$/);
  const r = await send(hub.url, session, { id: 1, type: "connect", token: await token("sse-user") });
  assert.equal(r.status, 202);
  assert.equal((await s.next((m) => m.id === 1)).type, "connected");
  // A batch: commands run as if sent one by one (a fresh subscribe starts at the channel's
  // top, so the publish goes once subscribed).
  const batch = await send(hub.url, session, [{ id: 2, type: "subscribe", channel: "chat:sse" }, { id: 3, type: "presence", channel: "chat:sse" }]);
  assert.equal(batch.status, 202);
  assert.equal((await s.next((m) => m.id === 2)).type, "subscribed");
  assert.equal((await s.next((m) => m.id === 3)).type, "presence");
  await send(hub.url, session, { id: 4, type: "publish", channel: "chat:sse", data: { via: "sse" } });
  assert.equal((await s.next((m) => m.id === 4)).type, "published");
  await api(hub.url, "/api/publish", { channel: "chat:sse", data: { via: "api" } });
  const pubs = await (async () => {
    await s.next((m) => m.type === "pub" && (m.data as Msg).via === "api");
    return s.events.filter((m) => m.type === "pub").map((m) => [(m.data as Msg).via, m.offset]);
  })();
  assert.deepEqual(pubs, [["sse", 1], ["api", 2]]);
  s.close();
});

test("SSE: /send errors — unknown session 404, not JSON 400, too large 413, GET 405; errors in commands come down the stream", async () => {
  const s = await openSse(hub.url);
  const session = String((await s.next(() => true)).session);
  assert.equal((await send(hub.url, "nope", { id: 1, type: "connect" })).status, 404);
  assert.equal((await send(hub.url, session, "{oops")).status, 400);
  assert.equal((await send(hub.url, session, { id: 1, type: "publish", channel: "chat:x", data: "x".repeat(5000) })).status, 413);
  assert.equal((await fetch(`${hub.url}/send`)).status, 405);
  await send(hub.url, session, { id: 5, type: "teleport" });
  assert.equal((await s.next((m) => m.id === 5)).code, "unknown_command");
  s.close();
});

test("SSE: CORS — an allowed origin gets its Origin echoed and the preflight answered; another gets 403", async () => {
  const pre = await fetch(`${hub.url}/send`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": SSE_SESSION_HEADER } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(pre.headers.get("access-control-allow-headers")!, new RegExp(SSE_SESSION_HEADER));
  const s = await openSse(hub.url, { origin: "https://app.example" });
  assert.equal(s.res.headers.get("access-control-allow-origin"), "https://app.example");
  s.close();
  const bad = await fetch(`${hub.url}/sse`, { headers: { origin: "https://evil.example" } });
  assert.equal(bad.status, 403);
});

test("SSE: a graceful stop ends the stream with a disconnect push carrying 1012 and retry-after", async () => {
  const own = await startHub("shutdown: { spread: 200ms }");
  const s = await openSse(own.url);
  const session = String((await s.next(() => true)).session);
  await send(own.url, session, { id: 1, type: "connect" });
  await s.next((m) => m.id === 1);
  await own.stop();
  const d = await s.next((m) => m.type === "disconnect");
  assert.equal(d.code, 1012);
  assert.match(String(d.reason), /^retry-after=\d+/);
  await within(s.pump, 5000, "the SSE stream to end after the disconnect push");
  assert.equal(s.ended(), true);
});
