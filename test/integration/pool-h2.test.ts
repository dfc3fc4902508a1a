// holdfast/pool and HTTP/2: one multiplexed session per origin when ALPN picks h2, an
// ordinary HTTP/1.1 pool when it does not, and a switch when the server stops offering h2.
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import tls, { type TLSSocket } from "node:tls";
import { Pools } from "../../src/pool/index.ts";
import { h1Server, h2Server } from "../support/counting-servers.ts";
import { okText } from "../support/pool.ts";
import { until } from "../support/wait.ts";
import { testPki } from "../support/tls.ts";

const pki = testPki();
const T = { timeout: 15_000 };



describe("Pools with allowH2", () => {
  test("concurrent requests multiplex on one HTTP/2 session", T, async () => {
    const server = await h2Server();
    const pools = new Pools({ allowH2: true, connections: 8, tls: { ca: pki.ca } });
    try {
      const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => okText(pools, `${server.url}/s/${i}?delay=10`)));
      assert.equal(burst.length, 50);
      for (let i = 0; i < 10; i++) await okText(pools, `${server.url}/seq/${i}`);
      assert.deepEqual([server.accepted, server.maxOpen, server.requests], [1, 1, 60]);
      assert.ok(server.maxConcurrent > 10, `streams ran concurrently on the session (at most ${server.maxConcurrent} at once)`);
      const s = pools.stats();
      const o = s.origins[server.url]!;
      assert.equal(o.protocol, "h2");
      assert.deepEqual([o.connectionsCreated, o.h2Connections, o.requests, o.connectionsReused], [1, 1, 60, 59]);
      assert.deepEqual([s.requests, s.connectionsCreated], [server.requests, server.accepted]);
      assert.equal(o.open, 1);
      await until(() => pools.stats().origins[server.url]?.idle === 1, 5000, "the session to be idle");
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("an HTTPS server without h2 gets an HTTP/1.1 pool bounded by `connections`, its first connection reused", T, async () => {
    const server = await h1Server("https");
    const pools = new Pools({ allowH2: true, connections: 4, tls: { ca: pki.ca } });
    try {
      const all = await Promise.all(Array.from({ length: 20 }, (_, i) => okText(pools, `${server.url}/b/${i}?delay=20`)));
      assert.equal(all.length, 20);
      const o = pools.stats().origins[server.url]!;
      assert.equal(o.protocol, "h1");
      assert.equal(o.h2Connections, 0);
      assert.ok(server.maxOpen <= 4, `${server.maxOpen} connections open at once`);
      // The connection that learnt "no h2" serves too: no more than `connections` were ever made.
      assert.ok(server.accepted <= 4, `${server.accepted} connections made for a pool of 4`);
      assert.deepEqual([o.connectionsCreated, o.requests, o.connectionsReused], [server.accepted, server.requests, 20 - server.accepted]);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("without allowH2 an h2-capable server is spoken to in HTTP/1.1", T, async () => {
    const server = await h2Server((req, res) => res.end(`v${req.httpVersion}`), true);
    const pools = new Pools({ tls: { ca: pki.ca } });
    try {
      assert.equal(await okText(pools, `${server.url}/`), "v1.1");
      assert.equal(pools.stats().origins[server.url]?.protocol, "h1");
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("a server that stops offering h2: later requests go to an HTTP/1.1 pool", T, async () => {
    // One TLS listener choosing the protocol per connection (h2 for the first only),
    // handing the socket to an HTTP/2 or an HTTP/1.1 server.
    let handshakes = 0;
    const h2 = http2.createServer((req, res) => res.end(`v${req.httpVersion}`));
    const h1 = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => setTimeout(() => res.end(`v${req.httpVersion}`), 20));
    const sockets = new Set<TLSSocket>();
    const server = tls.createServer({
      key: pki.key, cert: pki.cert,
      ALPNCallback: ({ protocols }) => (handshakes++ === 0 && protocols.includes("h2") ? "h2" : "http/1.1"),
    }, (sock) => {
      sockets.add(sock);
      sock.once("close", () => sockets.delete(sock));
      (sock.alpnProtocol === "h2" ? h2 : h1).emit("connection", sock);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `https://localhost:${(server.address() as AddressInfo).port}`;
    const pools = new Pools({ allowH2: true, connections: 4, tls: { ca: pki.ca } });
    try {
      assert.deepEqual(await Promise.all([1, 2, 3].map(() => okText(pools, url))), ["v2.0", "v2.0", "v2.0"]);
      assert.equal(pools.stats().origins[url]?.protocol, "h2");
      for (const s of sockets) s.destroy();
      await until(() => pools.stats().origins[url]?.open === 0, 5000, "the session to close");
      // The one h2 Client reconnects, learns http/1.1 and becomes the pool's first connection.
      assert.equal(await okText(pools, url), "v1.1");
      assert.equal(pools.stats().origins[url]?.protocol, "h1");
      const burst = await Promise.all(Array.from({ length: 12 }, () => okText(pools, url)));
      assert.deepEqual(new Set(burst), new Set(["v1.1"]));
      const o = pools.stats().origins[url]!;
      assert.ok(o.connectionsCreated > 2, `the burst spread over more connections (${o.connectionsCreated} opened)`);
      assert.ok(o.open <= 4, `${o.open} open`);
      assert.equal(o.connectionsCreated, handshakes);
      assert.equal(o.h2Connections, 1);
    } finally {
      await pools.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
    }
  });
});
