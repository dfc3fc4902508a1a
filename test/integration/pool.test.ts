// holdfast/pool over real HTTP/1.1 and HTTPS servers on loopback: reuse, the
// connection bound, the statistics against what the server counted, idle timeouts.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Pool } from "undici";
import { Pools, type PoolRequestOptions } from "../../src/pool/index.ts";
import { h1Server, type CountingServer, type Handler } from "../support/counting-servers.ts";
import { okText } from "../support/pool.ts";
import { until } from "../support/wait.ts";
import { testPki } from "../support/tls.ts";

const { ca } = testPki();
const T = { timeout: 15_000 };



describe("Pools over HTTPS (HTTP/1.1)", () => {
  let server: CountingServer;
  after(() => server?.close());

  test("sequential requests reuse their connections; the statistics equal the server's counts", T, async () => {
    server = await h1Server("https");
    const pools = new Pools({ tls: { ca } });
    try {
      for (let i = 0; i < 200; i++) assert.equal(await okText(pools, `${server.url}/item/${i}?x=1#frag`), "ok");
      const s = pools.stats();
      const o = s.origins[server.url];
      assert.ok(o, `an origin entry for ${server.url}, got ${Object.keys(s.origins).join(", ")}`);
      assert.equal(server.requests, 200);
      assert.equal(s.requests, server.requests);
      assert.equal(s.connectionsCreated, server.accepted);
      // undici hands a finished connection back to its Pool one event-loop turn later,
      // so a strictly sequential caller makes it open a second one: count, don't assume.
      assert.ok(server.accepted <= 2, `${server.accepted} connections for a sequential workload`);
      assert.equal(s.connectionsReused, 200 - server.accepted);
      assert.equal(s.reuseRate, (200 - server.accepted) / 200);
      assert.ok(s.reuseRate >= 0.99);
      // localhost is a name: each connection looked it up, so each reuse saved a lookup
      assert.equal(s.dnsLookupsSaved, s.connectionsReused);
      assert.equal(s.tlsHandshakesSaved, s.connectionsReused);
      assert.ok(o.handshakeMs.tls > 0 && o.handshakeMs.tcp > 0 && o.handshakeMs.dns > 0, JSON.stringify(o.handshakeMs));
      assert.ok(Math.abs(o.handshakeMs.mean - (o.handshakeMs.dns + o.handshakeMs.tcp + o.handshakeMs.tls)) < 1e-9);
      assert.equal(s.handshakeMsSaved, o.handshakeMs.mean * s.connectionsReused);
      assert.equal(o.protocol, "h1");
      assert.equal(o.open, server.accepted);
      assert.equal(o.pending, 0);
      assert.equal(o.handshakeSeconds.count, server.accepted);
      assert.equal(o.requestsPerConnection.count, 0, "no connection closed yet");
      await until(() => pools.stats().origins[server.url]?.idle === server.accepted, 5000, "the connections to turn idle");
    } finally {
      await pools.close();
      await server.close();
    }
    const closed = pools.stats().origins[server.url]!;
    assert.equal(closed.open, 0);
    assert.deepEqual(closed.closeReasons, { idleTimeout: 0, serverClosed: 0, error: 0, local: server.accepted });
    assert.equal(closed.requestsPerConnection.count, server.accepted);
    assert.equal(closed.requestsPerConnection.sum, 200);
  });

  test("with connections: 1 a sequential workload is one connection", T, async () => {
    server = await h1Server("https");
    const pools = new Pools({ connections: 1, tls: { ca } });
    try {
      for (let i = 0; i < 100; i++) await okText(pools, `${server.url}/${i}`);
      assert.deepEqual([server.accepted, server.requests], [1, 100]);
      const s = pools.stats();
      assert.deepEqual([s.connectionsCreated, s.requests, s.connectionsReused, s.reuseRate], [1, 100, 99, 0.99]);
    } finally {
      await pools.close();
      await server.close();
    }
    const o = pools.stats().origins[server.url]!;
    assert.deepEqual(o.requestsPerConnection.counts.slice(6, 8), [1, 0], "100 requests: the (50, 100] bucket");
  });

  test("concurrent requests never open more than `connections`", T, async () => {
    server = await h1Server("https");
    const pools = new Pools({ connections: 4, tls: { ca } });
    try {
      const all = Array.from({ length: 40 }, (_, i) => okText(pools, `${server.url}/c/${i}?delay=20`));
      // The requests beyond the 4 connections wait in undici's queue.
      await until(() => (pools.stats().origins[server.url]?.pending ?? 0) > 0, 2000, "requests queued");
      assert.deepEqual(new Set(await Promise.all(all)), new Set(["ok"]));
      assert.equal(server.accepted, 4);
      assert.equal(server.maxOpen, 4);
      const s = pools.stats();
      assert.equal(s.requests, 40);
      assert.equal(s.connectionsCreated, 4);
      assert.equal(s.connectionsReused, 36);
      assert.equal(s.origins[server.url]?.open, 4);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("an IP-literal origin saves no DNS lookup; a plain HTTP one no TLS handshake", T, async () => {
    const tlsServer = await h1Server("https");
    const plain = await h1Server("http");
    const pools = new Pools({ connections: 1, tls: { ca } });
    try {
      for (let i = 0; i < 5; i++) {
        await okText(pools, `${tlsServer.ipUrl}/`);
        await okText(pools, `${plain.url}/`);
      }
      const s = pools.stats();
      const ip = s.origins[tlsServer.ipUrl]!;
      const http = s.origins[plain.url]!;
      assert.deepEqual([ip.requests, ip.connectionsReused, ip.dnsLookupsSaved, ip.tlsHandshakesSaved], [5, 4, 0, 4]);
      assert.equal(ip.handshakeMs.dns, 0);
      assert.deepEqual([http.requests, http.connectionsReused, http.dnsLookupsSaved, http.tlsHandshakesSaved], [5, 4, 4, 0]);
      assert.equal(http.handshakeMs.tls, 0);
      assert.deepEqual([s.requests, s.connectionsCreated], [tlsServer.requests + plain.requests, tlsServer.accepted + plain.accepted]);
      assert.equal(s.handshakeMsSaved, ip.handshakeMsSaved + http.handshakeMsSaved);
    } finally {
      await pools.close();
      await Promise.all([tlsServer.close(), plain.close()]);
    }
  });

  test("one pool per origin, whatever the URL's spelling", T, async () => {
    server = await h1Server("http");
    const pools = new Pools({ connections: 1 });
    try {
      await okText(pools, `${server.url}/a`);
      await okText(pools, `HTTP://LOCALHOST:${server.port}?q=1`);
      await okText(pools, new URL(`${server.url}/b`).href);
      await pools.request(new URL(`${server.url}/c?d`)).then((r) => r.body.dump());
      assert.deepEqual(Object.keys(pools.stats().origins), [server.url]);
      assert.equal(server.accepted, 1);
      assert.equal(pools.stats().connectionsReused, 3);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("a URL requested again reuses its split, yet options and other URLs still go where they say", T, async () => {
    const echo: Handler = (req, res) => {
      req.resume();
      res.end(`${req.method} ${req.url}`);
    };
    const a = await h1Server("http", echo);
    const b = await h1Server("http", echo);
    const pools = new Pools({ connections: 4 });
    const text = async (url: string, opts?: PoolRequestOptions): Promise<string> => (await pools.request(url, opts)).body.text();
    try {
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        got.push(await text(`${a.url}/x?i=1`), await text(`${a.url}/x?i=1`, { method: "DELETE" }), await text(`${b.url}/y`), await text(`${a.url}/x?i=1`));
      }
      assert.deepEqual(got, Array<string[]>(3).fill(["GET /x?i=1", "DELETE /x?i=1", "GET /y", "GET /x?i=1"]).flat());
      const burst = await Promise.all(Array.from({ length: 8 }, () => text(`${a.url}/x?i=1`)));
      assert.deepEqual(burst, Array<string>(8).fill("GET /x?i=1"));
      const s = pools.stats();
      assert.deepEqual([s.origins[a.url]?.requests, s.origins[b.url]?.requests], [a.requests, b.requests]);
      assert.deepEqual([a.requests, b.requests], [17, 3]);
    } finally {
      await pools.close();
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("idle connections close after keepAliveTimeout, counted as idleTimeout with their lifetime", T, async () => {
    server = await h1Server("https");
    const pools = new Pools({ connections: 1, keepAliveTimeout: 150, tls: { ca } });
    try {
      await okText(pools, `${server.url}/1`);
      await okText(pools, `${server.url}/2`);
      await until(() => pools.stats().origins[server.url]?.open === 0, 5000, "the idle timeout");
      const o = pools.stats().origins[server.url]!;
      assert.deepEqual(o.closeReasons, { idleTimeout: 1, serverClosed: 0, error: 0, local: 0 });
      assert.equal(o.connectionLifetimeSeconds.count, 1);
      assert.ok(o.connectionLifetimeSeconds.sum >= 0.15, `lifetime ${o.connectionLifetimeSeconds.sum}s covers the idle time`);
      assert.deepEqual(o.requestsPerConnection.counts.slice(0, 3), [0, 1, 0], "2 requests: the (1, 2] bucket");
      await until(() => server.open === 0, 5000, "the server to see the close");
      await okText(pools, `${server.url}/3`);
      assert.equal(server.accepted, 2);
      assert.equal(pools.stats().connectionsCreated, 2);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("a server that closes idle connections without warning: the next request opens a new one", T, async () => {
    server = await h1Server("https");
    const pools = new Pools({ connections: 1, tls: { ca } });
    try {
      await okText(pools, `${server.url}/1`);
      await okText(pools, `${server.url}/2`);
      await until(() => pools.stats().origins[server.url]?.idle === 1, 5000, "an idle pooled connection");
      for (const sock of server.sockets) sock.destroy(); // no Connection: close, no hint
      await until(() => pools.stats().origins[server.url]?.open === 0, 5000, "the client to see the close");
      assert.equal(await okText(pools, `${server.url}/3`), "ok");
      const o = pools.stats().origins[server.url]!;
      assert.deepEqual(o.closeReasons, { idleTimeout: 0, serverClosed: 1, error: 0, local: 0 });
      assert.deepEqual([o.requests, o.connectionsCreated, o.connectionsReused, o.retries], [3, 2, 1, 0]);
      assert.deepEqual([server.requests, server.accepted], [3, 2]);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("Connection: close from the server counts as serverClosed and is not reused", T, async () => {
    server = await h1Server("https", (req, res) => {
      req.resume();
      res.setHeader("connection", "close");
      res.end("ok");
    });
    const pools = new Pools({ tls: { ca } });
    try {
      for (let i = 0; i < 3; i++) await okText(pools, `${server.url}/${i}`);
      await until(() => pools.stats().origins[server.url]?.open === 0, 5000, "every close");
      const o = pools.stats().origins[server.url]!;
      assert.deepEqual([o.requests, o.connectionsCreated, o.connectionsReused, o.reuseRate], [3, 3, 0, 0]);
      assert.equal(o.closeReasons.serverClosed, 3);
      assert.equal(server.accepted, 3);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("other undici clients in the process are not counted", T, async () => {
    server = await h1Server("http");
    const pools = new Pools();
    const other = new Pool(server.url);
    try {
      await okText(pools, `${server.url}/mine`);
      for (let i = 0; i < 3; i++) await (await other.request({ path: "/other", method: "GET" })).body.dump();
      await fetch(`${server.url}/fetch`).then((r) => r.text());
      assert.equal(server.requests, 5);
      assert.deepEqual([pools.stats().requests, pools.stats().connectionsCreated], [1, 1]);
    } finally {
      await other.close();
      await pools.close();
      await server.close();
    }
  });
});

describe("Pools: bad input", () => {
  test("clear errors for bad options and URLs; nothing after close()", T, async () => {
    assert.throws(() => new Pools({ connections: 0 }), /connections must be a positive number, got 0/);
    assert.throws(() => new Pools({ connections: 1.5 }), /connections must be an integer/);
    assert.throws(() => new Pools({ keepAliveTimeout: -1 }), /keepAliveTimeout must be a positive number/);
    const pools = new Pools();
    await assert.rejects(pools.request("/relative"), /expected an absolute http\(s\) URL, got "\/relative"/);
    await assert.rejects(pools.request("ftp://example.com/x"), /only http: and https: URLs are supported, got "ftp:"/);
    await assert.rejects(pools.request("http://user:pw@127.0.0.1:1/"), /credentials in the URL of http:\/\/127.0.0.1:1 are not sent/);
    await assert.rejects(pools.request("http://exa mple.com/"), /not a valid URL/);
    assert.deepEqual(pools.stats().origins, {});
    await pools.close();
    await assert.rejects(pools.request("http://127.0.0.1:1/"), /request\(\) after close\(\)/);
  });
});
