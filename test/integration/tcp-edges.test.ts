// mode: tcp edges over real sockets (issue 15, mutation testing of the L4 data plane):
// what the server sees and counts, admission, the ClientHello peek cut short, PROXY
// headers in odd shapes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { encodeProxyV1, encodeProxyV2 } from "../../src/codec/proxy/encode.ts";
import { PROXY_NEED_MORE, ProxyHeader, parseProxyHeader, proxyErrorText } from "../../src/codec/proxy/header.ts";
import { captureClientHello } from "../../src/codec/tls/testing.kit.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { events, type AdmissionRefused, type TunnelEvent } from "../../src/gateway/diagnostics.ts";
import { deadPort, tcpBackend, unacceptingPort } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { until, within } from "../support/wait.ts";
import { concurrentTests } from "../support/concurrent.ts";

// Three tests at a time: each owns its gateway, servers and clients, and most of each
// is waiting on a timeout or a drain (test/support/concurrent.ts).
const tests = concurrentTests(3);

/** A client that collects what it receives; `done` resolves on close. */
function client(port: number, ...parts: (string | Buffer)[]) {
  return halfOpenClient(false, port, ...parts);
}

/**
 * The same; with `allowHalfOpen` the client's side stays open after the gateway's end
 * (`ended` resolves then), so it can still send.
 */
function halfOpenClient(allowHalfOpen: boolean, port: number, ...parts: (string | Buffer)[]) {
  const s: Socket = connect({ port, host: "127.0.0.1", allowHalfOpen });
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  s.on("error", () => {});
  const done = once(s, "close");
  const end = once(s, "end");
  for (const p of parts) s.write(p);
  return {
    socket: s,
    text: () => Buffer.concat(chunks).toString("latin1"),
    closed: (what: string) => within(done, 10_000, what),
    ended: (what: string) => within(end, 10_000, what),
  };
}

/** True when some local socket is in SYN-SENT towards 127.0.0.1:`port` (iproute2's ss). */
function synSentTo(port: number): boolean {
  return execFileSync("ss", ["-Htn", "state", "syn-sent", `( dport = :${port} )`], { encoding: "utf8" }).trim() !== "";
}

/** A server that reads until the client's EOF, then answers `got <n> bytes` and closes. */
const counting = () =>
  tcpBackend((s) => {
    let n = 0;
    s.on("data", (c: Buffer) => (n += c.length));
    s.on("end", () => s.end(`got ${n} bytes`));
  });

tests.test("mode: tcp: a tunnel is published opened and closed under its listener, and its bytes are counted on the server both ways", async () => {
  const be = await counting();
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t: { servers: [{ name: s, address: 127.0.0.1:${be.port} }] }
`);
  const opened: TunnelEvent[] = [];
  const closed: TunnelEvent[] = [];
  const offs = [gw.on(events.tunnelOpened, (m) => opened.push(m)), gw.on(events.tunnelClosed, (m) => closed.push(m))];
  try {
    const c = client(gw.port("l4"), Buffer.alloc(1000, 1));
    c.socket.end();
    await c.closed("the answer and the close");
    assert.equal(c.text(), "got 1000 bytes");
    await until(() => closed.length === 1, 3000, "the tunnel's close to be published");
    assert.equal(opened.length, 1);
    assert.equal(opened[0]!.tunnel, closed[0]!.tunnel);
    assert.deepEqual([opened[0]!.tunnel.listener, opened[0]!.record, closed[0]!.record], ["l4", null, null]);
    const server = gw.gw.backends.get("t")!.servers[0]!;
    assert.deepEqual([server.stats.tunnelsOpened, server.stats.bytesIn, server.stats.bytesOut, server.active], [1, 1000, "got 1000 bytes".length, 0]);
  } finally {
    for (const off of offs) off();
    await gw.close();
    await be.close();
  }
});

tests.test("mode: tcp with admission: a connection over the server's rate is closed at once, counted and published, and never reaches it", async () => {
  let accepted = 0;
  const be = await tcpBackend((s) => {
    accepted++;
    s.end("hello");
  });
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t:
    admission: { rate: 0.001, burst: 1 }
    servers: [{ name: s, address: 127.0.0.1:${be.port} }]
`);
  const refused: AdmissionRefused[] = [];
  const off = gw.on(events.admissionRefused, (m) => refused.push(m));
  try {
    const first = client(gw.port("l4"));
    await first.closed("the first connection to be answered");
    assert.equal(first.text(), "hello");
    const second = client(gw.port("l4"), "anyone?");
    await second.closed("the second connection to be closed");
    assert.equal(second.text(), "");
    assert.equal(accepted, 1, "the server saw only the admitted connection");
    const server = gw.gw.backends.get("t")!.servers[0]!;
    assert.deepEqual([server.stats.admissionRejected, gw.gw.data.counters.admissionRejected], [1, 1]);
    assert.equal(refused.length, 1);
    const m = refused[0]!;
    assert.deepEqual([m.listener, m.backend.name, m.server.name, m.websocket], ["l4", "t", "s", false]);
  } finally {
    off();
    await gw.close();
    await be.close();
  }
});

