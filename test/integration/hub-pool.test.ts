// The hub's outbound calls go through holdfast/pool: the JWKS of auth.jwt.jwksUrl is
// fetched on the hub's Pools, counted in its statistics and on the hub's /metrics.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { chromium } from "playwright-core";
import { ProtoClient, startHub } from "../hub/support.ts";

async function jwksServer(keys: object[]): Promise<{ server: Server; origin: string; fetches: () => number; connections: () => number }> {
  let fetches = 0;
  let connections = 0;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    fetches++;
    req.resume();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys }));
  });
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fetches: () => fetches, connections: () => connections };
}

test("the JWKS is fetched through the hub's Pools: statistics and holdfast_pool_* on the hub's /metrics", { timeout: 20_000 }, async () => {
  const k1 = await generateKeyPair("ES256");
  const k2 = await generateKeyPair("ES256");
  const published: object[] = [{ ...(await exportJWK(k1.publicKey)), kid: "k1", alg: "ES256" }];
  const jwks = await jwksServer(published);
  const hub = await startHub(`auth: { jwt: { jwksUrl: "${jwks.origin}/.well-known/jwks.json" } }`);
  const sign = (key: CryptoKey, kid: string) => new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).setSubject("u").setExpirationTime("1h").sign(key);
  const clients: ProtoClient[] = [];
  try {
    for (const [key, kid] of [[k1.privateKey, "k1"], [k1.privateKey, "k1"], [k2.privateKey, "k2"]] as const) {
      const c = await ProtoClient.open(hub.url);
      clients.push(c);
      const r = await c.request({ type: "connect", token: await sign(key, kid) });
      assert.equal(r.type, kid === "k1" ? "connected" : "error", JSON.stringify(r));
    }
    // k1 fetched once, then cached by jose; the unknown k2 is not refetched within jose's
    // 30 s cooldown. (So a JWKS connection rarely outlives keepAliveTimeout until the next
    // fetch: the statistics will show little reuse for it, and that is the truth.)
    const s = hub.pools.stats();
    const o = s.origins[jwks.origin];
    assert.ok(o, `pool statistics for ${jwks.origin}: ${JSON.stringify(Object.keys(s.origins))}`);
    assert.equal(o.requests, jwks.fetches());
    assert.equal(o.connectionsCreated, jwks.connections());
    assert.deepEqual([o.requests, o.connectionsCreated, o.connectionsReused], [1, 1, 0]);
    const res = await fetch(`${hub.adminUrl}/metrics`);
    const text = await res.text();
    assert.match(text, new RegExp(`^holdfast_pool_requests_total\\{origin="${jwks.origin}"\\} 1$`, "m"));
    assert.match(text, new RegExp(`^holdfast_pool_connections_created_total\\{origin="${jwks.origin}"\\} 1$`, "m"));
    assert.match(text, /^holdfast_hub_connections\{transport="websocket"\} /m, "the hub's own metrics are still there");
  } finally {
    for (const c of clients) c.close();
    await hub.close();
    jwks.server.close();
    jwks.server.closeAllConnections();
  }
  assert.equal(hub.pools.stats().origins[jwks.origin]?.open, 0, "the hub's stop closed its pools");
});

test("an unreachable JWKS: the token is refused with a clear reason, counted as a connect error", { timeout: 20_000 }, async () => {
  const gone = await jwksServer([]);
  const origin = gone.origin;
  await new Promise<void>((r) => gone.server.close(() => r()));
  const hub = await startHub(`auth: { jwt: { jwksUrl: "${origin}/jwks.json" } }`);
  const k = await generateKeyPair("ES256");
  try {
    const c = await ProtoClient.open(hub.url);
    const r = await c.request({ type: "connect", token: await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k" }).setSubject("u").setExpirationTime("1h").sign(k.privateKey) });
    assert.equal(r.type, "error");
    assert.equal(r.code, "unauthorized");
    assert.match(String(r.message), /ECONNREFUSED|could not be fetched|fetch/i, String(r.message));
    c.close();
    assert.equal(hub.pools.stats().origins[origin]?.connectErrors, 1);
  } finally {
    await hub.close();
  }
});

test("the hub's dashboard shows the outbound pool's reuse (headless Chromium) and /api/overview carries it", { timeout: 60_000 }, async () => {
  const k = await generateKeyPair("ES256");
  const jwks = await jwksServer([{ ...(await exportJWK(k.publicKey)), kid: "k", alg: "ES256" }]);
  const hub = await startHub(`admin: { listen: 127.0.0.1:0, token: dash }\nauth: { jwt: { jwksUrl: "${jwks.origin}/jwks.json" } }`);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const c = await ProtoClient.open(hub.url);
    const r = await c.request({ type: "connect", token: await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k" }).setSubject("u").setExpirationTime("1h").sign(k.privateKey) });
    assert.equal(r.type, "connected");
    const o = (await (await fetch(`${hub.adminUrl}/api/overview`, { headers: { authorization: "Bearer dash" } })).json()) as { pools: { requests: number; connectionsCreated: number; origins: { origin: string; requests: number }[] } };
    assert.deepEqual([o.pools.requests, o.pools.connectionsCreated], [1, 1]);
    assert.deepEqual(o.pools.origins.map((x) => [x.origin, x.requests]), [[jwks.origin, 1]]);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${hub.adminUrl}/#token=dash`);
    await page.waitForFunction(() => [...document.querySelectorAll("#kpis .kpi span")].some((s) => s.textContent === "Outbound reuse"), undefined, { timeout: 10_000 });
    const card = await page.$$eval("#kpis .kpi", (ks) => ks.map((k) => [k.querySelector("span")!.textContent, k.querySelector("b")!.textContent, k.querySelector("small")!.textContent, (k as HTMLElement).title]).find((x) => x[0] === "Outbound reuse"));
    assert.ok(card);
    assert.equal(card[1], "0 %", "one JWKS fetch on one new connection: nothing reused yet");
    assert.equal(card[2], "1 calls · 1 connections");
    assert.match(card[3]!, new RegExp(`^${jwks.origin.replace(/[.]/g, "\\.")}: 1 calls, \\d open, handshake `));
    assert.deepEqual(errors, []);
    c.close();
  } finally {
    await browser.close();
    await hub.close();
    jwks.server.close();
    jwks.server.closeAllConnections();
  }
});
