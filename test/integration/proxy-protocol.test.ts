import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { pino } from "pino";
import { encodeProxyV1, encodeProxyV2 } from "../../src/codec/proxy/encode.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { PROXY_NEED_MORE, ProxyHeader, parseProxyHeader } from "../../src/codec/proxy/header.ts";
import { httpBackend, tcpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { proxyReadingServer } from "../support/proxy.ts";
import { within } from "../support/wait.ts";
import { makeCa } from "../support/tls.ts";

/** Writes `bytes` on a new connection, returns all it got back until the gateway closed. */
async function exchange(port: number, ...parts: (string | Buffer)[]): Promise<{ text: string; ms: number }> {
  const s = netConnect(port, "127.0.0.1");
  const t0 = performance.now();
  let text = "";
  s.on("data", (d: Buffer) => (text += d.toString("latin1")));
  s.on("error", () => {});
  for (const p of parts) s.write(p);
  await within(once(s, "close"), 10_000, `the gateway to close the connection (got ${JSON.stringify(text)})`);
  return { text, ms: performance.now() - t0 };
}

test("proxyProtocol: accept on an http listener: the header's client is the one for X-Forwarded-For, allow and the hash key", async () => {
  const a = await httpBackend("a");
  const [h1, h2] = await Promise.all([httpBackend("h1"), httpBackend("h2")]);
  const gw = await startGateway(`
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    proxyProtocol: accept
    routes:
      - { match: { pathPrefix: /admin }, allow: [203.0.113.0/24], backend: b }
      - { match: { pathPrefix: /hash }, backend: h }
      - { backend: b }
backends:
  b:
    servers: [{ name: a, address: 127.0.0.1:${a.port} }]
  h:
    balance: source-hash
    servers: [{ name: h1, address: 127.0.0.1:${h1.port} }, { name: h2, address: 127.0.0.1:${h2.port} }]
`);
  try {
    const req = (path: string) => `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;
    let n = a.requests.length;
    const v1 = await exchange(gw.port(), encodeProxyV1("203.0.113.7", 51234, "10.0.0.1", 443), req("/admin/x"));
    assert.match(v1.text, /^HTTP\/1\.1 200 /);
    assert.equal(a.requests[n]!.headers["x-forwarded-for"], "203.0.113.7");
    n = a.requests.length;
    // v2, in one write with the request, IPv6
    const v2 = await exchange(gw.port(), Buffer.concat([encodeProxyV2("2001:db8::7", 1, "2001:db8::1", 2), Buffer.from(req("/x"))]));
    assert.match(v2.text, /^HTTP\/1\.1 200 /);
    assert.equal(a.requests[n]!.headers["x-forwarded-for"], "2001:db8::7");
    // allow reads the header's address, not the socket's (127.0.0.1)
    const denied = await exchange(gw.port(), encodeProxyV1("198.51.100.1", 1, "10.0.0.1", 2), req("/admin/x"));
    assert.match(denied.text, /^HTTP\/1\.1 403 /);
    // hashKey: source hashes the header's address: every connection comes from
    // 127.0.0.1, yet the clients spread over both servers, each client always on its own.
    const servedBy = async (ip: string) => /\r\nx-served-by: (h\d)\r\n/i.exec((await exchange(gw.port(), encodeProxyV1(ip, 1, "10.0.0.1", 2), req("/hash"))).text)?.[1];
    const clients = Array.from({ length: 8 }, (_, i) => `198.51.100.${10 + i}`);
    const first = await Promise.all(clients.map(servedBy));
    assert.deepEqual(new Set(first), new Set(["h1", "h2"]), `clients by header address: ${first.join(" ")}`);
    assert.deepEqual(await Promise.all(clients.map(servedBy)), first, "each client's key names one server");
    // LOCAL (a balancer's health check): the connection's own address
    n = a.requests.length;
    const local = await exchange(gw.port(), encodeProxyV2("", 0, "", 0), req("/x"));
    assert.match(local.text, /^HTTP\/1\.1 200 /);
    assert.equal(a.requests[n]!.headers["x-forwarded-for"], "127.0.0.1");
    // No header: closed at once, nothing forwarded; a silent client after 3 s.
    n = a.requests.length;
    const none = await exchange(gw.port(), req("/x"));
    assert.equal(none.text, "");
    assert.ok(none.ms < 1000, `closed after ${none.ms} ms`);
    const silent = await exchange(gw.port());
    assert.ok(silent.ms >= 2500 && silent.ms < 5000, `a silent client closed after ${silent.ms} ms`);
    assert.equal(a.requests.length, n, "nothing forwarded");
    assert.equal(gw.gw.data.counters.proxyRefused, 2);
  } finally {
    await gw.close();
    await Promise.all([a.close(), h1.close(), h2.close()]);
  }
});

test("proxyProtocol: accept before TLS: the header comes in clear text, then the handshake", async () => {
  const ca = makeCa();
  const pem = ca.issue(["secure.test"]);
  const a = await httpBackend("a");
  const gw = await startGateway(`
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    proxyProtocol: accept
    tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }
    routes: [{ backend: b }]
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${a.port} }] }
`);
  try {
    const raw = netConnect(gw.port(), "127.0.0.1");
    await once(raw, "connect");
    raw.write(encodeProxyV2("192.0.2.9", 4444, "10.0.0.1", 443));
    const s = tlsConnect({ socket: raw, servername: "secure.test", ca: ca.cert });
    await once(s, "secureConnect");
    s.write("GET /p HTTP/1.1\r\nHost: secure.test\r\nConnection: close\r\n\r\n");
    let text = "";
    s.on("data", (d: Buffer) => (text += d));
    await once(s, "close");
    assert.match(text, /^HTTP\/1\.1 200 /);
    const h = a.requests.at(-1)!.headers;
    assert.equal(h["x-forwarded-for"], "192.0.2.9");
    assert.equal(h["x-forwarded-proto"], "https");
  } finally {
    await gw.close();
    await a.close();
  }
});

test("proxyProtocol on tcp listeners: accept v1/v2 from the front, send v1/v2 to the servers with the client's address", async () => {
  const headers: { version: number; source: string; sourcePort: number; rest: string }[] = [];
  const be = await tcpBackend((s: Socket) => {
    let buf = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const h = new ProxyHeader();
      const n = parseProxyHeader(buf, buf.length, h);
      if (n === PROXY_NEED_MORE || buf.length < n + 4) return;
      assert.ok(n > 0, `the server got a PROXY header (${n})`);
      headers.push({ version: h.version, source: h.source, sourcePort: h.sourcePort, rest: buf.subarray(n).toString() });
      s.end("done");
    });
  });
  const cfg = (version: string) => `
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, proxyProtocol: accept, backend: t }
  - { name: direct, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t:
    proxyProtocol: ${version}
    servers: [{ name: s, address: 127.0.0.1:${be.port} }]
`;
  for (const version of ["v1", "v2"]) {
    const gw = await startGateway(cfg(version));
    try {
      headers.length = 0;
      const fromFront = await exchange(gw.port("l4"), encodeProxyV1("198.51.100.23", 61000, "10.1.1.1", 5432), "PING");
      assert.equal(fromFront.text, "done");
      const direct = await exchange(gw.port("direct"), "PONG");
      assert.equal(direct.text, "done");
      assert.deepEqual(headers.map((h) => [h.version, h.source, h.rest]), [
        [Number(version[1]), "198.51.100.23", "PING"],
        [Number(version[1]), "127.0.0.1", "PONG"],
      ]);
      assert.equal(headers[0]!.sourcePort, 61000);
    } finally {
      await gw.close();
    }
  }
  await be.close();
});

test("backends.*.proxyProtocol from an http listener: every server connection starts with the header of its own client", async () => {
  const { createServer: createHttpServer } = await import("node:http");
  const seen: string[] = [];
  const app = createHttpServer((req, res) => res.end(`${req.socket.remoteAddress}`));
  app.listen(0, "127.0.0.1");
  await once(app, "listening");
  // Reads the PROXY header, then pipes the rest to the HTTP server.
  const front = await proxyReadingServer((raw, h, rest) => {
    seen.push(`${h.version} ${h.source}`);
    const up = netConnect((app.address() as { port: number }).port, "127.0.0.1");
    up.write(rest);
    raw.pipe(up).pipe(raw);
    up.on("error", () => raw.destroy());
    raw.on("error", () => up.destroy());
  });
  const gw = await startGateway(`
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, proxyProtocol: accept, routes: [{ backend: app }] }
backends:
  app:
    proxyProtocol: v2
    servers: [{ name: a, address: 127.0.0.1:${front.port} }]
