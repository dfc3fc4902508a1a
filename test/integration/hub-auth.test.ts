// Token verification with jose, each key source over real sockets: a public key file
// (ES256, RS256), a JWKS URL served by a local HTTP server (kid rotation, unknown kid),
// issuer and audience checks; a refresh whose channels claim narrows ends the
// subscriptions it no longer allows.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { ProtoClient, startHub, token } from "../hub/support.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-hub-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sign = (key: CryptoKey, alg: string, sub: string, extra: { kid?: string; iss?: string; aud?: string } = {}) => {
  let jwt = new SignJWT({}).setProtectedHeader({ alg, ...(extra.kid ? { kid: extra.kid } : {}) }).setSubject(sub).setExpirationTime("1h");
  if (extra.iss) jwt = jwt.setIssuer(extra.iss);
  if (extra.aud) jwt = jwt.setAudience(extra.aud);
  return jwt.sign(key);
};

async function connectWith(url: string, t: string) {
  const c = await ProtoClient.open(url);
  const r = await c.request({ type: "connect", token: t });
  return { c, r };
}

for (const alg of ["ES256", "RS256"] as const) {
  test(`auth.jwt.publicKey (${alg}): tokens signed with its private key pass, others get 4500`, async () => {
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const other = await generateKeyPair(alg);
    const file = join(dir, `${alg}.pem`);
    writeFileSync(file, await exportSPKI(publicKey));
    const hub = await startHub(`auth: { jwt: { publicKey: "${file}", issuer: "https://auth.example", audience: "hub" } }`);
    try {
      const ok = await connectWith(hub.url, await sign(privateKey, alg, "pk-user", { iss: "https://auth.example", aud: "hub" }));
      assert.equal(ok.r.type, "connected");
      assert.equal(ok.r.user, "pk-user");
      ok.c.close();
      for (const bad of [
        await sign(other.privateKey, alg, "x", { iss: "https://auth.example", aud: "hub" }),
        await sign(privateKey, alg, "x", { iss: "https://other.example", aud: "hub" }),
        await sign(privateKey, alg, "x", { iss: "https://auth.example", aud: "not-hub" }),
        await token("x"), // HS256 with the test secret: not the configured key
      ]) {
        const { c, r } = await connectWith(hub.url, bad);
        assert.equal(r.code, "unauthorized");
        assert.equal((await c.waitClose()).code, 4500);
      }
    } finally {
      await hub.close();
    }
  });
}

test("auth.jwt.jwksUrl: keys fetched by kid from the URL, an unknown kid is refused, a rotated set is used by a new verifier", async () => {
  const k1 = await generateKeyPair("ES256");
  const k2 = await generateKeyPair("ES256");
  const published = [{ ...(await exportJWK(k1.publicKey)), kid: "k1", alg: "ES256", use: "sig" }];
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: published }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const jwks = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  after(() => server.close());
  const hub = await startHub(`auth: { jwt: { jwksUrl: "${jwks}" } }`);
  try {
    const a = await connectWith(hub.url, await sign(k1.privateKey, "ES256", "jwks-user", { kid: "k1" }));
    assert.equal(a.r.type, "connected");
    assert.equal(fetches, 1);
    const unknown = await connectWith(hub.url, await sign(k2.privateKey, "ES256", "x", { kid: "k2" }));
    assert.equal(unknown.r.code, "unauthorized");
    assert.match(String(unknown.r.message), /kid/);
    published.push({ ...(await exportJWK(k2.publicKey)), kid: "k2", alg: "ES256", use: "sig" });
    // jose refetches for an unknown kid after its 30 s cooldown; a new hub (a new
    // verifier) sees the rotated set at once.
    const fresh = await startHub(`auth: { jwt: { jwksUrl: "${jwks}" } }`);
    const b = await connectWith(fresh.url, await sign(k2.privateKey, "ES256", "rotated", { kid: "k2" }));
    assert.equal(b.r.type, "connected");
    await fresh.close();
    a.c.close();
  } finally {
    await hub.close();
  }
});

test("refresh with a narrower channels claim ends the subscriptions it no longer allows (resubscribe: false)", async () => {
  const hub = await startHub();
  try {
    const c = await ProtoClient.connect(hub.url, await token("n", { channels: ["chat:*"] }));
    await c.request({ type: "subscribe", channel: "chat:keep" });
    await c.request({ type: "subscribe", channel: "chat:lose" });
    const r = await c.request({ type: "refresh", token: await token("n", { channels: ["chat:keep"] }) });
    assert.equal(r.type, "refreshed");
    const push = await c.next((m) => m.type === "unsubscribe");
    assert.deepEqual([push.channel, push.resubscribe], ["chat:lose", false]);
    assert.equal((await c.request({ type: "publish", channel: "chat:lose", data: 1 })).code, "forbidden");
    await hub.publish("chat:keep", "kept");
    assert.equal((await c.next((m) => m.type === "pub")).channel, "chat:keep");
    c.close();
  } finally {
    await hub.close();
  }
});
