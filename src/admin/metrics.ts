import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { Backend } from "../gateway/backend.ts";
import type { ControlPlane } from "../control/plane.ts";
import { ERROR_CODE_LIST, ERROR_CODES } from "../errors.ts";
import { LATENCY_BUCKETS, METHODS, STATUS_CLASSES } from "../gateway/stats.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import { BucketHistogram } from "./kit/histogram.ts";
import type { Gauges } from "../gateway/gauges.ts";

/**
 * `/metrics`: the gateway's counters in Prometheus text format, through prom-client
 * with a registry of our own. Every metric is a `collect()` callback that reads the live
 * objects at scrape time: the data plane only increments plain numbers and pays nothing
 * for metrics. Label sets are bounded by the config (backend, server, listener, method
 * class, status class, state): no per-client or per-path label. docs/metrics.md lists
 * every metric and maps the seed chapter's `lb_*` names onto them.
 *
 * @example
 * const metrics = createMetrics(gateway);
 * res.setHeader("content-type", metrics.contentType);
 * res.end(await metrics.text());
 */

/**
 * The metrics of one gateway.
 *
 * @example
 * const m: GatewayMetrics = createMetrics(control);
 * await m.text(); // "# HELP holdfast_requests_total ..."
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text. */
  text(): Promise<string>;
}

type Pair = readonly [Backend, UpstreamServer];

function pairs(control: ControlPlane): Pair[] {
  const out: Pair[] = [];
  for (const b of control.backends.values()) for (const s of b.servers) out.push([b, s]);
  return out;
}

let processRegistry: Registry | undefined;

/**
 * Node's process metrics (CPU, memory, event loop lag, GC, handles), prefixed
 * `holdfast_`. One registry per process: the collectors hook process-wide observers,
 * so a second gateway in the same process (tests) shares them instead of adding more.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: "holdfast_" });
  }
  return processRegistry;
}

/**
 * Registers every `holdfast_*` metric of `control` in a fresh registry (plus the shared
 * process metrics unless `processMetrics: false`).
 *
 * @example
 * const { registry } = createMetrics(control, { processMetrics: false });
 * await registry.getSingleMetricAsString("holdfast_server_state");
 */
