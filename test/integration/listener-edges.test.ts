// The accept side of an http listener (src/gateway/http/listener.ts) at its edges: which
// session takes a connection when a protocol is left out (h2c without HTTP/1.1, TLS with
// h2 only), a PROXY header followed at once by the h2c preface, and reloads that turn TLS
// on and off or change the HTTP/2 settings for new connections only.
import assert from "node:assert/strict";
import { once } from "node:events";
import { copyFileSync } from "node:fs";
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { encodeProxyV1 } from "../../src/codec/proxy/encode.ts";
import { captureClientHello } from "../../src/codec/tls/testing.kit.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events } from "../../src/gateway/diagnostics.ts";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";
import { makeCa } from "../support/tls.ts";
import { until, within } from "../support/wait.ts";

/** GET `path` on an HTTP/2 session; resolves with the body. */
async function h2get(c: ClientHttp2Session, path: string): Promise<string> {
  const s = c.request({ ":path": path });
  s.setEncoding("latin1");
  let body = "";
  s.on("data", (d: string) => (body += d));
  await within(once(s, "end"), 10_000, `${path}: the response`);
  return body;
}

async function reload(gw: TestGateway, yaml: string): Promise<void> {
  const next = loadConfig(yaml, { env: {}, baseDir: "/" });
  if (!next.ok) throw new Error(next.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  await gw.gw.reload(next.config);
}

const one = (be: Backend, listener: string) => `
listeners:
  - ${listener}
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`;

test("protocols [h2c] without http1: an HTTP/1.1 client is closed without an answer; an h2c client is served; counted as h2 only", async () => {
  const be = await httpBackend("a");
  const gw = await startGateway(one(be, "{ name: web, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }"));
  try {
    const h1 = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 10_000);
    assert.deepEqual(h1, { text: "", closed: true });
    const c = h2connect(`http://127.0.0.1:${gw.port()}`);
    assert.equal(await h2get(c, "/x"), "a GET /x 0");
    c.close();
    assert.deepEqual({ ...gw.gw.data.listenerCounters("web")! }, { handshakes: 0, resumed: 0, failed: 0, h1: 0, h2: 1 });
    assert.equal(be.requests.length, 1);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TLS with protocols [h2]: a client without ALPN is closed after its handshake; an h2 client is served", async () => {
  const ca = makeCa();
  const pem = ca.issue(["h2only.test"]);
  const be = await httpBackend("a");
  const gw = await startGateway(one(be, `{ name: web, mode: http, listen: 127.0.0.1:0, protocols: [h2], tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }`));
  try {
    const s: TLSSocket = tlsConnect({ port: gw.port(), host: "127.0.0.1", ca: ca.cert, servername: "h2only.test" });
    s.on("error", () => {});
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString("latin1")));
    await within(once(s, "secureConnect"), 10_000, "the handshake");
    s.write("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    await within(once(s, "close"), 10_000, "the gateway to close the connection");
    assert.equal(got, "");
    const c = h2connect(`https://127.0.0.1:${gw.port()}`, { ca: ca.cert, servername: "h2only.test" });
    assert.equal(await h2get(c, "/y"), "a GET /y 0");
    c.close();
    const counters = gw.gw.data.listenerCounters("web")!;
    assert.deepEqual([counters.handshakes, counters.h1, counters.h2], [2, 0, 1]);
    assert.equal(be.requests.length, 1);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("proxyProtocol: accept with h2c: a PROXY header and the preface in one write make an h2 session for the header's client; HTTP/1.1 after a header too", async () => {
  const be = await httpBackend("a");
  const gw = await startGateway(one(be, "{ name: web, mode: http, listen: 127.0.0.1:0, proxyProtocol: accept, protocols: [http1, h2c], routes: [{ backend: b }] }"));
  try {
    // The header and the client's first bytes in one segment: the bytes after the header
    // go to the preface sniffer with the connection.
    const raw = netConnect(gw.port(), "127.0.0.1");
    await once(raw, "connect");
    raw.cork();
    raw.write(encodeProxyV1("192.0.2.7", 5000, "10.0.0.1", 80));
    const c = h2connect("http://pp.test", { createConnection: () => raw });
    process.nextTick(() => raw.uncork());
    assert.equal(await h2get(c, "/h2"), "a GET /h2 0");
    c.close();
    const h1 = await rawExchange(gw.port(), Buffer.concat([encodeProxyV1("192.0.2.8", 5000, "10.0.0.1", 80), Buffer.from("GET /h1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")]), 10_000);
    assert.match(h1.text, /^HTTP\/1\.1 200 [^]*a GET \/h1 0$/);
    assert.deepEqual(be.requests.map((r) => [r.url, r.headers["x-forwarded-for"]]), [["/h2", "192.0.2.7"], ["/h1", "192.0.2.8"]]);
    const counters = gw.gw.data.listenerCounters("web")!;
    assert.deepEqual([counters.h1, counters.h2], [1, 1]);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a reload turns TLS on, then off: new connections follow, an established one goes on; the counters outlive both", async () => {
  const ca = makeCa();
  const pem = ca.issue(["flip.test"]);
  const be = await httpBackend("a");
  const plain = one(be, "{ name: web, mode: http, listen: 127.0.0.1:0, routes: [{ backend: b }] }");
  const tls = one(be, `{ name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }`);
  const gw = await startGateway(plain);
  try {
    const port = gw.port();
    assert.match((await rawExchange(port, "GET /p1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 10_000)).text, /^HTTP\/1\.1 200 /);
    await reload(gw, tls);
    assert.equal(gw.port(), port, "the same socket");
    const secure = h2connect(`https://127.0.0.1:${port}`, { ca: ca.cert, servername: "flip.test" });
    assert.equal(await h2get(secure, "/t1"), "a GET /t1 0");
    await reload(gw, plain);
    // New connections are plain again; the TLS one opened before goes on.
    assert.match((await rawExchange(port, "GET /p2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 10_000)).text, /^HTTP\/1\.1 200 /);
    assert.equal(await h2get(secure, "/t2"), "a GET /t2 0");
    secure.close();
    assert.deepEqual(be.requests.map((r) => [r.url, r.headers["x-forwarded-proto"]]), [["/p1", "http"], ["/t1", "https"], ["/p2", "http"], ["/t2", "https"]]);
    const counters = gw.gw.data.listenerCounters("web")!;
    assert.deepEqual([counters.handshakes, counters.h1, counters.h2], [1, 2, 1]);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a reload that changes maxConcurrentStreams reaches new HTTP/2 connections; one that keeps it keeps it", async () => {
  const be = await httpBackend("a");
  const yaml = (streams: number) => one(be, `{ name: web, mode: http, listen: 127.0.0.1:0, protocols: [http1, h2c], maxConcurrentStreams: ${streams}, routes: [{ backend: b }] }`);
  const gw = await startGateway(yaml(7));
  try {
    const settings = async (): Promise<number | undefined> => {
      const c = h2connect(`http://127.0.0.1:${gw.port()}`);
      await within(once(c, "remoteSettings"), 10_000, "the gateway's SETTINGS");
      const n = c.remoteSettings.maxConcurrentStreams;
      c.close();
      return n;
    };
    assert.equal(await settings(), 7);
    await reload(gw, yaml(7));
    assert.equal(await settings(), 7);
    await reload(gw, yaml(9));
    assert.equal(await settings(), 9);
  } finally {
    await gw.close();
    await be.close();
  }
});

/** A raw client that writes `request`, half-closes, and collects the answer until the gateway closes. */
async function halfClosed(socket: Socket | TLSSocket, request: string): Promise<string> {
  let got = "";
  socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
  socket.on("error", () => {});
  socket.end(request);
  await within(once(socket, "close"), 10_000, "the gateway to close after its answer");
  return got;
}

test("a client that half-closes after its request still gets the answer, in clear text and under TLS", async () => {
  const ca = makeCa();
  const pem = ca.issue(["half.test"]);
  const be = await httpBackend("a");
  const gw = await startGateway(`
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [{ backend: b }] }
  - { name: sec, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
  try {
    const plain = netConnect(gw.port("web"), "127.0.0.1");
    await once(plain, "connect");
    assert.match(await halfClosed(plain, "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 [^]*a GET \/plain 0$/);
    const secure: TLSSocket = tlsConnect({ port: gw.port("sec"), host: "127.0.0.1", ca: ca.cert, servername: "half.test" });
    await within(once(secure, "secureConnect"), 10_000, "the handshake");
    assert.match(await halfClosed(secure, "GET /tls HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 [^]*a GET \/tls 0$/);
    assert.deepEqual([gw.gw.data.listenerCounters("web")!.h1, gw.gw.data.listenerCounters("sec")!.h1], [1, 1], "one HTTP/1.1 connection on each");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TLS: a client that half-closes in the middle of its ClientHello is closed, not left hanging in the handshake", async () => {
  const ca = makeCa();
  const pem = ca.issue(["gone.test"]);
  const be = await httpBackend("a");
  const gw = await startGateway(one(be, `{ name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }`));
  try {
    const hello = await captureClientHello({ servername: "gone.test" });
    const raw = netConnect(gw.port(), "127.0.0.1");
    raw.on("error", () => {});
    raw.resume();
    await once(raw, "connect");
    raw.end(hello.subarray(0, 20));
    await within(once(raw, "close"), 10_000, "the gateway to close the half-open handshake");
    assert.equal(gw.gw.data.listenerLimits("web")!.open, 0);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a connection refused by limits is published as a refusal: 503 and the answer's length in clear text, status 0 and no bytes under TLS", async () => {
  const ca = makeCa();
  const pem = ca.issue(["full.test"]);
  const be = await httpBackend("a");
  const gw = await startGateway(`
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, limits: { maxConnections: 1 }, routes: [{ backend: b }] }
  - { name: sec, mode: http, listen: 127.0.0.1:0, limits: { maxConnections: 1 }, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
  const records: AccessRecord[] = [];
  const off = gw.on(events.exchangeFinished, ({ record }) => void (record.error === "HF_ERR_CONNECTION_LIMIT" && records.push(record)));
  const held: Socket[] = [];
  try {
    for (const name of ["web", "sec"]) {
      const first = netConnect(gw.port(name), "127.0.0.1");
      first.on("error", () => {});
      held.push(first);
      await once(first, "connect");
      await until(() => gw.gw.data.listenerLimits(name)!.open === 1, 10_000, `${name}: the first connection counted`);
    }
    const plain = await rawExchange(gw.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 10_000);
    assert.match(plain.text, /^HTTP\/1\.1 503 /);
    const secure = await rawExchange(gw.port("sec"), await captureClientHello({ servername: "full.test" }), 10_000);
    assert.deepEqual(secure, { text: "", closed: true });
    assert.deepEqual(records.map((r) => [r.listener, r.client, r.status, r.bytesOut, r.reason]), [
      ["web", "127.0.0.1", 503, Buffer.byteLength(plain.text, "latin1"), "the listener has too many connections"],
      ["sec", "127.0.0.1", 0, 0, "the listener has too many connections"],
    ]);
  } finally {
    off();
    for (const s of held) s.destroy();
    await gw.close();
    await be.close();
  }
});

test("a reload that keeps a TLS listener's certificates reads no certificate file: with the key file broken since the config was read, a route change applies and TLS goes on", async () => {
  const ca = makeCa();
  const [pem, other] = [ca.issue(["keep.test"]), ca.issue(["keep.test"])];
  const live = { cert: join(ca.dir, "keep-cert.pem"), key: join(ca.dir, "keep-key.pem") };
  copyFileSync(pem.certPath, live.cert);
  copyFileSync(pem.keyPath, live.key);
  const be = await httpBackend("a");
  const yaml = (prefix: string) => one(be, `{ name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${live.cert}, key: ${live.key} }, routes: [{ match: { pathPrefix: ${prefix} }, backend: b }] }`);
  const gw = await startGateway(yaml("/a"));
  try {
    const next = loadConfig(yaml("/b"), { env: {}, baseDir: "/" });
    assert.ok(next.ok);
    // The key of another certificate: read again, OpenSSL would refuse the pair.
    copyFileSync(other.keyPath, live.key);
    await gw.gw.reload(next.config);
    const s: TLSSocket = tlsConnect({ port: gw.port(), host: "127.0.0.1", ca: ca.cert, servername: "keep.test" });
    await within(once(s, "secureConnect"), 10_000, "the handshake after the reload");
    assert.match(await halfClosed(s, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 [^]*a GET \/b 0$/);
    assert.deepEqual(be.requests.map((r) => r.url), ["/b"]);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a reload that removes a clear-text http listener closes it; the other listener goes on", async () => {
  const be = await httpBackend("a");
  const two = (both: boolean) => `
listeners:
  - { name: keep, mode: http, listen: 127.0.0.1:0, routes: [{ backend: b }] }
${both ? "  - { name: gone, mode: http, listen: 127.0.0.1:0, routes: [{ backend: b }] }" : ""}
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`;
  const gw = await startGateway(two(true));
  try {
    const gone = gw.port("gone");
    await reload(gw, two(false));
    const refused = netConnect(gone, "127.0.0.1");
    const [err] = (await within(once(refused, "error"), 10_000, "the removed listener's port to refuse")) as [NodeJS.ErrnoException];
    assert.equal(err.code, "ECONNREFUSED");
    assert.match((await rawExchange(gw.port("keep"), "GET /k HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 10_000)).text, /^HTTP\/1\.1 200 /);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("protocols [http1] (the default): the h2c preface is read as HTTP/1.1 and refused with a 400, never an HTTP/2 session", async () => {
  const be = await httpBackend("a");
  const gw = await startGateway(one(be, "{ name: web, mode: http, listen: 127.0.0.1:0, routes: [{ backend: b }] }"));
  try {
    const r = await rawExchange(gw.port(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 10_000);
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.deepEqual([gw.gw.data.listenerCounters("web")!.h1, gw.gw.data.listenerCounters("web")!.h2], [1, 0]);
    assert.equal(be.requests.length, 0);
  } finally {
    await gw.close();
    await be.close();
  }
});