/**
 * A ClientHello (TLS 1.3 suite, no session id) whose server_name extension naming `name`
 * comes twice: malformed (RFC 8446 §4.2) once the name was read.
 */
function malformedHello(name: string): Buffer {
  const host = Buffer.from(name, "latin1");
  const list = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
  const sni = Buffer.concat([u16(0), u16(list.length + 2), u16(list.length), list]);
  const exts = Buffer.concat([sni, sni]);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0, 0, 2, 0x13, 1, 1, 0]), u16(exts.length), exts]);
  const hs = Buffer.concat([Buffer.from([1, 0]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

tests.test("mode: tcp by SNI: a client that half-closes inside its ClientHello, names no route's name, or sends a ClientHello malformed after naming a route's name takes the default route, once", async () => {
  let accepted = 0;
  const be = await tcpBackend((s) => {
    accepted++;
    let n = 0;
    s.on("data", (c: Buffer) => (n += c.length));
    s.on("end", () => s.end(`got ${n} bytes`));
  });
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, timeouts: { requestHeaders: 300ms }, routes: [{ match: { sni: db.example.com }, backend: db }, { backend: plain }] }
backends:
  db: { servers: [{ name: db1, address: 127.0.0.1:1 }] }
  plain: { servers: [{ name: p1, address: 127.0.0.1:${be.port} }] }
`);
  try {
    const hello = await captureClientHello({ servername: "db.example.com" });
    const c = client(gw.port("l4"), hello.subarray(0, 20));
    c.socket.end();
    await c.closed("the server's answer after the client's EOF");
    assert.equal(c.text(), "got 20 bytes");
    const other = await captureClientHello({ servername: "other.example.com" });
    const o = client(gw.port("l4"), other);
    o.socket.end();
    await o.closed("the default server's answer to a name no route takes");
    assert.equal(o.text(), `got ${other.length} bytes`);
    // Malformed after its name: the server_name extension (db.example.com) twice.
    const bad = malformedHello("db.example.com");
    const m = client(gw.port("l4"), bad);
    m.socket.end();
    await m.closed("the default server's answer to a malformed ClientHello");
    assert.equal(m.text(), `got ${bad.length} bytes`);
    // Past timeouts.requestHeaders (and two ticks of the wheel): the ended client's timer
    // did not route it a second time.
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual([accepted, gw.gw.counters.sniRefused], [3, 0]);
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("mode: tcp by SNI without a default route: bytes that are not TLS are refused with a close and not a byte (no TLS alert); a TLS client gets exactly one unrecognized_name alert and is refused once, whatever it sends after it", async () => {
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, routes: [{ match: { sni: db.example.com }, backend: db }] }
backends:
  db: { servers: [{ name: db1, address: 127.0.0.1:1 }] }
`);
  try {
    const c = client(gw.port("l4"), "GET / HTTP/1.1\r\n\r\n");
    await c.closed("the refusal");
    assert.equal(c.text(), "");
    assert.equal(gw.gw.counters.sniRefused, 1);
    // Half-open: the client still sends after the gateway's alert and end.
    const tls = halfOpenClient(true, gw.port("l4"), await captureClientHello({ servername: "other.example.com" }));
    await tls.ended("the alert and the gateway's end");
    // The alert: a TLS record of type 21 (alert), fatal (2), unrecognized_name (112).
    assert.deepEqual([...Buffer.from(tls.text(), "latin1")], [21, 3, 3, 0, 2, 2, 112]);
    // These bytes reach the gateway (it reads until the client's end): they are dropped,
    // not read as more of the refused ClientHello.
    tls.socket.end("more bytes after the alert");
    await tls.closed("the refused TLS client to be closed");
    // The client's close does not wait for the gateway to read: its socket's does.
    const limits = gw.gw.data.listenerLimits("l4")!;
    await until(() => limits.open === 0, 3000, "the gateway to close its side");
    assert.equal(gw.gw.counters.sniRefused, 2);
  } finally {
    await gw.close();
  }
});

/** A server that reads the PROXY header the gateway sends, records it and what followed up to `END`, then closes. */
async function headerReading(seen: { header: ProxyHeader; rest: string }[]) {
  return tcpBackend((s) => {
    let buf = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const header = new ProxyHeader();
      const n = parseProxyHeader(buf, buf.length, header);
      if (n === PROXY_NEED_MORE || !buf.subarray(n).includes("END")) return;
      seen.push({ header, rest: buf.subarray(Math.max(n, 0)).toString() });
      s.end("done");
    });
  });
}

