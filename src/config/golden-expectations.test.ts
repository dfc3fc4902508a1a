// The golden .json files (all nine) are the loader's own output (`UPDATE_GOLDEN=1` rewrites them
// from it), so a loader bug regenerated into them would pass golden.test.ts. What each
// file encodes is written down here by hand, from its YAML's header comment and
// docs/config.md, and checked against the file: a regenerated golden that changed the
// meaning of its YAML fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a golden file's free-form JSON

const golden = (name: string): Json => JSON.parse(readFileSync(join(import.meta.dirname, "testdata", `${name}.json`), "utf8")) as Json;
const addr = (host: string, port: number) => ({ host, port });

test("golden minimal.json: every default as docs/config.md states it", () => {
  const g = golden("minimal");
  assert.deepEqual(g.admin, { listen: addr("127.0.0.1", 9900), token: null });
  assert.equal(g.workers, "auto");
  assert.deepEqual(g.shutdown, { delay: 2_000, timeout: 60_000 });
  assert.equal(g.cluster, null, "no cluster: one node");
  const web = g.listeners[0];
  assert.deepEqual(web.listen, addr("0.0.0.0", 8080), ":8080 listens on every IPv4 address");
  assert.deepEqual(web.protocols, ["http1"], "without tls: HTTP/1.1 only");
  assert.deepEqual([web.maxHeaderSize, web.accessLog, web.maxConcurrentStreams], [16_384, false, 100]);
  assert.deepEqual(web.timeouts, { requestHeaders: 10_000, clientIdle: 60_000 });
  assert.deepEqual(web.limits, { maxConnections: 0, maxConnectionsPerClient: 0 });
  assert.deepEqual([web.tls, web.proxyProtocol, web.trustedProxies], [null, null, null], "absent: no TLS, no PROXY header, trust no one");
  assert.deepEqual(web.routes, [{ match: null, allow: null, backend: "app", split: null }], "one route that takes everything");
  const app = g.backends.app;
  assert.deepEqual(
    [app.balance, app.retries, app.slowStart, app.maxConn, app.queueTimeout, app.drainTimeout, app.drainSpread, app.maxLifetime],
    ["round-robin", 2, 0, 0, 5_000, 30_000, 10_000, 0],
  );
  assert.equal(app.hashBalanceFactor, 125);
  assert.deepEqual(app.keepAlive, { maxIdle: 64, idleTimeout: 30_000 });
  assert.deepEqual(app.timeouts, { connect: 5_000, server: 60_000, tunnel: 3_600_000 });
  for (const absent of ["sticky", "health", "passive", "admission", "rebalance", "websocket", "sse", "tls", "proxyProtocol", "hashKey"]) assert.equal(app[absent], null, absent);
  assert.deepEqual(app.servers, [{ name: "app1", address: addr("127.0.0.1", 3000), weight: 1, backup: false }]);
});

test("golden addresses.json: IPv6 without brackets, :PORT is 0.0.0.0, host names lower-cased, port 0 kept", () => {
  const g = golden("addresses");
  assert.deepEqual(g.admin.listen, addr("::1", 0));
  assert.deepEqual(g.listeners.map((l: Json) => l.listen), [addr("::", 8443), addr("0.0.0.0", 0), addr("localhost", 0)]);
  assert.deepEqual(g.backends.pool.servers.map((s: Json) => s.address), [addr("2001:db8::10", 8080), addr("my_service.internal", 80), addr("192.168.0.1", 65535)]);
  // A tcp listener's `backend` is its one default route.
  assert.deepEqual(g.listeners[0].routes, [{ match: null, backend: "pool" }]);
});

test("golden env.json: ${VAR} read again as YAML when unquoted, kept a string when quoted, :- defaults, $${ literal", () => {
  const g = golden("env");
  assert.equal(g.admin.token, "test-admin-token");
  assert.equal(g.workers, 4, "WORKERS=4, unquoted: the number 4");
  assert.deepEqual(g.cluster, { redis: "redis://redis.internal:6379" });
  assert.deepEqual(g.listeners[0].listen, addr("127.0.0.1", 8080), "LISTEN_HOST unset: its default");
  const [literal, prefix] = g.listeners[0].routes;
  assert.deepEqual(literal.match.header, { "x-template": "${not a variable}" });
  assert.equal(prefix.match.pathPrefix, "/v8080/");
  assert.equal(g.backends.app.health.path, "/health/default", "EMPTY is set but empty: :- takes the default");
  assert.equal(g.backends.app.health.host, "8080", "quoted: a string");
  assert.deepEqual(g.backends.app.servers[0].address, addr("app.internal", 8080));
});

