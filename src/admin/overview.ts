import type { ControlPlane } from "../control/plane.ts";
import type { Backend } from "../gateway/backend.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import type { HealthState } from "../core/health/state.ts";
import { zeroListener, type Gauges } from "../gateway/gauges.ts";
import { responseTotals } from "../gateway/stats.ts";
import type { RateTracker } from "./rates.ts";

/**
 * The one JSON shape the admin API, the dashboard's SSE stream and `holdfast status`
 * share: the whole gateway at one instant, with rates computed server-side from the
 * last samples (so every viewer sees the same numbers and a page opened now already
 * has a minute of sparkline).
 *
 * @example
 * const o = buildOverview(gateway, rates);
 * o.backends[0].servers[0].state; // "up"
 */

/** One active health check result, newest last. */
export interface CheckView {
  readonly agoMs: number;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly reason: string;
}

/**
 * One server as the dashboard shows it.
 *
 * @example
 * const s: ServerOverview = overview.backends[0]!.servers[0]!;
 */
export interface ServerOverview {
  readonly name: string;
  readonly address: string;
  readonly backup: boolean;
  readonly state: HealthState;
  /** ms since the check verdict or the admin state last changed. */
  readonly stateForMs: number;
  /** True while passive outlier detection keeps it out. */
  readonly ejected: boolean;
  /** Effective weight (health agent, slow start, operator) and the configured one. */
  readonly weight: number;
  readonly configWeight: number;
  /** In-flight requests plus open tunnels. */
  readonly active: number;
  readonly tunnels: number;
  /** Pooled idle upstream connections. */
  readonly idle: number;
  readonly maxConn: number;
  readonly rps: number;
  readonly errorRate: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly rpsHistory: readonly number[];
  /** Exchanges finished since start (answered or failed) and the failed ones (5xx or no response). */
  readonly requests: number;
  readonly errors: number;
  readonly retries: number;
  readonly ejections: number;
  readonly admissionRejected: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connectionsCreated: number;
  readonly connectionsReused: number;
  readonly checks: readonly CheckView[];
}

/**
 * One backend and its servers; the backend's rates are the sums (req/s) or the
 * request-weighted means (error rate) of its servers'; percentiles are the worst server's.
 *
 * @example
 * const b: BackendOverview = overview.backends.find((x) => x.name === "api")!;
 */
export interface BackendOverview {
  readonly name: string;
  readonly balance: string;
  readonly healthCheck: string | null;
  readonly queue: number;
  readonly maxConn: number;
  readonly active: number;
  readonly tunnels: number;
  readonly rps: number;
  readonly errorRate: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly serversUp: number;
  readonly servers: readonly ServerOverview[];
}

/**
 * One listener with its open client connections.
 *
 * @example
 * overview.listeners[0]; // { name: "web", mode: "http", address: "0.0.0.0:8080", ... }
 */
export interface ListenerOverview {
  readonly name: string;
  readonly mode: "http" | "tcp";
  readonly address: string;
  readonly tls: boolean;
  /** What the listener speaks (`http1`, `h2`, `h2c`; empty for tcp). */
  readonly protocols: readonly string[];
  readonly backends: readonly string[];
  readonly connections: number;
  readonly tunnels: number;
  /** Since start: TLS handshakes, resumed ones among them, failed ones. */
  readonly tlsHandshakes: number;
  readonly tlsResumed: number;
  readonly tlsFailed: number;
  /** Since start: client connections by protocol. */
  readonly http1: number;
  readonly h2: number;
}

/**
 * The whole gateway at one instant.
 *
 * @example
 * const o: Overview = await (await fetch("http://127.0.0.1:9900/api/backends")).json();
 */
