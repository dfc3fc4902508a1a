/**
 * The hub node's state as one JSON document, for its dashboard and `GET /api/overview`:
 * connections, subscriptions, the busiest channels with their positions, rates over the
 * last tick and the last minute, recoveries by outcome, closes by code, broker
 * health and latency, and the outbound pool's reuse (the JWKS fetch). Built at most
 * once per tick, O(connections + channels).
 *
 * @example
 * const sampler = new HubSampler(hub);
 * setInterval(() => sampler.sample(), 1000);
 * res.end(JSON.stringify(buildHubOverview(hub, sampler)));
 */
import type { PoolsStats } from "../../pool/index.ts";
import type { Hub } from "../hub.ts";
import { BROKER_OPS } from "../server/stats.ts";

/** How many channels the overview lists (the busiest first). */
export const TOP_CHANNELS = 50;
/** Seconds of history kept for the sparklines. */
const HISTORY = 60;

/** Per-second rates from the counters, sampled once per tick. */
export class HubSampler {
  readonly #hub: Hub;
  #last: { at: number; publications: number; deliveries: number; received: number } | undefined;
  readonly rates = { publications: 0, deliveries: 0, received: 0 };
  readonly deliveries: number[] = [];
  readonly connections: number[] = [];

  constructor(hub: Hub) {
    this.#hub = hub;
  }

  /** Takes one sample (call once per tick). */
  sample(now = performance.now()): void {
    const s = this.#hub.stats;
    const cur = { at: now, publications: s.publications, deliveries: s.deliveries, received: s.received };
    const last = this.#last;
    if (last !== undefined && now > last.at) {
      const dt = (now - last.at) / 1000;
      this.rates.publications = (cur.publications - last.publications) / dt;
      this.rates.deliveries = (cur.deliveries - last.deliveries) / dt;
      this.rates.received = (cur.received - last.received) / dt;
      push(this.deliveries, this.rates.deliveries);
      push(this.connections, this.#hub.node.connections.size);
    }
    this.#last = cur;
  }
}

function push(series: number[], v: number): void {
  series.push(v);
  if (series.length > HISTORY) series.shift();
}

/** One channel row of the overview. */
export interface ChannelRow {
  readonly name: string;
  readonly subscribers: number;
  readonly pending: number;
  readonly offset: number | null;
  readonly epoch: string | null;
  readonly rule: string;
  readonly presence: number | null;
}

/**
 * The overview document.
 *
 * @example
 * buildHubOverview(hub, sampler).totals.connections; // 1234
 */
export function buildHubOverview(hub: Hub, sampler: HubSampler) {
  const node = hub.node;
  const stats = hub.stats;
  let websocket = 0;
  let subscriptions = 0;
  for (const c of node.connections) {
    if (c.transport.kind === "websocket") websocket++;
    subscriptions += c.subs.size;
  }
  const channels: ChannelRow[] = [];
  for (const st of node.channels.values()) {
    const pos = st.cursor?.position;
    channels.push({
      name: st.name,
      subscribers: st.active.size,
      pending: st.pending.size,
      offset: pos?.offset ?? null,
      epoch: pos?.epoch ?? null,
      rule: st.rule.match,
      presence: st.rule.presence ? node.presenceBook.clients(st.name) : null,
    });
  }
  channels.sort((a, b) => b.subscribers - a.subscribers || a.name.localeCompare(b.name));
  const ms = (s: number) => Math.round(s * 1e6) / 1e3;
  return {
    node: hub.name,
    at: Date.now(),
    uptimeMs: Math.round(performance.now() - hub.startedAt),
    stopping: hub.stopping,
    broker: { type: node.broker.type, up: node.brokerUp, reason: node.brokerReason || null },
    config: {
      listen: hub.url,
      ping: hub.config.ping,
      sendQueue: hub.config.sendQueue,
      limits: hub.config.limits,
      rules: hub.config.channels.map((r) => r.match),
    },
    totals: {
      connections: node.connections.size,
      websocket,
      sse: node.connections.size - websocket,
      subscriptions,
      channels: node.channels.size,
      accepted: stats.connectionsAccepted,
      publications: stats.publications,
      received: stats.received,
      deliveries: stats.deliveries,
      gaps: stats.gaps,
      repaired: stats.repaired,
      resubscribes: stats.resubscribes,
      overflows: stats.overflows,
      dropped: stats.dropped,
    },
    rates: { ...sampler.rates },
    series: { deliveries: [...sampler.deliveries], connections: [...sampler.connections] },
    recoveries: Object.fromEntries(stats.recoveries),
    refused: Object.fromEntries(stats.refused),
    closes: [...stats.closes].map(([key, n]) => {
      const [by, code] = key.split(" ");
      return { by, code: Number(code), count: n };
    }).sort((a, b) => b.count - a.count),
    brokerOps: BROKER_OPS.map((op) => {
      const h = stats.brokerLatency.get(op)!;
      return { op, count: h.count, errors: stats.brokerErrors.get(op) ?? 0, p50ms: ms(h.quantile(0.5)), p99ms: ms(h.quantile(0.99)) };
    }).filter((o) => o.count > 0),
    channels: channels.slice(0, TOP_CHANNELS),
    channelsShown: Math.min(TOP_CHANNELS, channels.length),
    pools: poolsView(hub.pools.stats()),
  };
}

/** The outbound pool's totals and, per origin, what an operator looks at. */
function poolsView(s: PoolsStats) {
  return {
    requests: s.requests,
    connectionsCreated: s.connectionsCreated,
    connectionsReused: s.connectionsReused,
    reuseRate: s.reuseRate,
    handshakeMsSaved: Math.round(s.handshakeMsSaved),
    connectErrors: s.connectErrors,
    origins: Object.entries(s.origins).map(([origin, o]) => ({
      origin, protocol: o.protocol, open: o.open, idle: o.idle, requests: o.requests, reuseRate: o.reuseRate,
      handshakeMs: Math.round(o.handshakeMs.mean * 100) / 100, connectErrors: o.connectErrors, closeReasons: o.closeReasons,
    })),
  };
}

export type HubOverview = ReturnType<typeof buildHubOverview>;
