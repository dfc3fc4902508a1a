import type { ControlPlane } from "../control/plane.ts";
import type { DataPlane } from "../gateway/data-plane.ts";
import { readGauges, zeroListener, type Gauges, type ListenerGauges } from "../gateway/gauges.ts";
import type { ServerStats } from "../gateway/stats.ts";

/**
 * What a worker reports to the primary every second: its per-server counters and live
 * gauges, per-listener connection counts and process-wide counters. Plain JSON, summed
 * by the primary into its model gateway so the admin API, dashboard and `/metrics`
 * show one gateway however many workers serve it.
 *
 * @example
 * process.send({ t: "snapshot", data: takeSnapshot(gw) });
 * applySnapshots(model, [...latestByWorker.values()]);
 */
export interface ServerSnapshot {
  readonly stats: Record<string, number | number[]>;
  readonly active: number;
  readonly idle: number;
  readonly tunnels: number;
  readonly tunnelBytesIn: number;
  readonly tunnelBytesOut: number;
  readonly queue: number;
}

export interface Snapshot {
  /** `backend/server` → numbers. */
  readonly servers: Record<string, ServerSnapshot>;
  readonly listeners: Record<string, ListenerGauges>;
  readonly sessions: number;
  readonly tunnels: number;
  readonly admissionRejected: number;
  readonly sniRefused: number;
  readonly proxyRefused: number;
  /** Requests and connections ended with each `HF_ERR_*` code, indexed like `ERROR_CODE_LIST`. */
  readonly errors: number[];
}

const NUMERIC_STATS = [
  "connectionsCreated", "connectionsReused", "connectFailures", "requests", "retries", "ejections",
  "tunnelsOpened", "admissionRejected", "bytesIn", "bytesOut", "latencySum", "latencyCount",
] as const;

/** Reads a worker's live objects (control-plane cost, once a second). */
export function takeSnapshot(plane: DataPlane): Snapshot {
  const gauges = readGauges(plane);
  const listeners: Record<string, ListenerGauges> = {};
  for (const name of plane.listenerNames) listeners[name] = { ...(gauges.listeners.get(name) ?? zeroListener()) };
  const servers: Record<string, ServerSnapshot> = {};
  for (const b of plane.backends.values()) {
    for (const s of b.servers) {
      const st: Record<string, number | number[]> = {};
      for (const k of NUMERIC_STATS) st[k] = s.stats[k];
      st.responses = Array.from(s.stats.responses);
      st.latency = Array.from(s.stats.latency);
      const g = gauges.servers.get(s)!;
      servers[`${b.name}/${s.name}`] = { stats: st, ...g };
    }
  }
  const c = plane.counters;
  return { servers, listeners, sessions: gauges.sessions, tunnels: gauges.tunnels, admissionRejected: c.admissionRejected, sniRefused: c.sniRefused, proxyRefused: c.proxyRefused, errors: Array.from(c.errors) };
}

/**
 * Sums the workers' latest snapshots into the primary's control plane: its servers'
 * counters are overwritten with the sums, and `mirror` carries the live gauges.
 */
export function applySnapshots(model: ControlPlane, snaps: readonly Snapshot[]): void {
  const mirror: Gauges = { servers: new Map(), listeners: new Map(), sessions: 0, tunnels: 0 };
  let admission = 0, sni = 0, proxy = 0;
  const errors = model.counters.errors;
  errors.fill(0);
  for (const snap of snaps) {
    const e = snap.errors ?? [];
    for (let i = 0; i < e.length && i < errors.length; i++) errors[i]! += e[i]!;
    mirror.sessions += snap.sessions;
    mirror.tunnels += snap.tunnels;
    admission += snap.admissionRejected;
    sni += snap.sniRefused ?? 0;
    proxy += snap.proxyRefused ?? 0;
    for (const [name, l] of Object.entries(snap.listeners)) {
      const m = mirror.listeners.get(name) ?? zeroListener();
      for (const k of Object.keys(m) as (keyof ListenerGauges)[]) m[k] += l[k] ?? 0;
      mirror.listeners.set(name, m);
    }
  }
  model.counters.admissionRejected = admission;
  model.counters.sniRefused = sni;
  model.counters.proxyRefused = proxy;
  for (const b of model.backends.values()) {
    for (const s of b.servers) {
      const key = `${b.name}/${s.name}`;
      const sum = { active: 0, idle: 0, tunnels: 0, tunnelBytesIn: 0, tunnelBytesOut: 0, queue: 0 };
      const stats = s.stats;
      for (const k of NUMERIC_STATS) stats[k] = 0;
      stats.responses.fill(0);
      stats.latency.fill(0);
      for (const snap of snaps) {
        const x = snap.servers[key];
        if (x === undefined) continue;
        sum.active += x.active;
        sum.idle += x.idle;
        sum.tunnels += x.tunnels;
        sum.tunnelBytesIn += x.tunnelBytesIn;
        sum.tunnelBytesOut += x.tunnelBytesOut;
        sum.queue += x.queue;
        addStats(stats, x.stats);
      }
      s.active = sum.active;
      mirror.servers.set(s, sum);
    }
  }
  model.mirror = mirror;
}

function addStats(into: ServerStats, from: Record<string, number | number[]>): void {
  for (const k of NUMERIC_STATS) into[k] += (from[k] as number) ?? 0;
  const r = from.responses as number[] | undefined;
  if (r !== undefined) for (let i = 0; i < r.length && i < into.responses.length; i++) into.responses[i]! += r[i]!;
  const l = from.latency as number[] | undefined;
  if (l !== undefined) for (let i = 0; i < l.length && i < into.latency.length; i++) into.latency[i]! += l[i]!;
}
