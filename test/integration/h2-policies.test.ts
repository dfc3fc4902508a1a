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
