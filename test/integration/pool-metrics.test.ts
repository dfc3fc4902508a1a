// holdfast_pool_* in a prom-client registry: the text a scrape returns, series summed
// over the Pools registered in one registry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { Pools } from "../../src/pool/index.ts";
import { h1Server } from "../support/counting-servers.ts";
import { testPki } from "../support/tls.ts";

const { ca } = testPki();

function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no series ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

test("pools.register exports holdfast_pool_* with origin labels, equal to stats()", { timeout: 15_000 }, async () => {
  const server = await h1Server("https");
  const pools = new Pools({ connections: 1, keepAliveTimeout: 100, tls: { ca } });
  const registry = new Registry();
  pools.register(registry);
  const o = `origin="${server.url}"`;
  try {
    for (let i = 0; i < 4; i++) await (await pools.request(`${server.url}/${i}`)).body.dump();
    for (let i = 0; i < 100 && pools.stats().origins[server.url]?.open !== 0; i++) await sleep(20);
    await (await pools.request(`${server.url}/again`)).body.dump();
    const text = await registry.metrics();
    const s = pools.stats();
    assert.equal(value(text, `holdfast_pool_requests_total{${o}}`), 5);
    assert.equal(value(text, `holdfast_pool_connections_created_total{${o}}`), 2);
    assert.equal(value(text, `holdfast_pool_connections_reused_total{${o}}`), 3);
    assert.equal(value(text, `holdfast_pool_dns_lookups_saved_total{${o}}`), 3);
    assert.equal(value(text, `holdfast_pool_tls_handshakes_saved_total{${o}}`), 3);
    assert.equal(value(text, `holdfast_pool_handshake_saved_seconds_total{${o}}`), s.handshakeMsSaved / 1000);
    assert.equal(value(text, `holdfast_pool_connect_errors_total{${o}}`), 0);
    assert.equal(value(text, `holdfast_pool_retries_total{${o}}`), 0);
    assert.equal(value(text, `holdfast_pool_connections_closed_total{${o},reason="idleTimeout"}`), 1);
    assert.equal(value(text, `holdfast_pool_connections_closed_total{${o},reason="serverClosed"}`), 0);
    assert.equal(value(text, `holdfast_pool_connections_open{${o}}`), 1);
    assert.equal(value(text, `holdfast_pool_reuse_ratio{${o}}`), 3 / 5);
    assert.equal(value(text, `holdfast_pool_requests_pending{${o}}`), 0);
    // the closed connection carried 4 requests: (2, 5]
    assert.equal(value(text, `holdfast_pool_requests_per_connection_bucket{${o},le="2"}`), 0);
    assert.equal(value(text, `holdfast_pool_requests_per_connection_bucket{${o},le="5"}`), 1);
    assert.equal(value(text, `holdfast_pool_requests_per_connection_bucket{${o},le="+Inf"}`), 1);
    assert.equal(value(text, `holdfast_pool_requests_per_connection_sum{${o}}`), 4);
    assert.equal(value(text, `holdfast_pool_connection_lifetime_seconds_count{${o}}`), 1);
    assert.equal(value(text, `holdfast_pool_handshake_seconds_count{${o}}`), 2);
    // And each series is the number stats() gives for the origin.
    const so = s.origins[server.url]!;
    const fromStats: [string, number][] = [
      ["requests_total", so.requests],
      ["connections_created_total", so.connectionsCreated],
      ["connections_reused_total", so.connectionsReused],
      ["dns_lookups_saved_total", so.dnsLookupsSaved],
      ["tls_handshakes_saved_total", so.tlsHandshakesSaved],
      ["connect_errors_total", so.connectErrors],
      ["retries_total", so.retries],
      ["connections_open", so.open],
      ["reuse_ratio", so.reuseRate],
      ["requests_pending", so.pending],
      ["requests_per_connection_sum", so.requestsPerConnection.sum],
      ["connection_lifetime_seconds_count", so.connectionLifetimeSeconds.count],
      ["handshake_seconds_count", so.handshakeSeconds.count],
    ];
    assert.deepEqual(fromStats.map(([n]) => value(text, `holdfast_pool_${n}{${o}}`)), fromStats.map(([, v]) => v));
    assert.equal(value(text, `holdfast_pool_connections_closed_total{${o},reason="idleTimeout"}`), so.closeReasons.idleTimeout);
    assert.match(text, /# TYPE holdfast_pool_requests_per_connection histogram/);
    assert.match(text, /# TYPE holdfast_pool_requests_total counter/);
    const labels = new Set([...text.matchAll(/^holdfast_pool_\w+\{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(",").map((kv) => kv.split("=")[0])));
    assert.deepEqual([...labels].sort(), ["le", "origin", "reason"], "bounded label names");

    // A second Pools in the same registry adds to the same series.
    const other = new Pools({ tls: { ca } });
    try {
      other.register(registry);
      await (await other.request(`${server.url}/other`)).body.dump();
      const both = await registry.metrics();
      assert.equal(value(both, `holdfast_pool_requests_total{${o}}`), 6);
      assert.equal(value(both, `holdfast_pool_connections_created_total{${o}}`), 3);
      assert.equal(value(both, `holdfast_pool_handshake_seconds_count{${o}}`), 3);
      assert.equal(server.requests, 6);
    } finally {
      await other.close();
    }
  } finally {
    await pools.close();
    await server.close();
  }
});