`);
  try {
    const req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    const one = await exchange(gw.port(), encodeProxyV1("192.0.2.1", 1000, "10.0.0.1", 80), req, req, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert.equal(one.text.match(/HTTP\/1\.1 200/g)?.length, 3);
    const two = await exchange(gw.port(), encodeProxyV1("192.0.2.2", 1000, "10.0.0.1", 80), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert.match(two.text, /^HTTP\/1\.1 200/);
    assert.deepEqual(seen, ["2 192.0.2.1", "2 192.0.2.1", "2 192.0.2.1", "2 192.0.2.2"]);
  } finally {
    await gw.close();
    front.server.close();
    app.closeAllConnections();
    app.close();
  }
});

test("proxyProtocol: accept: the access log names the client of the header, over HTTP/1.1 and over TLS + HTTP/2", async () => {
  const a = await httpBackend("a");
  const ca = makeCa();
  const pem = ca.issue(["pp.test"]);
  const file = join(mkdtempSync(join(tmpdir(), "hf-pp-access-")), "access.log");
  const accessLog = pino({ base: undefined }, pino.destination({ dest: file, sync: true }));
  const loaded = loadConfig(`
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, proxyProtocol: accept, accessLog: true, routes: [{ backend: b }] }
  - { name: secure, mode: http, listen: 127.0.0.1:0, proxyProtocol: accept, accessLog: true, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${a.port} }] }
`, { env: {}, baseDir: "." });
  assert.ok(loaded.ok);
  const gw = new Gateway(loaded.config, undefined, { accessLog });
  await gw.start();
  try {
    const one = await exchange(gw.address("web").port, encodeProxyV1("203.0.113.9", 4000, "10.0.0.1", 80), "GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert.match(one.text, /^HTTP\/1\.1 200 /);
    // TLS after the header, then HTTP/2 by ALPN on that connection.
    const raw = netConnect(gw.address("secure").port, "127.0.0.1");
    await once(raw, "connect");
    raw.write(encodeProxyV2("2001:db8::9", 4001, "2001:db8::1", 443));
    const h2 = http2Connect("https://pp.test", { createConnection: () => tlsConnect({ socket: raw, ca: ca.cert, servername: "pp.test", ALPNProtocols: ["h2"] }) });
    await new Promise<void>((resolve, reject) => {
      const r = h2.request({ ":path": "/h2" }, { endStream: true });
      r.resume();
      r.on("end", resolve);
      r.on("error", reject);
    });
    h2.close();
    let lines: { path: string; client: string; listener?: string }[] = [];
    for (let i = 0; i < 100 && lines.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { path: string; client: string });
    }
    assert.deepEqual(lines.map((l) => [l.path, l.client]), [["/plain", "203.0.113.9"], ["/h2", "2001:db8::9"]]);
  } finally {
    await gw.stop();
    await a.close();
  }
});
