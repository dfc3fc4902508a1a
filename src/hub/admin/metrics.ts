/**
 * `/metrics` of a hub node: `holdfast_hub_*` in Prometheus text, through prom-client
 * with a registry of our own. Every metric reads the node's plain counters
 * (`HubStats`) and live objects at scrape time, so the data path pays nothing for them.
 * Labels are bounded (transport, outcome, code, broker operation): no per-channel or
 * per-client label. `docs/hub.md` lists them.
 *
 * @example
 * const m = hubMetrics(hub);
 * res.setHeader("content-type", m.contentType);
 * res.end(await m.text());
 */
import { Counter, Gauge, Registry } from "prom-client";
import { BucketHistogram } from "../../admin/kit/histogram.ts";
import type { Hub } from "../hub.ts";
import { BROKER_OPS, LATENCY_BUCKETS } from "../server/stats.ts";

/**
 * The metrics of one hub node.
 *
 * @example
 * await hubMetrics(hub).text(); // "# HELP holdfast_hub_connections ..."
 */
export interface HubMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  text(): Promise<string>;
}

/**
 * Registers every `holdfast_hub_*` metric of `hub` in a fresh registry.
 *
 * @example
 * const { registry } = hubMetrics(hub);
 */
export function hubMetrics(hub: Hub): HubMetrics {
  const registry = new Registry();
  // The hub's outbound calls (the JWKS fetch): holdfast_pool_*, by origin.
  hub.pools.register(registry);
  const registers = [registry];
  const stats = hub.stats;
  const total = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
  };
  const byLabel = <K>(name: string, help: string, label: string, read: () => Iterable<[K, number]>): void => {
    new Counter({
      name, help, labelNames: [label], registers,
      collect() {
        this.reset();
        for (const [k, v] of read()) this.inc({ [label]: String(k) }, v);
      },
    });
  };

  new Gauge({
    name: "holdfast_hub_connections",
    help: "Open client connections, by transport (websocket, sse)",
    labelNames: ["transport"] as const,
    registers,
    collect() {
      this.reset();
      let ws = 0;
      let sse = 0;
      for (const c of hub.node.connections) if (c.transport.kind === "websocket") ws++; else sse++;
      this.set({ transport: "websocket" }, ws);
      this.set({ transport: "sse" }, sse);
    },
  });
  new Gauge({
    name: "holdfast_hub_subscriptions",
    help: "Subscriptions of this node's connections (pending subscribes included)",
    registers,
    collect() {
      this.reset();
      let n = 0;
      for (const c of hub.node.connections) n += c.subs.size;
      this.set(n);
    },
  });
  new Gauge({ name: "holdfast_hub_channels", help: "Channels with subscribers on this node (one broker subscription each)", registers, collect() { this.reset(); this.set(hub.node.channels.size); } });
  new Gauge({ name: "holdfast_hub_broker_up", help: "1 while the broker can store and deliver, 0 while it is down", registers, collect() { this.reset(); this.set(hub.node.brokerUp ? 1 : 0); } });
  total("holdfast_hub_connections_accepted_total", "Connections accepted (WebSocket handshakes and SSE streams)", () => stats.connectionsAccepted);
  byLabel("holdfast_hub_connections_refused_total", "Connections refused before they started, by reason (origin, protocol, path, stopping, limit)", "reason", () => stats.refused);
  new Counter({
    name: "holdfast_hub_disconnects_total",
    help: "Connections closed, by close code and by who closed (hub, client; a dropped connection is client 1006)",
    labelNames: ["code", "by"] as const,
    registers,
    collect() {
      this.reset();
      for (const [key, n] of stats.closes) {
        const [by, code] = key.split(" ");
        this.inc({ by: by!, code: code! }, n);
      }
    },
  });
  total("holdfast_hub_publications_total", "Publications stored through this node (client publish and POST /api/publish; idempotent repeats not counted)", () => stats.publications);
  total("holdfast_hub_publications_received_total", "Publications received from the broker on channels this node serves", () => stats.received);
  total("holdfast_hub_deliveries_total", "Messages handed to subscribers (one publication to N subscribers counts N)", () => stats.deliveries);
  byLabel("holdfast_hub_recoveries_total", "Subscribe decisions by outcome: recovered, fresh, no_history, epoch_changed, too_old, hole, ahead", "outcome", () => stats.recoveries);
  total("holdfast_hub_gaps_total", "Gaps in offsets seen on live delivery (a message lost between the broker and this node)", () => stats.gaps);
  total("holdfast_hub_gap_repairs_total", "History reads that delivered missing publications (gap repairs and resyncs after a broker outage)", () => stats.repaired);
  total("holdfast_hub_resubscribes_total", "Subscriptions ended with unsubscribe + resubscribe: true (unrepairable gap, new epoch)", () => stats.resubscribes);
  total("holdfast_hub_queue_overflows_total", "Send queue overflows (sendQueue.maxBytes reached): a close (1013) or drops with drop-oldest", () => stats.overflows);
  total("holdfast_hub_queue_dropped_total", "Messages dropped from send queues by drop-oldest", () => stats.dropped);
  byLabel("holdfast_hub_broker_errors_total", "Broker operations that failed, by operation", "op", () => stats.brokerErrors);
  new BucketHistogram(registry, {
    name: "holdfast_hub_broker_latency_seconds",
    help: "Broker operation latency, by operation (publish, history, subscribe, ...)",
    buckets: LATENCY_BUCKETS,
    collect: (emit) => {
      for (const op of BROKER_OPS) {
        const h = stats.brokerLatency.get(op)!;
        if (h.count > 0) emit({ op }, h.counts, h.sum);
      }
    },
  });
  new Counter({
    name: "holdfast_hub_api_requests_total",
    help: "Server API requests, by route and status",
    labelNames: ["route", "status"] as const,
    registers,
    collect() {
      this.reset();
      for (const [key, n] of stats.api) {
        const [route, status] = key.split(" ");
        this.inc({ route: route!, status: status! }, n);
      }
    },
  });
  return { registry, contentType: registry.contentType, text: () => registry.metrics() };
}
