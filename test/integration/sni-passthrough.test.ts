import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect, type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { encodeProxyV2 } from "../../src/codec/proxy/encode.ts";
import { captureClientHello } from "../../src/codec/tls/testing.kit.ts";
import { closeServer, tcpBackend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { proxyReadingServer } from "../support/proxy.ts";
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

test("mode: tcp by SNI behind an L4 balancer (docs/examples/tls.yaml): PROXY v2 in, routed by the name after it, PROXY v2 out with the client's address, then the server's own handshake", async () => {
  const ca = makeCa();
  const got: { server: string; version: number; source: string; sourcePort: number }[] = [];
  // Servers that read the header the gateway sends, then terminate TLS themselves (the
  // bytes after the header are piped to a TLS server: TLS on the same socket would not
  // see bytes already read from it).
  const servers = await Promise.all(["vault", "ingress"].map(async (name) => {
    const tls = await tlsBackend(name, ca.issue([name === "vault" ? "vault.example.com" : "*.apps.example.com"]));
    const front = await proxyReadingServer((raw, header, rest) => {
      got.push({ server: name, version: header.version, source: header.source, sourcePort: header.sourcePort });
      const up = netConnect(tls.port, "127.0.0.1");
      up.write(rest);
      raw.pipe(up).pipe(raw);
      raw.resume();
      up.on("close", () => raw.destroy());
      raw.on("close", () => up.destroy());
      up.on("error", () => {});
      raw.on("error", () => {});
    });
    return { port: front.port, close: async () => {
      await closeServer(front.server);
      await closeServer(tls.server);
    } };
  }));
  const gw = await startGateway(`
listeners:
  - name: passthrough
    mode: tcp
    listen: 127.0.0.1:0
    proxyProtocol: accept
    routes:
      - { match: { sni: vault.example.com }, backend: vault }
      - { match: { sni: "*.apps.example.com" }, backend: ingress }
backends:
  vault: { proxyProtocol: v2, servers: [{ name: vault1, address: 127.0.0.1:${servers[0]!.port} }] }
  ingress: { proxyProtocol: v2, servers: [{ name: ingress1, address: 127.0.0.1:${servers[1]!.port} }] }
`);
  const viaBalancer = async (client: string, clientPort: number, servername: string) => {
    const raw = netConnect(gw.port("passthrough"), "127.0.0.1");
    await once(raw, "connect");
    raw.write(encodeProxyV2(client, clientPort, "203.0.113.1", 8443));
    const s = tlsConnect({ socket: raw, servername, ca: ca.cert });
    let text = "";
    s.on("data", (d: Buffer) => (text += d));
    await Promise.race([once(s, "end"), new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 5000).unref())]);
    const cn = String(s.getPeerCertificate().subject?.CN);
    s.destroy();
    return { text, cn };
  };
  try {
    assert.deepEqual(await viaBalancer("198.51.100.7", 40001, "vault.example.com"), { text: "vault (sni vault.example.com)\n", cn: "vault.example.com" });
    assert.deepEqual(await viaBalancer("198.51.100.8", 40002, "shop.apps.example.com"), { text: "ingress (sni shop.apps.example.com)\n", cn: "*.apps.example.com" });
    assert.deepEqual(got, [
      { server: "vault", version: 2, source: "198.51.100.7", sourcePort: 40001 },
      { server: "ingress", version: 2, source: "198.51.100.8", sourcePort: 40002 },
    ]);
    // No default route: another name is refused after the header too.
    await assert.rejects(viaBalancer("198.51.100.9", 40003, "other.example.com"), /UNRECOGNIZED_NAME|unrecognized name/i);
    assert.equal(got.length, 2);
  } finally {
    await gw.close();
    for (const s of servers) await s.close();
  }
});
