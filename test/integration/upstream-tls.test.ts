import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { connect as netConnect } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { closeServer, httpBackend, tcpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { proxyReadingServer } from "../support/proxy.ts";
import { rawClient, rawExchange } from "../support/raw.ts";
import { until } from "../support/wait.ts";
import { makeCa, type Pem } from "../support/tls.ts";

interface TlsBackend {
  port: number;
  server: Server;
  /** TLS connections accepted, and how many of them resumed a session. */
  handshakes: number;
  resumed: number;
  sni: string[];
  /** Each request: its path, the TLS connection it came on (numbered by handshake) and whether that connection resumed a session. */
  requests: { url: string; conn: number; resumed: boolean }[];
  /** Holds `/slow-*` requests until called. */
  release(): void;
  /** The ALPN protocol each TLS connection agreed on (false: none offered). */
  alpn: (string | false | null)[];
}

async function httpsBackend(pem: Pem, name: string): Promise<TlsBackend> {
  const held: (() => void)[] = [];
  const conns = new WeakMap<TLSSocket, number>();
  const b = { handshakes: 0, resumed: 0, sni: [] as string[], requests: [] as TlsBackend["requests"], alpn: [] as (string | false | null)[], release: () => held.splice(0).forEach((f) => f()) } as TlsBackend;
  const server = createServer({ cert: pem.cert, key: pem.key, keepAliveTimeout: 60_000, ALPNProtocols: ["http/1.1"] }, (req, res) => {
    if (req.url === "/health") return res.end("ok");
    const s = req.socket as TLSSocket;
    b.requests.push({ url: req.url!, conn: conns.get(s)!, resumed: s.isSessionReused() });
    const answer = () => res.end(`${name} ${req.url}`);
    if (req.url!.startsWith("/slow")) held.push(answer);
    else answer();
  });
  server.on("secureConnection", (s: TLSSocket) => {
    conns.set(s, b.handshakes);
    b.handshakes++;
    if (s.isSessionReused()) b.resumed++;
    b.sni.push(String(s.servername));
    b.alpn.push(s.alpnProtocol);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  b.server = server;
  b.port = (server.address() as AddressInfo).port;
  return b;
}

test("TLS to the servers: verified against ca and servername; keep-alive keeps TLS connections; new ones resume the session", async () => {
  const ca = makeCa();
  const be = await httpsBackend(ca.issue(["api.internal"]), "s1");
  const gw = await startGateway(`
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [{ backend: api }] }
backends:
  api:
    tls: { ca: ${ca.certPath}, servername: api.internal }
    health: { type: http, path: /health, interval: 1s, timeout: 900ms, rise: 1, fall: 3 }
    servers: [{ name: s1, address: 127.0.0.1:${be.port} }]
`);
  try {
    const c = rawClient(gw.port());
    for (let i = 0; i < 50; i++) {
      const res = await c.request(`GET /k${i} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.ok(res.endsWith(`s1 /k${i}`), res);
    }
    c.close();
    // Health checks are TLS connections too (each its own); the proxied requests shared one.
    const stats = gw.gw.data.backends.get("api")!.servers[0]!.stats;
    assert.equal(stats.connectionsReused, 49);
    const keptOn = new Set(be.requests.filter((r) => r.url.startsWith("/k")).map((r) => r.conn));
    assert.equal(keptOn.size, 1, "the 50 requests went over one TLS connection");
    assert.ok(be.sni.every((n) => n === "api.internal"), `SNI sent: ${[...new Set(be.sni)].join(", ")}`);
    assert.ok(be.alpn.every((p) => p === "http/1.1"), `ALPN agreed: ${[...new Set(be.alpn)].join(", ")}`);
    // Two requests at once (the server holds the first) need two server connections:
    // the one opened for the second resumes the session.
    const [a, b] = [rawClient(gw.port()), rawClient(gw.port())];
    const ra = a.request("GET /slow-a HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => be.requests.some((r) => r.url === "/slow-a"), 5000, "/slow-a to reach the server");
    const rb = await b.request("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(rb, /^HTTP\/1\.1 200 /);
    be.release();
    assert.match(await ra, /s1 \/slow-a$/);
    a.close();
    b.close();
    const [slowA, onB] = ["/slow-a", "/b"].map((u) => be.requests.find((r) => r.url === u)!);
    assert.notEqual(onB!.conn, slowA!.conn, "the second request had a server connection of its own");
    const fresh = [slowA!, onB!].filter((r) => !keptOn.has(r.conn));
    assert.ok(fresh.length > 0, "a new server connection");
    for (const r of fresh) assert.equal(r.resumed, true, `the new server connection (for ${r.url}) resumed the TLS session`);
  } finally {
    await gw.close();
    await closeServer(be.server);
  }
});

test("TLS to the servers: a certificate that does not verify is a 502 that says so; verify: false accepts it", async () => {
  const ca = makeCa();
  const other = makeCa("another CA");
  const be = await httpsBackend(other.issue(["api.internal"]), "s1");
  const cfg = (tls: string) => `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [{ backend: api }] }
backends:
  api:
    tls: ${tls}
    servers: [{ name: s1, address: 127.0.0.1:${be.port} }]
`;
  const strict = await startGateway(cfg(`{ ca: ${ca.certPath}, servername: api.internal }`));
  const lax = await startGateway(cfg("{ verify: false }"));
  try {
    const c = rawClient(strict.port());
    const refused = await c.request("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(refused, /^HTTP\/1\.1 502 /);
    assert.match(refused, /TLS handshake failed/);
    c.close();
    const d = rawClient(lax.port());
    assert.match(await d.request("GET /x HTTP/1.1\r\nHost: t\r\n\r\n"), /s1 \/x$/);
    d.close();
  } finally {
    await strict.close();
    await lax.close();
    await closeServer(be.server);
  }
});

test("TLS to the servers: a server that resets before the handshake is a 502 for a connection error, one that speaks clear text a 502 for the handshake", async () => {
  const reset = await tcpBackend((s) => s.resetAndDestroy());
  const plain = await httpBackend("plain");
  const cfg = (port: number) => `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [{ backend: api }] }
backends:
  api:
    tls: { verify: false }
    servers: [{ name: s1, address: 127.0.0.1:${port} }]
`;
  const [gwReset, gwPlain] = [await startGateway(cfg(reset.port)), await startGateway(cfg(plain.port))];
  try {
    const a = (await rawExchange(gwReset.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000)).text;
    assert.match(a, /^HTTP\/1\.1 502 /);
    assert.match(a, /server s1 could not be reached \(connection error\)/);
    const b = (await rawExchange(gwPlain.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000)).text;
    assert.match(b, /^HTTP\/1\.1 502 /);
    assert.match(b, /server s1 could not be reached \(TLS handshake failed\)/);
  } finally {
    await gwReset.close();
    await gwPlain.close();
    await reset.close();
    await plain.close();
  }
});

test("mode: tcp to a TLS server with a PROXY header: the header goes first in clear text, then TLS", async () => {
  const ca = makeCa();
  const pem = ca.issue(["db.internal"]);
  const seen: { source: string; payload: string }[] = [];
  // A server that reads the PROXY header itself, then hands the rest to TLS.
  const tlsServer = createTlsServer({ cert: pem.cert, key: pem.key }, (s) => {
    s.on("data", (d: Buffer) => {
      seen.at(-1)!.payload += d.toString();
      s.end("pong");
    });
  });
  const front = await proxyReadingServer((raw, h, rest) => {
    seen.push({ source: h.source, payload: "" });
    if (rest.length > 0) raw.unshift(rest);
    tlsServer.emit("connection", raw);
  });
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: db }
backends:
  db:
    tls: { ca: ${ca.certPath}, servername: db.internal }
    proxyProtocol: v2
    servers: [{ name: d1, address: 127.0.0.1:${front.port} }]
`);
  try {
    // The gateway originates TLS to the server: the client speaks clear text to it.
    const c = netConnect(gw.port("l4"), "127.0.0.1");
    c.write("ping");
    let got = "";
    c.on("data", (d) => (got += d));
    await once(c, "close");
    assert.equal(got, "pong");
    assert.deepEqual(seen, [{ source: "127.0.0.1", payload: "ping" }]);
  } finally {
    await gw.close();
    front.server.close();
  }
});
