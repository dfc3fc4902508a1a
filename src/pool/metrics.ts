/**
 * `holdfast_pool_*` in a prom-client registry. Every metric is a `collect()` callback
 * reading `stats()` at scrape time (once per scrape, shared by all the metrics), so the
 * request path pays nothing for them. Labels: `origin` (the origins the application
 * calls) and, on the closed-connections counter, `reason` (four values). Several `Pools`
 * registered in one registry add up per origin.
 *
 * @example
 * registerPools(registry, pools);
 * await registry.getSingleMetricAsString("holdfast_pool_connections_reused_total");
 */
import { Counter, Gauge, type Metric, type MetricObjectWithValues, type MetricType, type MetricValueWithName, type Registry } from "prom-client";
import {
  CLOSE_REASONS, HANDSHAKE_BUCKETS_SECONDS, LIFETIME_BUCKETS_SECONDS, REQUESTS_PER_CONNECTION_BUCKETS,
  type HistogramSnapshot, type OriginStats, type PoolsStats,
} from "./stats.ts";

/**
 * What the metrics read: anything with `stats()` (a `Pools`).
 *
 * @example
 * const source: StatsSource = pools;
 */
export interface StatsSource {
  stats(): PoolsStats;
}

type View = Map<string, OriginStats[]>;

const sources = new WeakMap<Registry, Set<StatsSource>>();

/**
 * Adds `source` to `registry`'s pool metrics, creating them on the first call.
 *
 * @example
 * registerPools(registry, hubPools);
 * registerPools(registry, gatewayPools); // same series names, summed per origin
 */
export function registerPools(registry: Registry, source: StatsSource): void {
  const set = sources.get(registry);
  if (set !== undefined) {
    set.add(source);
    return;
  }
  const all = new Set([source]);
  sources.set(registry, all);
  // prom-client calls every collect() in one synchronous pass: one stats() per scrape.
  let cached: View | undefined;
  const view = (): View => {
    if (cached === undefined) {
      cached = new Map();
      for (const s of all) {
        for (const [origin, st] of Object.entries(s.stats().origins)) {
          const list = cached.get(origin);
          if (list === undefined) cached.set(origin, [st]);
          else list.push(st);
        }
      }
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };
  const sum = (list: OriginStats[], read: (o: OriginStats) => number): number => list.reduce((a, o) => a + read(o), 0);
  const registers = [registry];

  const counter = (name: string, help: string, read: (o: OriginStats) => number): void => {
    new Counter({
      name, help, labelNames: ["origin"], registers,
      collect() {
        this.reset();
        for (const [origin, list] of view()) this.inc({ origin }, sum(list, read));
      },
    });
  };
  const gauge = (name: string, help: string, read: (list: OriginStats[]) => number): void => {
    new Gauge({
      name, help, labelNames: ["origin"], registers,
      collect() {
        this.reset();
        for (const [origin, list] of view()) this.set({ origin }, read(list));
      },
    });
  };

  counter("holdfast_pool_requests_total", "Requests whose headers were written on a pooled connection (undici:client:sendHeaders)", (o) => o.requests);
  counter("holdfast_pool_connections_created_total", "Connections opened (undici:client:connected)", (o) => o.connectionsCreated);
  counter("holdfast_pool_connections_reused_total", "Requests written on a connection that had already carried one (no handshake paid)", (o) => o.connectionsReused);
  counter("holdfast_pool_dns_lookups_saved_total", "Reused requests on connections that had resolved their host name", (o) => o.dnsLookupsSaved);
  counter("holdfast_pool_tls_handshakes_saved_total", "Reused requests on TLS connections", (o) => o.tlsHandshakesSaved);
  counter("holdfast_pool_handshake_saved_seconds_total",
    "Reused requests × the origin's mean measured DNS + TCP + TLS time per connection", (o) => o.handshakeMsSaved / 1000);
  counter("holdfast_pool_connect_errors_total", "Connection attempts that failed (refused, timed out, TLS rejected)", (o) => o.connectErrors);
  counter("holdfast_pool_retries_total", "Idempotent requests sent again after their pooled connection closed before any response byte", (o) => o.retries);
  new Counter({
    name: "holdfast_pool_connections_closed_total",
    help: "Connections closed, by reason: idleTimeout (keepAliveTimeout), serverClosed (FIN, Connection: close, GOAWAY), error, local (close(), reset asked)",
    labelNames: ["origin", "reason"],
    registers,
    collect() {
      this.reset();
      for (const [origin, list] of view()) {
        for (const reason of CLOSE_REASONS) this.inc({ origin, reason }, sum(list, (o) => o.closeReasons[reason]));
      }
    },
  });
  gauge("holdfast_pool_connections_open", "Connections open now", (l) => sum(l, (o) => o.open));
  gauge("holdfast_pool_connections_idle", "Open connections with no request in flight", (l) => sum(l, (o) => o.idle));
  gauge("holdfast_pool_requests_pending", "Requests waiting for a connection or an HTTP/2 stream", (l) => sum(l, (o) => o.pending));
  gauge("holdfast_pool_reuse_ratio", "Reused requests ÷ requests since start (prefer the rate of the two counters)", (l) => {
    const requests = sum(l, (o) => o.requests);
    return requests === 0 ? 0 : sum(l, (o) => o.connectionsReused) / requests;
  });
  const histogram = (name: string, help: string, bounds: readonly number[], read: (o: OriginStats) => HistogramSnapshot): void => {
    registry.registerMetric(new SnapshotHistogram(name, help, bounds, view, read) as unknown as Metric);
  };
  histogram("holdfast_pool_requests_per_connection", "Requests carried by each closed connection",
    REQUESTS_PER_CONNECTION_BUCKETS, (o) => o.requestsPerConnection);
  histogram("holdfast_pool_connection_lifetime_seconds", "Lifetime of each closed connection",
    LIFETIME_BUCKETS_SECONDS, (o) => o.connectionLifetimeSeconds);
  histogram("holdfast_pool_handshake_seconds", "Measured DNS + TCP + TLS time of each connection opened",
    HANDSHAKE_BUCKETS_SECONDS, (o) => o.handshakeSeconds);
}

/**
 * A histogram rendered from the statistics' bucket counts (prom-client's `Histogram`
 * only grows by `observe()`). The registry calls `get()` and `reset()`, nothing else.
 */
class SnapshotHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly #les: string[];
  readonly #view: () => View;
  readonly #read: (o: OriginStats) => HistogramSnapshot;

  constructor(name: string, help: string, bounds: readonly number[], view: () => View, read: (o: OriginStats) => HistogramSnapshot) {
    this.name = name;
    this.help = help;
    this.#les = [...bounds.map(String), "+Inf"];
    this.#view = view;
    this.#read = read;
  }

  get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const [origin, list] of this.#view()) {
      const counts = new Array<number>(this.#les.length).fill(0);
      let total = 0;
      for (const o of list) {
        const h = this.#read(o);
        h.counts.forEach((c, i) => (counts[i]! += c));
        total += h.sum;
      }
      let cumulative = 0;
      this.#les.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { origin, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_sum`, labels: { origin }, value: total });
      values.push({ metricName: `${this.name}_count`, labels: { origin }, value: cumulative });
    }
    // prom-client's typings declare `type` as a numeric enum; at runtime it is the string.
    return Promise.resolve({ name: this.name, help: this.help, type: this.type as unknown as MetricType, aggregator: this.aggregator, values, collect: () => {} });
  }

  reset(): void {}
}