test("golden merge-keys.json: << merges the anchor's settings, the backend's own keys win", () => {
  const { a, b } = golden("merge-keys").backends;
  assert.deepEqual([a.balance, a.timeouts.connect, a.timeouts.server], ["least-conn", 1_000, 60_000]);
  assert.deepEqual([b.balance, b.timeouts.connect], ["random", 1_000]);
});

test("golden routes.json: hosts and header names lower-cased, allow normalized to CIDR, a split without backend takes its first", () => {
  const web = golden("routes").listeners[0];
  const [first, second] = web.routes;
  assert.equal(first.match.host, "api.example.com");
  assert.deepEqual(first.match.header, { "x-canary": "true", accept: "text/event-stream" }, "values as written");
  assert.deepEqual(first.allow, ["10.1.2.3/32", "2001:db8::/64", "::1/128", "0.0.0.0/0"]);
  assert.equal(second.backend, "a");
  assert.deepEqual(second.split, [{ backend: "a", weight: 0 }, { backend: "b", weight: 1 }]);
  assert.deepEqual([web.accessLog, web.maxHeaderSize, web.timeouts], [true, 32_768, { requestHeaders: 5_000, clientIdle: 120_000 }]);
});

test("golden hash-defaults.json: hashKey source for the hash policies, header names lower-cased, cookie names kept, sections' defaults", () => {
  const { maglev, ring, bounded, sticky } = golden("hash-defaults").backends;
  assert.deepEqual(maglev.hashKey, { kind: "source" });
  assert.deepEqual(ring.hashKey, { kind: "header", name: "x-user-id" });
  assert.deepEqual([bounded.hashKey, bounded.hashBalanceFactor], [{ kind: "cookie", name: "Session" }, 150]);
  assert.equal(sticky.hashKey, null, "p2c is not a hash policy");
  assert.deepEqual(sticky.sticky, { kind: "source", ttl: 1_800_000, maxEntries: 100_000 });
  assert.deepEqual(sticky.health, { type: "tcp", method: "GET", path: "/", host: null, interval: 5_000, timeout: 2_000, rise: 2, fall: 3, jitter: 0.1, expect: { status: [], maxLatency: null, json: null } }, "health: {} is a tcp check");
  assert.deepEqual(sticky.passive, { consecutiveFailures: 5, ejectTime: 30_000, maxEjectTime: 300_000, maxEjectedPercent: 50, on5xx: false, recovery: "timeout" });
  assert.deepEqual(sticky.websocket, { pingInterval: 25_000, pongTimeout: 10_000 });
  assert.deepEqual(sticky.admission, { rate: 2.5, burst: 3 }, "burst: ceil(rate)");
  assert.deepEqual(sticky.keepAlive, { maxIdle: 64, idleTimeout: 30_000 });
  assert.deepEqual(sticky.timeouts, { connect: 5_000, server: 60_000, tunnel: 86_400_000 }, "1d; the others keep their defaults");
});

test("golden limits.json: limits per listener, absent or partial = 0 (no limit)", () => {
  const g = golden("limits");
  assert.deepEqual(g.listeners.map((l: Json) => l.limits), [
    { maxConnections: 20_000, maxConnectionsPerClient: 200 },
    { maxConnections: 0, maxConnectionsPerClient: 10 },
    { maxConnections: 0, maxConnectionsPerClient: 0 },
  ]);
});

