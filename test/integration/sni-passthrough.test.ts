import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect, type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { captureClientHello } from "../../src/codec/tls/testing.kit.ts";
import { closeServer, tcpBackend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { makeCa, type TestCa } from "../support/tls.ts";

// mode: tcp routing by the TLS server name, without terminating: the handshake is the
// backend's own, end to end.

async function tlsBackend(name: string, pem: { cert: string; key: string }): Promise<{ port: number; server: TlsServer }> {
  const server = createTlsServer({ cert: pem.cert, key: pem.key }, (s) => {
    s.on("error", () => {});
    s.end(`${name} (sni ${s.servername})\n`);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, server };
}

function ask(port: number, ca: string, servername?: string): Promise<{ text: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: "127.0.0.1", ca, servername });
    let text = "";
    s.on("data", (d: Buffer) => (text += d));
    s.on("end", () => resolve({ text, cn: String(s.getPeerCertificate().subject?.CN) }));
    s.on("error", reject);
    setTimeout(() => reject(new Error("timed out")), 5000).unref();
  });
}

describe("mode: tcp routing by SNI", () => {
  let ca: TestCa;
  let db: { port: number; server: TlsServer };
  let web: { port: number; server: TlsServer };
  let gw: TestGateway;
  before(async () => {
    ca = makeCa();
    db = await tlsBackend("db", ca.issue(["db.example.com"]));
    web = await tlsBackend("web", ca.issue(["*.example.com"]));
    gw = await startGateway(`
listeners:
  - name: l4
    mode: tcp
    listen: 127.0.0.1:0
    timeouts: { requestHeaders: 500ms }
    routes:
      - { match: { sni: "*.example.com" }, backend: web }
      - { match: { sni: DB.example.com }, backend: db }
backends:
  db: { servers: [{ name: db1, address: 127.0.0.1:${db.port} }] }
  web: { servers: [{ name: web1, address: 127.0.0.1:${web.port} }] }
`);
  });
  after(async () => {
    await gw.close();
    await closeServer(db.server);
    await closeServer(web.server);
  });

  test("the exact name beats the wildcard; the backend's own certificate is what the client sees", async () => {
    const a = await ask(gw.port("l4"), ca.cert, "db.example.com");
    assert.equal(a.text, "db (sni db.example.com)\n");
    assert.equal(a.cn, "db.example.com");
    const b = await ask(gw.port("l4"), ca.cert, "www.example.com");
    assert.equal(b.text, "web (sni www.example.com)\n");
    assert.equal(b.cn, "*.example.com");
  });

  test("a name no route takes gets a TLS unrecognized_name alert; no SNI and no default route too", async () => {
    const before = gw.gw.counters.sniRefused;
    await assert.rejects(ask(gw.port("l4"), ca.cert, "other.test"), (e: NodeJS.ErrnoException) => {
      assert.match(`${e.code} ${e.message}`, /UNRECOGNIZED_NAME|unrecognized name/i);
      return true;
    });
    await assert.rejects(ask(gw.port("l4"), ca.cert, undefined), /UNRECOGNIZED_NAME|unrecognized name/i);
    assert.equal(gw.gw.counters.sniRefused - before, 2);
  });

  test("a client that sends nothing is closed after timeouts.requestHeaders", async () => {
    const s = netConnect(gw.port("l4"), "127.0.0.1");
    const t0 = performance.now();
    s.on("error", () => {});
    await once(s, "close");
    const ms = performance.now() - t0;
    // The wheel ticks every 100 ms and reads a coarse clock: up to two ticks early or late.
    assert.ok(ms >= 300 && ms < 3000, `closed after ${ms} ms`);
  });
});

test("mode: tcp by SNI: the bytes reach the server untouched, even a ClientHello sent one byte at a time; other bytes take the default route", async () => {
  const received: Buffer[][] = [];
  const be = await tcpBackend((s) => {
    const mine: Buffer[] = [];
    received.push(mine);
    s.on("data", (c: Buffer) => {
      mine.push(c);
      if (Buffer.concat(mine).includes("END")) s.end("ok\n");
    });
  });
  const plain = await tcpBackend((s) => s.end("plain\n"));
  const gw = await startGateway(`
listeners:
  - name: l4
    mode: tcp
    listen: 127.0.0.1:0
    routes:
      - { match: { sni: raw.example.com }, backend: raw }
      - { backend: plain }
backends:
  raw: { servers: [{ name: r1, address: 127.0.0.1:${be.port} }] }
  plain: { servers: [{ name: p1, address: 127.0.0.1:${plain.port} }] }
`);
  try {
    const hello = await captureClientHello({ servername: "raw.example.com", ALPNProtocols: ["h2", "http/1.1"] });
    const payload = Buffer.concat([hello, Buffer.from("END")]);
    const s = netConnect(gw.port("l4"), "127.0.0.1");
    s.setNoDelay(true);
    await once(s, "connect");
    for (let i = 0; i < hello.length; i++) {
      s.write(payload.subarray(i, i + 1));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    s.write(payload.subarray(hello.length));
    let got = "";
    s.on("data", (d) => (got += d));
    await once(s, "close");
    assert.equal(got, "ok\n");
    assert.equal(received.length, 1);
    assert.ok(Buffer.concat(received[0]!).equals(payload), "the server got exactly the client's bytes");
    // Not TLS at all: the default route.
    const p = netConnect(gw.port("l4"), "127.0.0.1");
    p.write("HELLO\r\n");
    let pt = "";
    p.on("data", (d) => (pt += d));
    await once(p, "close");
    assert.equal(pt, "plain\n");
  } finally {
    await gw.close();
    await be.close();
    await plain.close();
  }
});
