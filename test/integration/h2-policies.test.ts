import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type ClientHttp2Session, type OutgoingHttpHeaders } from "node:http2";
import { test } from "node:test";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { makeCa, type Pem, type TestCa } from "../support/tls.ts";

// Admission and stickiness for HTTP/2 clients (docs/config.md "protocols": the same
// routes, balancing, stickiness, admission and upstream pools as HTTP/1.1 clients),
// through real h2 connections over TLS (ALPN) and in clear text (h2c).

interface Res {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function get(c: ClientHttp2Session, path: string, extra: OutgoingHttpHeaders = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = c.request({ ":path": path, ...extra }, { endStream: true });
    let status = 0;
    let headers: Record<string, unknown> = {};
    let body = "";
    r.setEncoding("utf8");
    r.on("response", (h) => {
      status = Number(h[":status"]);
      headers = h;
    });
    r.on("data", (d: string) => (body += d));
    r.on("end", () => resolve({ status, headers, body }));
    r.on("error", reject);
  });
}

/** A new HTTP/2 connection, once the server's SETTINGS arrived. */
async function open(url: string, ca: TestCa): Promise<ClientHttp2Session> {
  const c = connect(url, { ca: ca.cert, servername: "h2.test" });
  c.on("error", () => {});
  await once(c, "remoteSettings");
  return c;
}

function listeners(pem: Pem): string {
  return `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [http1, h2c], routes: [{ backend: b }] }`;
}

test("admission over HTTP/2: only the first stream of a connection spends a token; new connections past the rate get 503 + Retry-After", async () => {
  const ca = makeCa();
  const pem = ca.issue(["h2.test"]);
  const be = await httpBackend("a");
  // Two tokens and (practically) no refill: one for the TLS connection, one for the h2c one.
  const gw = await startGateway(`${listeners(pem)}
backends:
  b:
    admission: { rate: 0.001, burst: 2 }
    servers: [{ name: a, address: 127.0.0.1:${be.port} }]
`);
  const tlsUrl = `https://127.0.0.1:${gw.port()}`;
  const h2cUrl = `http://127.0.0.1:${gw.port("mesh")}`;
  const rejected = () => gw.gw.data.counters.admissionRejected;
  const opened: ClientHttp2Session[] = [];
  try {
    // Each admitted connection sends 40 streams at once, then 40 more later: all served.
    const admitted = [await open(tlsUrl, ca), await open(h2cUrl, ca)];
    opened.push(...admitted);
    for (const c of admitted) {
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => get(c, `/s${i}`)));
      assert.deepEqual(burst.map((r) => r.status), Array(40).fill(200));
      assert.ok(burst.every((r, i) => r.body === `a GET /s${i} 0`));
    }
    assert.equal(rejected(), 0, "80 streams on two connections spent two tokens");
    // The bucket is empty: a new connection is refused, over TLS, h2c and HTTP/1.1 alike.
    for (const url of [tlsUrl, h2cUrl]) {
      const c = await open(url, ca);
      opened.push(c);
      const before = be.requests.length;
      const r = await get(c, "/new");
      assert.equal(r.status, 503, url);
      assert.equal(r.headers["x-holdfast-error"], "HF_ERR_ADMISSION");
      assert.match(String(r.headers["retry-after"]), /^[1-9]\d*$/, "Retry-After in whole seconds");
      assert.equal(be.requests.length, before, "nothing reached the server");
      // Over HTTP/2 the refusal is the stream's: the connection is still not admitted,
      // so its next stream asks the bucket again (and is refused again).
      assert.equal((await get(c, "/again")).status, 503);
    }
    assert.equal(rejected(), 4);
    const h1 = rawClient(gw.port("mesh"));
    const r1 = await h1.request("GET /h1 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(r1, /^HTTP\/1\.1 503 /);
    assert.match(r1, /\r\nretry-after: [1-9]\d*\r\n/i);
    assert.match(r1, /\r\nconnection: close\r\n/i, "an HTTP/1.1 refusal closes the connection");
    h1.close();
    assert.equal(rejected(), 5);
    // The admitted connections keep being served, no token needed.
    for (const c of admitted) {
      const more = await Promise.all(Array.from({ length: 40 }, (_, i) => get(c, `/later${i}`)));
      assert.deepEqual(more.map((r) => r.status), Array(40).fill(200));
    }
    assert.equal(rejected(), 5);
  } finally {
    for (const c of opened) c.destroy();
    await gw.close();
    await be.close();
  }
});