tests.test("proxyProtocol on tcp: a header sent a byte at a time, a LOCAL one, none on a direct listener: the server's header names the client, else the connection's own addresses and ports", async () => {
  const seen: { header: ProxyHeader; rest: string }[] = [];
  const be = await headerReading(seen);
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, proxyProtocol: accept, backend: t }
  - { name: direct, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t: { proxyProtocol: v2, servers: [{ name: s, address: 127.0.0.1:${be.port} }] }
`);
  try {
    const header = encodeProxyV1("198.51.100.4", 40004, "203.0.113.1", 5432);
    const bytewise = client(gw.port("l4"));
    bytewise.socket.setNoDelay(true);
    await once(bytewise.socket, "connect");
    for (let i = 0; i < header.length; i++) {
      bytewise.socket.write(header.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
    bytewise.socket.write("PING END");
    await bytewise.closed("the first answer");
    assert.equal(bytewise.text(), "done");

    const local = client(gw.port("l4"), Buffer.concat([encodeProxyV2("", 0, "", 0), Buffer.from("LOCAL END")]));
    await once(local.socket, "connect");
    const own = local.socket.localPort;
    await local.closed("the second answer");
    assert.equal(local.text(), "done");

    const direct = client(gw.port("direct"), "DIRECT END");
    await once(direct.socket, "connect");
    const directPort = direct.socket.localPort;
    await direct.closed("the third answer");
    assert.deepEqual(seen.map(({ header: h, rest }) => [h.version, h.source, h.sourcePort, h.destination, h.destinationPort, rest]), [
      [2, "198.51.100.4", 40004, "203.0.113.1", 5432, "PING END"],
      [2, "127.0.0.1", own, "127.0.0.1", gw.port("l4"), "LOCAL END"],
      [2, "127.0.0.1", directPort, "127.0.0.1", gw.port("direct"), "DIRECT END"],
    ]);
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("proxyProtocol: accept: a client that ends or resets inside its header is closed without a refusal, and its timer does not fire later; a bad header and a silent client are refused, logged with why", async () => {
  const be = await tcpBackend((s) => s.end("never"));
  const file = join(mkdtempSync(join(tmpdir(), "hf-tcp-pp-")), "log");
  const log = pino({ level: "debug", base: undefined }, pino.destination({ dest: file, sync: true }));
  const loaded = loadConfig(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, proxyProtocol: accept, backend: t }
backends:
  t: { servers: [{ name: s, address: 127.0.0.1:${be.port} }] }
`, { env: {}, baseDir: "." });
  assert.ok(loaded.ok);
  const g = new Gateway(loaded.config, log);
  await g.start();
  const gw = { gw: g, port: (name: string) => g.address(name).port, close: () => g.stop() };
  try {
    const partial = encodeProxyV1("198.51.100.4", 40004, "203.0.113.1", 5432).subarray(0, 12);
    // A half-close: the gateway closes its side at once (the listener allows half-open sockets).
    const ended = client(gw.port("l4"), partial);
    ended.socket.end();
    await ended.closed("the gateway to close a connection that ended inside its header");
    assert.equal(ended.text(), "");
    // A reset: no end, only the close.
    const reset = client(gw.port("l4"), partial);
    await once(reset.socket, "connect");
    const limits = gw.gw.data.listenerLimits("l4")!;
    await until(() => limits.open === 1, 3000, "the gateway to accept the connection");
    reset.socket.resetAndDestroy();
    await until(() => limits.open === 0, 3000, "the gateway to close the reset connection");
    // Past the header's deadline (3 s): neither connection was refused by its timer.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(gw.gw.data.counters.proxyRefused, 0);
    // Refusals: a bad header at once, a silent client at its deadline.
    const bad = Buffer.from("PROXY TCP9 nonsense\r\n");
    const badCode = parseProxyHeader(bad, bad.length, new ProxyHeader());
    const refusedBad = client(gw.port("l4"), bad);
    await refusedBad.closed("the bad header to be refused");
    const silent = client(gw.port("l4"));
    await silent.closed("the silent client to be refused at its deadline");
    assert.equal(gw.gw.data.counters.proxyRefused, 2);
    const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.includes("PROXY protocol expected")).map((l) => JSON.parse(l) as { why: string; client: string; msg: string });
    assert.deepEqual(lines.map((l) => [l.msg, l.client, l.why]), [
      ["connection refused: PROXY protocol expected", "127.0.0.1", proxyErrorText[badCode]],
      ["connection refused: PROXY protocol expected", "127.0.0.1", "no PROXY header within 3s"],
    ]);
  } finally {
    await gw.close();
    await be.close();
  }
});