test("golden tls.json: cert and certs both served, protocols [http1, h2] with tls, SNI names lower-cased, TLS to servers", () => {
  const g = golden("tls");
  const [web, onlyCerts, mesh, passthrough, plainTcp] = g.listeners;
  assert.equal(web.tls.certs.length, 2, "cert/key first, then certs");
  assert.deepEqual(web.tls.certs[0].names, ["example.com", "*.example.com"], "names read from the certificate");
  assert.deepEqual([web.tls.minVersion, web.protocols, web.proxyProtocol, web.maxConcurrentStreams], ["TLSv1.3", ["http1", "h2"], "accept", 250]);
  assert.deepEqual([onlyCerts.tls.certs.length, onlyCerts.tls.minVersion, onlyCerts.protocols], [1, "TLSv1.2", ["http1"]]);
  assert.deepEqual([mesh.tls, mesh.protocols], [null, ["http1", "h2c"]]);
  assert.deepEqual(passthrough.routes, [{ match: { sni: "db.example.com" }, backend: "api" }, { match: { sni: "*.example.com" }, backend: "plain" }]);
  assert.equal(passthrough.proxyProtocol, "accept");
  assert.deepEqual(plainTcp.routes, [{ match: null, backend: "plain" }]);
  const { api, plain } = g.backends;
  assert.deepEqual([api.tls.verify, api.tls.ca, api.tls.servername, api.proxyProtocol], [true, null, null, "v1"]);
  assert.deepEqual([plain.tls.verify, plain.tls.ca, plain.tls.servername, plain.proxyProtocol], [false, "<testdata>/tls/cert.pem", "api.internal", null]);
  assert.match(plain.tls.caPem, /^-----BEGIN CERTIFICATE-----\n/, "the CA file is read at load");
});

test("golden design-example.json: DESIGN §3's example means what its comments say", () => {
  const g = golden("design-example");
  assert.deepEqual([g.admin.listen, g.workers, g.shutdown, g.cluster], [addr("127.0.0.1", 9900), "auto", { delay: 2_000, timeout: 60_000 }, { redis: "redis://127.0.0.1:6379" }]);
  const [web, pg, passthrough] = g.listeners;
  assert.deepEqual([web.protocols, web.proxyProtocol], [["http1", "h2"], "accept"], "tls: ALPN h2 + http/1.1");
  assert.deepEqual(web.routes.map((r: Json) => [r.match, r.allow, r.backend, r.split]), [
    [{ pathPrefix: "/api/", host: null, header: null }, null, "api", null],
    [{ pathPrefix: null, host: "admin.example.com", header: null }, ["192.168.1.0/24", "10.0.0.0/8"], "admin", null],
    [{ pathPrefix: null, host: null, header: { "x-canary": "true" } }, null, "api-canary", null],
    [null, null, "web", [{ backend: "web", weight: 90 }, { backend: "web-canary", weight: 10 }]],
  ]);
  assert.deepEqual(pg.routes, [{ match: null, backend: "postgres" }]);
  assert.deepEqual(passthrough.routes, [{ match: { sni: "db.example.com" }, backend: "postgres" }, { match: null, backend: "web" }]);
  const { api, postgres } = g.backends;
  assert.deepEqual(api.sticky, { kind: "cookie", cookie: "HF_SRV", ttl: 3_600_000, secret: null });
  assert.deepEqual(api.health.expect, { status: [200], maxLatency: 1_000, json: { status: "healthy" } });
  assert.deepEqual([api.health.type, api.health.path, api.health.interval, api.health.timeout], ["http", "/health", 5_000, 2_000]);
  assert.deepEqual(api.passive, { consecutiveFailures: 3, ejectTime: 30_000, maxEjectTime: 300_000, maxEjectedPercent: 50, on5xx: false, recovery: "timeout" });
  assert.deepEqual([api.slowStart, api.maxConn, api.queueTimeout, api.maxLifetime], [30_000, 500, 5_000, 21_600_000]);
  assert.deepEqual([api.admission, api.rebalance, api.websocket], [{ rate: 200, burst: 400 }, { maxSkew: 1.25, rate: 20 }, { pingInterval: 25_000, pongTimeout: 10_000 }]);
  assert.deepEqual(api.servers.map((s: Json) => [s.name, s.weight, s.backup]), [["api1", 10, false], ["api3", 5, false], ["spare", 1, true]]);
  assert.deepEqual([api.tls.verify, api.tls.servername, api.proxyProtocol], [true, "api.internal", "v2"]);
  assert.deepEqual([postgres.health.type, postgres.health.interval, postgres.health.timeout], ["tcp", 10_000, 3_000], "health without type: a tcp check");
  assert.deepEqual(postgres.servers.map((s: Json) => [s.address, s.backup]), [[addr("db.internal", 5432), false], [addr("db-replica.internal", 5432), true]]);
});
