// listeners[].limits over real sockets, in process: maxConnections and
// maxConnectionsPerClient on http (clear text: 503; TLS: closed), with a PROXY header's
// address, on tcp listeners, and across a reload (with two worker processes:
// limits-workers.test.ts). Clients come from different loopback addresses (127.0.0.2,
// 127.0.0.3, ...: all of 127/8 is local).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { pino } from "pino";
import { createMetrics } from "../../src/admin/metrics.ts";
import { startAdmin } from "../../src/admin/server.ts";
import { encodeProxyV1 } from "../../src/codec/proxy/encode.ts";
import { captureClientHello } from "../../src/codec/tls/testing.kit.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { parseExposition, sumSamples } from "../support/admin.ts";
import { httpBackend, tcpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { loopbackClient as client, rawExchange } from "../support/raw.ts";
import { testPki } from "../support/tls.ts";
import { until } from "../support/wait.ts";
import { concurrentTests } from "../support/concurrent.ts";

// Three tests at a time: each owns its gateway, servers and clients, and most of each
// is waiting on a timeout or a drain (test/support/concurrent.ts).
const tests = concurrentTests(3);

const REQ = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

/** An http listener `web` on port 0 with `keys` (YAML lines), in front of the server on `backendPort`. */
function web(backendPort: number, ...keys: string[]): string {
  return `
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
${keys.map((k) => `    ${k}\n`).join("")}    routes: [ { backend: b } ]
backends:
  b: { servers: [ { name: a, address: 127.0.0.1:${backendPort} } ] }
`;
}

async function served(port: number, from: string, first: string | Buffer = REQ) {
  const c = client(port, from, first);
  assert.match(await c.answer(), /^HTTP\/1\.1 200 /, `a connection from ${from} is served`);
  return c;
}

tests.test("limits on a clear-text http listener: 503 with Retry-After over maxConnectionsPerClient and maxConnections, logged, counted, released on close", async () => {
  const a = await httpBackend("a");
  const file = join(mkdtempSync(join(tmpdir(), "hf-limits-")), "access.log");
  const accessLog = pino({ base: undefined }, pino.destination({ dest: file, sync: true }));
  const loaded = loadConfig(web(a.port, "accessLog: true", "limits: { maxConnections: 4, maxConnectionsPerClient: 2 }"), { env: {}, baseDir: "." });
  assert.ok(loaded.ok);
  const gw = new Gateway(loaded.config, undefined, { accessLog });
  await gw.start();
  const admin = await startAdmin(gw, { listen: { host: "127.0.0.1", port: 0 }, token: undefined });
  const port = gw.address("web").port;
  const open: ReturnType<typeof client>[] = [];
  try {
    open.push(await served(port, "127.0.0.2"), await served(port, "127.0.0.2"));
    const requests = a.requests.length;

    // A third from the same address: refused before its request is read.
    const third = client(port, "127.0.0.2", REQ);
    await until(() => third.closed, 3000, "the refused connection to close");
    assert.match(third.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(third.text, /\r\nRetry-After: 1\r\n/);
    assert.match(third.text, /\r\nConnection: close\r\n/);
    assert.match(third.text, /\r\n\r\n503 Service Unavailable: too many connections from 127\.0\.0\.2\n$/);

    // Another address is served until the listener holds 4; then anyone is refused.
    open.push(await served(port, "127.0.0.3"), await served(port, "127.0.0.3"));
    const fifth = client(port, "127.0.0.4", REQ);
    await until(() => fifth.closed, 3000, "the connection over maxConnections to close");
    assert.match(fifth.text, /^HTTP\/1\.1 503 [^]*the listener has too many connections\n$/);
    assert.equal(a.requests.length, requests + 2, "nothing of the refused connections was forwarded");

    // Closing one frees a place for its address (and for the listener).
    const limits = gw.data.listenerLimits("web")!;
    assert.equal(limits.open, 4);
    open.shift()!.socket.destroy();
    await until(() => limits.open === 3, 3000, "the closed connection to be uncounted");
    open.push(await served(port, "127.0.0.2"));
    assert.equal(limits.openFrom("127.0.0.2"), 2);

    // Counted in /metrics, and one access-log line each, with the reason.
    assert.deepEqual([limits.refusedClient, limits.refusedListener], [1, 1]);
    const m = parseExposition(await (await fetch(`${admin.url}/metrics`)).text()).samples;
    assert.equal(sumSamples(m, "holdfast_connections_refused_total", { listener: "web", limit: "maxConnectionsPerClient" }), 1);
    assert.equal(sumSamples(m, "holdfast_connections_refused_total", { listener: "web", limit: "maxConnections" }), 1);
    assert.equal(sumSamples(m, "holdfast_errors_total", { code: "HF_ERR_CONNECTION_LIMIT" }), 2);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.filter((l) => l.error === "HF_ERR_CONNECTION_LIMIT");
    assert.deepEqual(refused.map((l) => [l.client, l.status, l.reason, l.method, l.backend]), [
      ["127.0.0.2", 503, "too many connections from 127.0.0.2", "", ""],
      ["127.0.0.4", 503, "the listener has too many connections", "", ""],
    ]);
  } finally {
    for (const c of open) c.socket.destroy();
    await admin.close();
    await gw.stop();
    await a.close();
  }
});

tests.test("limits with proxyProtocol: accept count the PROXY header's client, not the balancer's socket", async () => {
  const a = await httpBackend("a");
  const gw = await startGateway(web(a.port, "proxyProtocol: accept", "limits: { maxConnectionsPerClient: 2 }"));
  const open: ReturnType<typeof client>[] = [];
  try {
    const from = (ip: string) => Buffer.concat([encodeProxyV1(ip, 40000, "10.0.0.1", 80), Buffer.from(REQ)]);
    // Every connection comes from the balancer's 127.0.0.1; the header names the client.
    open.push(await served(gw.port(), "127.0.0.1", from("203.0.113.7")), await served(gw.port(), "127.0.0.1", from("203.0.113.7")));
    const third = client(gw.port(), "127.0.0.1", from("203.0.113.7"));
    await until(() => third.closed, 3000, "the third connection of 203.0.113.7 to close");
    assert.match(third.text, /^HTTP\/1\.1 503 [^]*too many connections from 203\.0\.113\.7\n$/);
    open.push(await served(gw.port(), "127.0.0.1", from("203.0.113.8")));
    assert.equal(gw.gw.data.listenerLimits("web")!.openFrom("127.0.0.1"), 0, "the balancer's address is not counted");
  } finally {
    for (const c of open) c.socket.destroy();
    await gw.close();
    await a.close();
  }
});

tests.test("limits on a TLS listener: a connection over the limit is closed before any handshake", async () => {
  const pki = testPki();
  const dir = mkdtempSync(join(tmpdir(), "hf-limits-tls-"));
  writeFileSync(join(dir, "cert.pem"), pki.cert);
  writeFileSync(join(dir, "key.pem"), pki.key);
  const a = await httpBackend("a");
  const gw = await startGateway(web(a.port, `tls: { cert: ${join(dir, "cert.pem")}, key: ${join(dir, "key.pem")} }`, "limits: { maxConnections: 1 }"));
  const tlsClient = (): Promise<{ ok: boolean; socket: Socket }> => {
    const s = tlsConnect({ port: gw.port(), host: "127.0.0.1", ca: pki.ca, servername: "localhost" });
    return new Promise((resolve) => {
      s.once("secureConnect", () => resolve({ ok: true, socket: s }));
      s.once("error", () => resolve({ ok: false, socket: s }));
      s.once("close", () => resolve({ ok: false, socket: s }));
    });
  };
  try {
    const first = await tlsClient();
    assert.ok(first.ok, "the first connection completes its handshake");
    // The second gets its ClientHello answered by nothing at all: no ServerHello, no alert.
    const second = await rawExchange(gw.port(), await captureClientHello({ servername: "localhost" }), 3000);
    assert.deepEqual(second, { text: "", closed: true }, "the second is closed without a byte of handshake");
    assert.equal(gw.gw.data.listenerLimits("web")!.refusedListener, 1);
    first.socket.destroy();
    await until(() => gw.gw.data.listenerLimits("web")!.open === 0, 3000, "the first connection to be uncounted");
    const third = await tlsClient();
    assert.ok(third.ok, "a place is free again");
    third.socket.destroy();
  } finally {
    await gw.close();
    await a.close();
  }
});

tests.test("limits on a tcp listener: a connection over a limit is closed at once and never reaches a server", async () => {
  let accepted = 0;
  const echo = await tcpBackend((s) => {
    accepted++;
    s.pipe(s);
  });
  const gw = await startGateway(`
listeners:
  - name: pg
    mode: tcp
    listen: 127.0.0.1:0
    backend: b
    limits: { maxConnections: 3, maxConnectionsPerClient: 2 }
backends:
  b: { servers: [ { name: e, address: 127.0.0.1:${echo.port} } ] }
`);
  const port = gw.port("pg");
  const echoed = async (from: string) => {
    const c = client(port, from, "ping\n");
    await until(() => c.text === "ping\n" || c.closed, 3000, `an echo for ${from}`);
    return c;
  };
  const open: ReturnType<typeof client>[] = [];
  try {
    for (const from of ["127.0.0.2", "127.0.0.2"]) {
      const c = await echoed(from);
      assert.equal(c.text, "ping\n");
      open.push(c);
    }
    const overClient = await echoed("127.0.0.2");
    assert.equal(overClient.text, "");
    assert.ok(overClient.closed);
    const third = await echoed("127.0.0.3");
    assert.equal(third.text, "ping\n");
    open.push(third);
    const overListener = await echoed("127.0.0.4");
    assert.equal(overListener.text, "");
    assert.ok(overListener.closed);
    assert.equal(accepted, 3, "the server saw only the connections admitted");
    const limits = gw.gw.data.listenerLimits("pg")!;
    assert.deepEqual([limits.refusedClient, limits.refusedListener, limits.open], [1, 1, 3]);
    const m = parseExposition(await createMetrics(gw.gw.control, { processMetrics: false }).text()).samples;
    assert.equal(sumSamples(m, "holdfast_errors_total", { code: "HF_ERR_CONNECTION_LIMIT" }), 2, "the table's code for a tcp listener's refusals");
  } finally {
    for (const c of open) c.socket.destroy();
    await gw.close();
    await echo.close();
  }
});

tests.test("a reload changes the limits for new connections and keeps the counts: none is cut", async () => {
  const a = await httpBackend("a");
  const yaml = (limit: number) => web(a.port, `limits: { maxConnectionsPerClient: ${limit} }`);
  const gw = await startGateway(yaml(3));
  const open: ReturnType<typeof client>[] = [];
  try {
    const port = gw.port();
    for (let i = 0; i < 3; i++) open.push(await served(port, "127.0.0.2"));
    const next = loadConfig(yaml(1), { env: {}, baseDir: "." });
    assert.ok(next.ok);
    const r = await gw.gw.reload(next.config);
    assert.deepEqual(r.diff.listeners.changed.map((c) => c.after.name), ["web"]);
    assert.equal(gw.port(), port, "the listener is changed in place, not bound again");
    const over = client(port, "127.0.0.2", REQ);
    assert.match(await over.answer(), /^HTTP\/1\.1 503 /);
    // The three open before the reload still work.
    for (const c of open) {
      const before = c.text.length;
      c.socket.write(REQ);
      await until(() => c.text.length > before && /HTTP\/1\.1 200 [^]*\r\n\r\n/.test(c.text.slice(before)), 3000, "an answer on an old connection");
    }
    await until(() => over.closed, 3000, "the refused connection to close");
  } finally {
    for (const c of open) c.socket.destroy();
    await gw.close();
    await a.close();
  }
});

tests.run("connection limits");