export interface Overview {
  /** Wall clock (ms since the epoch) of this snapshot. */
  readonly at: number;
  readonly startedAt: number;
  readonly uptimeSeconds: number;
  readonly pid: number;
  readonly totals: {
    readonly clientConnections: number;
    readonly tunnels: number;
    readonly rps: number;
    readonly requests: number;
    readonly errors: number;
    readonly servers: number;
    readonly serversUp: number;
    readonly admissionRejected: number;
    readonly reloads: number;
    readonly reloadFailures: number;
  };
  readonly listeners: readonly ListenerOverview[];
  readonly backends: readonly BackendOverview[];
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function serverOverview(control: ControlPlane, b: Backend, s: UpstreamServer, live: Gauges, rates: RateTracker, now: number): ServerOverview {
  const r = rates.view(s);
  const g = live.servers.get(s);
  const { total, errors } = responseTotals(s.stats);
  return {
    name: s.name,
    address: formatAddress(s.host, s.port),
    backup: s.backup,
    state: s.state(now),
    stateForMs: Math.max(0, Math.round(now - s.health.changedAt)),
    ejected: now < s.health.ejectedUntil,
    weight: Math.round(s.weight * 10) / 10,
    configWeight: s.configWeight,
    active: s.active,
    tunnels: g?.tunnels ?? 0,
    idle: g?.idle ?? 0,
    maxConn: s.maxConn,
    rps: r.rps,
    errorRate: r.errorRate,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    rpsHistory: r.history,
    requests: total,
    errors,
    retries: s.stats.retries,
    ejections: s.stats.ejections,
    admissionRejected: s.stats.admissionRejected,
    bytesIn: s.stats.bytesIn + (g?.tunnelBytesIn ?? 0),
    bytesOut: s.stats.bytesOut + (g?.tunnelBytesOut ?? 0),
    connectionsCreated: s.stats.connectionsCreated,
    connectionsReused: s.stats.connectionsReused,
    checks: control.health.history(b, s).map((c) => ({ agoMs: Math.max(0, Math.round(now - c.at)), ok: c.ok, latencyMs: Math.round(c.latencyMs * 10) / 10, reason: c.reason })),
  };
}

function backendOverview(control: ControlPlane, b: Backend, live: Gauges, rates: RateTracker, now: number): BackendOverview {
  const servers = b.servers.map((s) => serverOverview(control, b, s, live, rates, now));
  let rps = 0, active = 0, tunnels = 0, up = 0, errWeighted = 0, errWeight = 0;
  let p50: number | null = null, p99: number | null = null;
  for (const s of servers) {
    rps += s.rps;
    active += s.active;
    tunnels += s.tunnels;
    if (s.state === "up") up++;
    if (s.errorRate !== null) {
      // Weight each server's error rate by its recent traffic (at least 1, so a
      // server with finished exchanges but a zero req/s tick still counts).
      const w = Math.max(s.rps, 1);
      errWeighted += s.errorRate * w;
      errWeight += w;
    }
    if (s.p50Ms !== null) p50 = Math.max(p50 ?? 0, s.p50Ms);
    if (s.p99Ms !== null) p99 = Math.max(p99 ?? 0, s.p99Ms);
  }
  const h = b.config.health;
  return {
    name: b.name,
    balance: b.config.balance,
    healthCheck: h === undefined ? null : h.type === "http" ? `http ${h.method} ${h.path} every ${h.interval / 1000}s` : `tcp every ${h.interval / 1000}s`,
    queue: b.queue.length,
    maxConn: b.config.maxConn,
    active,
    tunnels,
    rps: Math.round(rps * 100) / 100,
    errorRate: errWeight > 0 ? errWeighted / errWeight : null,
    p50Ms: p50,
    p99Ms: p99,
    serversUp: up,
    servers,
  };
}

/**
 * Snapshot of the gateway for the API, the dashboard and the CLI.
 *
 * @example
 * res.end(JSON.stringify(buildOverview(control, rates)));
 */
export function buildOverview(control: ControlPlane, rates: RateTracker): Overview {
  const now = control.wheel.clock();
  const live = control.gauges();
  const backends = [...control.backends.values()].map((b) => backendOverview(control, b, live, rates, now));
  const listeners: ListenerOverview[] = control.config.listeners.map((l) => {
    let address = formatAddress(l.listen.host, l.listen.port);
    try {
      const a = control.address(l.name);
      address = formatAddress(a.address, a.port);
    } catch {
      // not bound: show the configured address
    }
    const tally = live.listeners.get(l.name);
    const targets = l.mode === "tcp" ? [...new Set(l.routes.map((r) => r.backend))] : [...new Set(l.routes.flatMap((r) => (r.split === undefined ? [r.backend] : r.split.map((x) => x.backend))))];
    const g = tally ?? zeroListener();
    return {
      name: l.name, mode: l.mode, address, tls: l.mode === "http" && l.tls !== undefined, protocols: l.mode === "http" ? l.protocols : [], backends: targets,
      connections: g.connections, tunnels: g.tunnels, tlsHandshakes: g.tlsHandshakes, tlsResumed: g.tlsResumed, tlsFailed: g.tlsFailed, http1: g.http1, h2: g.h2,
    };
  });
  let rps = 0, requests = 0, errors = 0, servers = 0, up = 0, rejected = 0;
  for (const b of backends) {
    rps += b.rps;
    up += b.serversUp;
    servers += b.servers.length;
    for (const s of b.servers) {
      requests += s.requests;
      errors += s.errors;
      rejected += s.admissionRejected;
    }
  }
  const c = control.counters;
  return {
    at: Date.now(),
    startedAt: c.startedAt,
    uptimeSeconds: Math.round((Date.now() - c.startedAt) / 1000),
    pid: process.pid,
    totals: {
      clientConnections: live.sessions + live.tunnels,
      tunnels: live.tunnels,
      rps: Math.round(rps * 100) / 100,
      requests,
      errors,
      servers,
      serversUp: up,
      // Admission counts per server; the process-wide counter covers anything else.
      // Refusals are counted per server (the process-wide counter holds the same ones).
      admissionRejected: rejected,
      reloads: c.reloads,
      reloadFailures: c.reloadFailures,
    },
    listeners,
    backends,
  };
}
