import type { DataPlane } from "./data-plane.ts";
import type { UpstreamServer } from "./upstream.ts";

/**
 * Live gauges of one server: connections in use and pooled, open tunnels and the bytes
 * they moved so far, requests waiting in its backend's queue.
 *
 * @example
 * const g: ServerGauges = { active: 3, idle: 5, tunnels: 2, tunnelBytesIn: 1024, tunnelBytesOut: 4096, queue: 0 };
 */
export interface ServerGauges {
  active: number;
  idle: number;
  tunnels: number;
  tunnelBytesIn: number;
  tunnelBytesOut: number;
  queue: number;
}

/**
 * Open client connections on one listener (HTTP sessions plus tunnels), and since start
 * its TLS handshakes (resumed ones among them; failed ones), its client connections
 * by protocol (HTTP/1.1, HTTP/2) and the connections its `limits` refused.
 *
 * @example
 * const l: ListenerGauges = { connections: 12, tunnels: 3, tlsHandshakes: 40, tlsResumed: 31, tlsFailed: 1, http1: 25, h2: 15,
 *   refusedMaxConnections: 0, refusedPerClient: 2 };
 */
export interface ListenerGauges {
  connections: number;
  tunnels: number;
  tlsHandshakes: number;
  tlsResumed: number;
  tlsFailed: number;
  http1: number;
  h2: number;
  refusedMaxConnections: number;
  refusedPerClient: number;
}

/**
 * A listener's gauges at zero.
 *
 * @example
 * const l = zeroListener();
 */
export function zeroListener(): ListenerGauges {
  return { connections: 0, tunnels: 0, tlsHandshakes: 0, tlsResumed: 0, tlsFailed: 0, http1: 0, h2: 0, refusedMaxConnections: 0, refusedPerClient: 0 };
}

/**
 * The one read model of what is open right now, for the admin API, the dashboard and
 * `/metrics`: read from this process's data plane ({@link readGauges}), or summed from
 * the workers' snapshots by the primary (`workers/snapshot.ts`). The data plane keeps
 * no per-listener or per-server gauges of open connections (it would pay for them on
 * every connect and close), so they are counted here: O(connections) per read, at most
 * a few times a second, never per request.
 *
 * @example
 * const g = readGauges(plane);
 * g.servers.get(server)?.tunnels; // open tunnels on that server
 * g.listeners.get("web"); // { connections: 12, tunnels: 3, tlsHandshakes: 40, ... }
 */
export interface Gauges {
  readonly servers: Map<UpstreamServer, ServerGauges>;
  readonly listeners: Map<string, ListenerGauges>;
  /** Open HTTP sessions (client connections not upgraded). */
  sessions: number;
  tunnels: number;
}

/**
 * Counts what `plane` has open. Every tunnel knows its server and its listener.
 *
 * @example
 * readGauges(plane).listeners.get("web")?.connections;
 */
export function readGauges(plane: DataPlane): Gauges {
  const servers = new Map<UpstreamServer, ServerGauges>();
  for (const b of plane.backends.values()) {
    for (const s of b.servers) servers.set(s, { active: s.active, idle: s.idle.length, tunnels: 0, tunnelBytesIn: 0, tunnelBytesOut: 0, queue: b.queue.length });
  }
  const listeners = new Map<string, ListenerGauges>();
  for (const l of plane.config.listeners) {
    const g = zeroListener();
    const c = plane.listenerCounters(l.name);
    if (c !== undefined) {
      g.tlsHandshakes = c.handshakes;
      g.tlsResumed = c.resumed;
      g.tlsFailed = c.failed;
      g.http1 = c.h1;
      g.h2 = c.h2;
    }
    const limits = plane.listenerLimits(l.name);
    if (limits !== undefined) {
      g.refusedMaxConnections = limits.refusedListener;
      g.refusedPerClient = limits.refusedClient;
    }
    listeners.set(l.name, g);
  }
  for (const t of plane.tunnels) {
    const g = t.server === null ? undefined : servers.get(t.server);
    if (g !== undefined) {
      g.tunnels++;
      g.tunnelBytesIn += t.bytesIn;
      g.tunnelBytesOut += t.bytesOut;
    }
    const l = t.listener === null ? undefined : listeners.get(t.listener);
    if (l !== undefined) {
      l.connections++;
      l.tunnels++;
    }
  }
  for (const s of plane.sessions) {
    const l = listeners.get(s.listener);
    if (l !== undefined) l.connections++;
  }
  return { servers, listeners, sessions: plane.sessions.size, tunnels: plane.tunnels.size };
}