tests.test("mode: tcp with source-hash behind PROXY headers: a client named by its IPv4-mapped IPv6 address hashes as its IPv4 address", async () => {
  const servers = await Promise.all(["h1", "h2"].map((name) => tcpBackend((s) => s.end(name))));
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, proxyProtocol: accept, backend: h }
backends:
  h:
    balance: source-hash
    servers: [{ name: h1, address: 127.0.0.1:${servers[0]!.port} }, { name: h2, address: 127.0.0.1:${servers[1]!.port} }]
`);
  const servedBy = async (header: Buffer) => {
    const c = client(gw.port("l4"), header);
    await c.closed("an answer");
    return c.text();
  };
  try {
    const ips = Array.from({ length: 8 }, (_, i) => `198.51.100.${10 + i}`);
    // One address after the other, as IPv4 then at once as IPv4-mapped IPv6 (an IPv6
    // destination keeps the header IPv6: the source arrives as ::ffff:a.b.c.d). A key
    // lost on the way would fall back to round-robin, which alternates within each pair.
    const v4: string[] = [];
    const mapped: string[] = [];
    for (const ip of ips) {
      v4.push(await servedBy(encodeProxyV1(ip, 1, "203.0.113.1", 2)));
      mapped.push(await servedBy(encodeProxyV2(`::ffff:${ip}`, 1, "2001:db8::1", 2)));
    }
    assert.deepEqual(new Set(v4), new Set(["h1", "h2"]), `the clients spread over both servers: ${v4.join(" ")}`);
    assert.deepEqual(mapped, v4);
  } finally {
    await gw.close();
    for (const s of servers) await s.close();
  }
});

tests.test("limits on a tcp listener behind PROXY headers: a client named by its IPv4-mapped IPv6 address counts as its IPv4 address", async () => {
  const echo = await tcpBackend((s) => s.pipe(s));
  const gw = await startGateway(`
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, proxyProtocol: accept, backend: e, limits: { maxConnectionsPerClient: 1 } }
backends:
  e: { servers: [{ name: e1, address: 127.0.0.1:${echo.port} }] }