test("cookie stickiness over HTTP/2: the first response sets the cookie; streams and new connections (h2 and h2c) carrying it reach its server; a tampered cookie is re-issued", async () => {
  const ca = makeCa();
  const pem = ca.issue(["h2.test"]);
  const bs: Backend[] = await Promise.all(["s1", "s2", "s3"].map((n) => httpBackend(n)));
  const gw = await startGateway(`${listeners(pem)}
backends:
  b:
    sticky: { cookie: HF_SRV, ttl: 1h }
    servers:
${bs.map((b, i) => `      - { name: s${i + 1}, address: 127.0.0.1:${b.port} }`).join("\n")}
`);
  const tlsUrl = `https://127.0.0.1:${gw.port()}`;
  const h2cUrl = `http://127.0.0.1:${gw.port("mesh")}`;
  const opened: ClientHttp2Session[] = [];
  const conn = async (url: string) => {
    const c = await open(url, ca);
    opened.push(c);
    return c;
  };
  const servedBy = (r: Res) => String(r.headers["x-served-by"]);
  const setCookie = (r: Res) => (r.headers["set-cookie"] as string[] | undefined)?.find((s) => s.startsWith("HF_SRV="));
  try {
    // Without a cookie the policy spreads the streams of one connection over all three.
    const c = await conn(tlsUrl);
    const spread = new Set<string>();
    for (let i = 0; i < 6; i++) spread.add(servedBy(await get(c, `/spread${i}`)));
    assert.equal(spread.size, 3, `served by ${[...spread].join(",")}`);

    const first = await get(c, "/first");
    const issued = setCookie(first);
    assert.ok(issued, "the response sets the sticky cookie");
    assert.match(issued, /; Secure/, "over TLS the cookie is Secure");
    const cookie = issued.split(";")[0]!;
    const home = servedBy(first);
    assert.match(home, /^s[123]$/);
    // Later streams of the same connection, one after another and 30 at once, the cookie
    // among others (as one field and as crumbs, RFC 9113 §8.2.3): all to `home`, no re-issue.
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await get(c, `/seq${i}`, { cookie: `other=1; ${cookie}` }));
    results.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => get(c, `/par${i}`, { cookie: ["other=1", cookie, "last=2"] })))));
    assert.deepEqual(results.map(servedBy), Array(36).fill(home));
    assert.ok(results.every((r) => r.status === 200 && setCookie(r) === undefined), "a hit does not re-issue the cookie");
    // New connections, over TLS and in clear text.
    for (const url of [tlsUrl, tlsUrl, h2cUrl, h2cUrl]) {
      const n = await conn(url);
      for (let i = 0; i < 3; i++) {
        const r = await get(n, `/new${i}`, { cookie });
        assert.equal(servedBy(r), home, url);
        assert.equal(setCookie(r), undefined);
      }
      n.close();
    }
    // A tampered cookie: ignored, the policy picks, and the answer re-issues a valid one.
    const value = cookie.slice("HF_SRV=".length);
    const tampered = `HF_SRV=${value.slice(0, 5)}${value[5] === "A" ? "B" : "A"}${value.slice(6)}`;
    const t = await conn(tlsUrl);
    const reissued: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await get(t, `/tampered${i}`, { cookie: tampered });
      assert.equal(r.status, 200);
      const again = setCookie(r);
      assert.ok(again, "a tampered cookie is re-issued");
      reissued.push(`${servedBy(r)} ${again.split(";")[0]}`);
    }
    // Each re-issued cookie names the server that answered, and sticks to it.
    for (const line of reissued) {
      const [server, fresh] = line.split(" ") as [string, string];
      assert.notEqual(fresh, tampered);
      for (let i = 0; i < 3; i++) assert.equal(servedBy(await get(t, `/after${i}`, { cookie: fresh })), server);
    }
  } finally {
    for (const c of opened) c.destroy();
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});