export function createMetrics(control: ControlPlane, opts: { processMetrics?: boolean } = {}): GatewayMetrics {
  const own = new Registry();
  const registers = [own];

  // One walk over the open connections per scrape: prom-client calls every metric's
  // collect() synchronously in one pass, so the view is dropped at the next microtask.
  let cached: Gauges | undefined;
  const live = (): Gauges => {
    if (cached === undefined) {
      cached = control.gauges();
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };

  const serverLabels = ["backend", "server"] as const;
  const counter = (name: string, help: string, read: (s: UpstreamServer) => number): void => {
    new Counter({
      name, help, labelNames: serverLabels, registers,
      collect() {
        this.reset();
        for (const [b, s] of pairs(control)) this.inc({ backend: b.name, server: s.name }, read(s));
      },
    });
  };
  const gauge = (name: string, help: string, read: (s: UpstreamServer) => number): void => {
    new Gauge({
      name, help, labelNames: serverLabels, registers,
      collect() {
        this.reset();
        for (const [b, s] of pairs(control)) this.set({ backend: b.name, server: s.name }, read(s));
      },
    });
  };

  new Counter({
    name: "holdfast_requests_total",
    help: "HTTP exchanges finished, by backend, server, method class and status class (none = no response: refused, reset or timed out; 1xx = upgrades, counted when the tunnel closes)",
    labelNames: ["backend", "server", "method", "status"] as const,
    registers,
    collect() {
      this.reset();
      const n = STATUS_CLASSES.length;
      for (const [b, s] of pairs(control)) {
        const r = s.stats.responses;
        // Only cells that ever counted: 48 mostly-zero series per server would be noise.
        for (let i = 0; i < r.length; i++) {
          if (r[i]! > 0) this.inc({ backend: b.name, server: s.name, method: METHODS[(i / n) | 0]!, status: STATUS_CLASSES[i % n]! }, r[i]!);
        }
      }
    },
  });
  new BucketHistogram(own, {
    name: "holdfast_upstream_latency_seconds",
    help: "Time from sending a request to the server until its response head arrived, per backend and server",
    buckets: LATENCY_BUCKETS,
    collect: (emit) => {
      for (const [b, s] of pairs(control)) emit({ backend: b.name, server: s.name }, s.stats.latency, s.stats.latencySum);
    },
  });
  counter("holdfast_server_attempts_total", "Requests, upgrades and TCP connections sent to the server, retried attempts included", (s) => s.stats.requests);
  counter("holdfast_retries_total", "Attempts on this server that failed and were retried (on another server for a failed connect)", (s) => s.stats.retries);
  counter("holdfast_ejections_total", "Times passive outlier detection ejected the server", (s) => s.stats.ejections);
  counter("holdfast_tunnels_opened_total", "WebSocket/upgrade and TCP tunnels opened to the server", (s) => s.stats.tunnelsOpened);
  counter("holdfast_upstream_connections_created_total", "New TCP connections opened to the server", (s) => s.stats.connectionsCreated);
  counter("holdfast_upstream_connections_reused_total", "Requests sent on a pooled keep-alive connection instead of a new one", (s) => s.stats.connectionsReused);
  counter("holdfast_upstream_connect_failures_total", "Connections to the server that were refused, failed or timed out", (s) => s.stats.connectFailures);
  gauge("holdfast_upstream_connection_reuse_ratio", "Share of upstream connection uses that reused a pooled connection since start (prefer the rate of the two counters)", (s) => {
    const total = s.stats.connectionsCreated + s.stats.connectionsReused;
    return total === 0 ? 0 : s.stats.connectionsReused / total;
  });
  new Counter({
    name: "holdfast_bytes_total",
    help: "Bytes proxied, by backend and server; direction in = client to server, out = server to client (open tunnels included)",
    labelNames: ["backend", "server", "direction"] as const,
    registers,
    collect() {
      this.reset();
      const gauges = live().servers;
      for (const [b, s] of pairs(control)) {
        // An open tunnel's bytes move into stats when it closes: adding the live ones
        // keeps the sum monotonic and shows long-lived tunnels' traffic as it flows.
        const g = gauges.get(s);
        this.inc({ backend: b.name, server: s.name, direction: "in" }, s.stats.bytesIn + (g?.tunnelBytesIn ?? 0));
        this.inc({ backend: b.name, server: s.name, direction: "out" }, s.stats.bytesOut + (g?.tunnelBytesOut ?? 0));
      }
    },
  });
  gauge("holdfast_tunnels", "Open tunnels (WebSocket/upgrade and TCP) per server", (s) => live().servers.get(s)?.tunnels ?? 0);
  new Gauge({
    name: "holdfast_upstream_connections",
    help: "Upstream connections per server: in_use = in-flight requests and open tunnels, idle = pooled keep-alive connections",
    labelNames: ["backend", "server", "state"] as const,
    registers,
    collect() {
      this.reset();
      for (const [b, s] of pairs(control)) {
        this.set({ backend: b.name, server: s.name, state: "in_use" }, s.active);
        this.set({ backend: b.name, server: s.name, state: "idle" }, live().servers.get(s)?.idle ?? 0);
      }
    },
  });
  new Gauge({
    name: "holdfast_server_state",
    help: "1 for the server's current state (up, down, draining, maintenance), 0 for the others; an ejected server is down",
    labelNames: ["backend", "server", "state"] as const,
    registers,
    collect() {
      this.reset();
      const now = control.wheel.clock();
      for (const [b, s] of pairs(control)) {
        const st = s.state(now);
        for (const x of ["up", "down", "draining", "maintenance"] as const) this.set({ backend: b.name, server: s.name, state: x }, st === x ? 1 : 0);
      }
    },
  });
  gauge("holdfast_server_weight", "Effective weight (after health agent, slow start and operator changes)", (s) => s.weight);
  gauge("holdfast_server_configured_weight", "Weight from the config", (s) => s.configWeight);
  new Gauge({
    name: "holdfast_backend_queue_length",
    help: "Requests waiting for a server under maxConn",
    labelNames: ["backend"] as const,
    registers,
    collect() {
      this.reset();
      for (const b of control.backends.values()) this.set({ backend: b.name }, b.queue.length);
    },
  });
  new Gauge({
    name: "holdfast_client_connections",
    help: "Open client connections per listener (HTTP connections and tunnels)",
    labelNames: ["listener"] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, t] of live().listeners) this.set({ listener: name }, t.connections);
    },
  });
  new Counter({
    name: "holdfast_tls_handshakes_total",
    help: "TLS handshakes completed per listener; resumed=yes: a session ticket was used (no certificate signature)",
    labelNames: ["listener", "resumed"] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, l] of live().listeners) {
        if (l.tlsHandshakes === 0) continue;
        this.inc({ listener: name, resumed: "yes" }, l.tlsResumed);
        this.inc({ listener: name, resumed: "no" }, l.tlsHandshakes - l.tlsResumed);
      }
    },
  });
  new Counter({
    name: "holdfast_tls_handshake_failures_total",
    help: "TLS handshakes that failed per listener (version, ciphers, a client gone mid-handshake)",
    labelNames: ["listener"] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, l] of live().listeners) if (l.tlsFailed > 0) this.inc({ listener: name }, l.tlsFailed);
    },
  });
  new Counter({
    name: "holdfast_client_connections_total",
    help: "Client connections accepted per listener and protocol (http1, h2), after ALPN or the h2c preface",
    labelNames: ["listener", "protocol"] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, l] of live().listeners) {
        if (l.http1 > 0) this.inc({ listener: name, protocol: "http1" }, l.http1);
        if (l.h2 > 0) this.inc({ listener: name, protocol: "h2" }, l.h2);
      }
    },
  });
  new Counter({
    name: "holdfast_connections_refused_total",
    help: "Client connections a listener refused at accept by its limits (limit=maxConnections or maxConnectionsPerClient; per process, summed over workers)",
    labelNames: ["listener", "limit"] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, l] of live().listeners) {
        this.inc({ listener: name, limit: "maxConnections" }, l.refusedMaxConnections);
        this.inc({ listener: name, limit: "maxConnectionsPerClient" }, l.refusedPerClient);
      }
    },
  });
  counter("holdfast_admission_rejected_total", "New connections and upgrades refused by the server's admission control (HTTP 503, WebSocket 101 + 1013)", (s) => s.stats.admissionRejected);
  const c = control.counters;
  new Counter({
    name: "holdfast_errors_total",
    help: "Requests and connections the gateway ended itself, by HF_ERR_* code (docs/architecture.md#errors): answered with the code's status, or cut when a response had begun or nothing could be answered",
    labelNames: ["code"] as const,
    registers,
    collect() {
      this.reset();
      // Every code a client can get, zeros included: the label set is the error table.
      ERROR_CODE_LIST.forEach((code, i) => {
        if (ERROR_CODES[code].status !== undefined) this.inc({ code }, c.errors[i]!);
      });
    },
  });
  new Counter({ name: "holdfast_config_reloads_total", help: "Config reloads applied", registers, collect() { this.reset(); this.inc(c.reloads); } });
  new Counter({ name: "holdfast_config_reload_failures_total", help: "Config reloads refused (invalid config; the old one kept serving)", registers, collect() { this.reset(); this.inc(c.reloadFailures); } });
  new Counter({ name: "holdfast_sni_refused_total", help: "Connections a tcp listener refused: no route for their TLS server name (or not TLS, without a default route)", registers, collect() { this.reset(); this.inc(c.sniRefused); } });
  new Counter({ name: "holdfast_proxy_protocol_refused_total", help: "Connections refused for a missing or malformed PROXY header (proxyProtocol: accept)", registers, collect() { this.reset(); this.inc(c.proxyRefused); } });

  const registry = opts.processMetrics === false ? own : Registry.merge([own, processMetrics()]);
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
  };
}