`);
  const limits = gw.gw.data.listenerLimits("l4")!;
  try {
    // An IPv6 destination keeps the header IPv6: the source arrives as ::ffff:198.51.100.7.
    const mapped = client(gw.port("l4"), encodeProxyV2("::ffff:198.51.100.7", 1, "2001:db8::1", 2), "ping");
    await until(() => mapped.text() === "ping", 3000, "the echo through the first connection");
    assert.equal(limits.openFrom("198.51.100.7"), 1);
    const again = client(gw.port("l4"), encodeProxyV1("198.51.100.7", 2, "203.0.113.1", 2), "ping");
    await again.closed("the second connection of 198.51.100.7 to be refused");
    assert.equal(again.text(), "");
    assert.deepEqual([limits.refusedClient, limits.openFrom("198.51.100.7")], [1, 1]);
    mapped.socket.destroy();
  } finally {
    await gw.close();
    await echo.close();
  }
});

tests.test("mode: tcp: with every server refusing, or none available, the client is closed without a byte; a client that resets while its server connect is pending frees the server and drops the connect", async () => {
  const [dead1, dead2] = [await deadPort(), await deadPort()];
  const pending = await unacceptingPort();
  const gw = await startGateway(`
listeners:
  - { name: dead, mode: tcp, listen: 127.0.0.1:0, backend: dead }
  - { name: slow, mode: tcp, listen: 127.0.0.1:0, backend: slow }
backends:
  dead: { servers: [{ name: d1, address: 127.0.0.1:${dead1} }, { name: d2, address: 127.0.0.1:${dead2} }] }
  slow: { timeouts: { connect: 30s }, servers: [{ name: p, address: 127.0.0.1:${pending.port} }] }
`);
  try {
    const refused = client(gw.port("dead"), "hello?");
    await refused.closed("the client to be closed once both servers refused");
    assert.equal(refused.text(), "");
    assert.deepEqual(gw.gw.backends.get("dead")!.servers.map((s) => [s.stats.connectFailures, s.active]), [[1, 0], [1, 0]]);

    for (const s of ["d1", "d2"]) assert.ok(gw.gw.serverAction("dead", s, "maintenance"));
    const none = client(gw.port("dead"), "hello?");
    await none.closed("the client to be closed with no server to take it");
    assert.equal(none.text(), "");
    assert.deepEqual(gw.gw.backends.get("dead")!.servers.map((s) => s.stats.connectFailures), [1, 1], "no server was tried");

    const server = gw.gw.backends.get("slow")!.servers[0]!;
    const gone = client(gw.port("slow"));
    await until(() => server.active === 1 && synSentTo(pending.port), 3000, "the connect to the server to start (SYN-SENT: it does not accept)");
    // A reset: the client socket is paused until its server connects, so a FIN would wait.
    gone.socket.resetAndDestroy();
    await until(() => server.active === 0, 3000, "the server to be freed when the client goes");
    // The pending connect is dropped too, not left to timeouts.connect (30 s).
    await until(() => !synSentTo(pending.port), 3000, "the gateway's pending connect to be dropped");
  } finally {
    await gw.close();
    await pending.close();
  }
});

tests.run("TCP mode: edges");
