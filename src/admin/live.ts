import type { Gateway } from "../gateway/gateway.ts";
import { STATUS_CLASSES, type ServerStats } from "../gateway/stats.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";

/**
 * Read-only views over the gateway's live objects, computed when a scrape or a
 * dashboard tick asks (control plane). The data plane keeps no per-listener or
 * per-server gauges of open connections (it would pay for them on every connect and
 * close), so these walk the open sessions and tunnels: O(connections) per call, at
 * most a few times a second (the admin server caches what it renders), never per
 * request.
 *
 * @example
 * const live = readLive(gateway);
 * live.tunnels.get(server)?.count; // open tunnels on that server
 * live.listeners.get("web"); // { connections: 12, tunnels: 3 }
 */

/**
 * Open tunnels on one server, with the bytes they moved so far.
 *
 * @example
 * const t: TunnelTally = readLive(gw).tunnels.get(server) ?? { count: 0, bytesIn: 0, bytesOut: 0 };
 */
export interface TunnelTally {
  count: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Open client connections on one listener (HTTP sessions plus tunnels).
 *
 * @example
 * readLive(gw).listeners.get("web"); // { connections: 12, tunnels: 3 }
 */
export interface ListenerTally {
  connections: number;
  tunnels: number;
}

/**
 * What {@link readLive} found.
 *
 * @example
 * const { tunnels, listeners, unattributedTunnels } = readLive(gw);
 */
export interface LiveView {
  readonly tunnels: Map<UpstreamServer, TunnelTally>;
  readonly listeners: Map<string, ListenerTally>;
  /** Tunnels whose upstream peer matched no configured server address (a hostname). */
  readonly unattributedTunnels: number;
}

const IPV4_MAPPED = "::ffff:";

function peerKey(host: string | undefined, port: number | undefined): string {
  if (host === undefined || port === undefined) return "";
  return `${host.startsWith(IPV4_MAPPED) ? host.slice(IPV4_MAPPED.length) : host}|${port}`;
}

/**
 * Attributes every open tunnel to its server and every open client connection to its
 * listener (a tunnel's listener by the local port of its client socket).
 *
 * A server configured by hostname cannot be matched by peer address; it is matched by
 * port when that port is unique among the configured servers, otherwise the tunnel is
 * counted in the totals only (`unattributedTunnels`).
 *
 * @example
 * readLive(gw).tunnels.get(gw.backends.get("ws")!.servers[0]!)?.count ?? 0;
 */
export function readLive(gw: Gateway): LiveView {
  const m = gw.mirror;
  if (m !== null) {
    // Workers serve: their reported sums (see src/workers/snapshot.ts).
    const tunnels = new Map<UpstreamServer, TunnelTally>();
    for (const [s, x] of m.servers) if (x.tunnels > 0) tunnels.set(s, { count: x.tunnels, bytesIn: x.tunnelBytesIn, bytesOut: x.tunnelBytesOut });
    const listeners = new Map<string, ListenerTally>();
    for (const l of gw.config.listeners) listeners.set(l.name, { ...(m.listeners.get(l.name) ?? { connections: 0, tunnels: 0 }) });
    return { tunnels, listeners, unattributedTunnels: 0 };
  }
  const byPeer = new Map<string, UpstreamServer>();
  const byPort = new Map<number, UpstreamServer | null>();
  for (const b of gw.backends.values()) {
    for (const s of b.servers) {
      byPeer.set(peerKey(s.host, s.port), s);
      byPort.set(s.port, byPort.has(s.port) ? null : s);
    }
  }
  const portToListener = new Map<number, string>();
  for (const l of gw.config.listeners) {
    try {
      portToListener.set(gw.address(l.name).port, l.name);
    } catch {
      // not bound (starting or stopped)
    }
  }
  const listeners = new Map<string, ListenerTally>();
  for (const l of gw.config.listeners) listeners.set(l.name, { connections: 0, tunnels: 0 });
  const tunnels = new Map<UpstreamServer, TunnelTally>();
  let unattributed = 0;
  for (const t of gw.tunnels) {
    const s = serverOf(t, byPeer, byPort);
    if (s === undefined) unattributed++;
    else {
      const tally = tunnels.get(s);
      if (tally === undefined) tunnels.set(s, { count: 1, bytesIn: t.bytesIn, bytesOut: t.bytesOut });
      else {
        tally.count++;
        tally.bytesIn += t.bytesIn;
        tally.bytesOut += t.bytesOut;
      }
    }
    const l = listeners.get(portToListener.get(t.client.localPort ?? -1) ?? "");
    if (l !== undefined) {
      l.connections++;
      l.tunnels++;
    }
  }
  for (const sess of gw.sessions) {
    const l = listeners.get(sess.listener);
    if (l !== undefined) l.connections++;
  }
  return { tunnels, listeners, unattributedTunnels: unattributed };
}

/** Pooled idle upstream connections of a server (summed over workers when they serve). */
export function idleCount(gw: Gateway, s: UpstreamServer): number {
  return gw.mirror?.servers.get(s)?.idle ?? s.idle.length;
}

/** Open client connections (HTTP sessions and tunnels) and tunnels, over all workers. */
export function connectionTotals(gw: Gateway): { connections: number; tunnels: number } {
  const m = gw.mirror;
  if (m !== null) return { connections: m.sessions + m.tunnels, tunnels: m.tunnels };
  return { connections: gw.sessions.size + gw.tunnels.size, tunnels: gw.tunnels.size };
}

/** A tunnel's server: its own reference, else (a tunnel made without one) by peer address. */
function serverOf(t: Tunnel, byPeer: Map<string, UpstreamServer>, byPort: Map<number, UpstreamServer | null>): UpstreamServer | undefined {
  if (t.server !== null) return t.server;
  const up = t.upstream;
  const s = byPeer.get(peerKey(up.remoteAddress, up.remotePort)) ?? (up.remotePort === undefined ? undefined : byPort.get(up.remotePort));
  return s ?? undefined;
}

const NONE = 0;
const CLASS_5XX = STATUS_CLASSES.indexOf("5xx");

/**
 * Finished exchanges recorded for a server, and how many of them failed (a 5xx, or no
 * response at all: connection refused, reset, timed out).
 *
 * @example
 * const { total, errors } = responseTotals(server.stats);
 */
export function responseTotals(stats: ServerStats): { total: number; errors: number } {
  const r = stats.responses;
  const n = STATUS_CLASSES.length;
  let total = 0;
  let errors = 0;
  for (let i = 0; i < r.length; i++) {
    const v = r[i]!;
    total += v;
    const cls = i % n;
    if (cls === NONE || cls === CLASS_5XX) errors += v;
  }
  return { total, errors };
}
