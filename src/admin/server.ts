import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isLoopbackHost } from "../config/address.ts";
import type { Address } from "../config/types.ts";
import { Gateway } from "../control/gateway.ts";
import type { ControlPlane } from "../control/plane.ts";
import { events, on } from "../gateway/diagnostics.ts";
import type { Logger } from "../log.ts";
import { handleAdmin, type AdminContext, type ReloadHook } from "./api.ts";
import { DASHBOARD_HTML } from "./dashboard/index.ts";
import { bearerAuth, listenOn, urlOf } from "./kit/http.ts";
import { createMetrics } from "./metrics.ts";
import { buildOverview, type Overview } from "./overview.ts";
import { RateTracker } from "./rates.ts";
import { SseHub } from "./kit/sse.ts";

/**
 * The admin server on `admin.listen`: dashboard, `/metrics`, `/healthz` and the JSON
 * API (see api.ts for the routes). It is the control plane: it only reads the
 * gateway's live objects and calls `gateway.serverAction`.
 *
 * It shares the event loop with the data plane in a single-process gateway (with
 * `workers > 1` it runs in the primary, away from the data plane), so a flood of admin
 * requests must stay cheap:
 * - the overview and the metrics text are rendered at most once per {@link CACHE_MS}
 *   whatever the request rate; a mutation invalidates the overview at once;
 * - rates are sampled once per tick, O(servers); the SSE payload is serialized once per
 *   tick for every open stream; streams are capped and slow readers dropped;
 * - bodies are capped at 4 KiB, headers at 8 KiB, connections at {@link MAX_CONNECTIONS},
 *   and slow or idle clients time out.
 *
 * @example
 * const admin = await startAdmin(control, { listen: { host: "127.0.0.1", port: 9900 }, token: process.env.HOLDFAST_ADMIN_TOKEN });
 * console.log(`dashboard: ${admin.url}`);
 * admin.setStopping(); // /healthz answers 503 from now on
 * await admin.close();
 */

/**
 * How long a rendered overview or metrics text is served again (ms): at most five
 * renders a second whatever the request rate.
 *
 * @example
 * await sleep(CACHE_MS + 10); // the next GET /metrics renders afresh
 */
export const CACHE_MS = 200;

/**
 * Concurrent admin connections; beyond, node:http closes new ones at once.
 *
 * @example
 * server.maxConnections = MAX_CONNECTIONS;
 */
export const MAX_CONNECTIONS = 256;

/**
 * Concurrent `/api/events` streams; one more answers 503.
 *
 * @example
 * new SseHub(MAX_STREAMS);
 */
export const MAX_STREAMS = 32;

/**
 * Options of {@link startAdmin}.
 *
 * @example
 * const opts: AdminOptions = { ...config.admin, reload: () => lifecycle.reload() };
 */
export interface AdminOptions {
  readonly listen: Address;
  /** Bearer token for mutations; without one every mutation answers 403. */
  readonly token: string | undefined;
  /** `POST /api/reload` calls it; without one the route answers 501. */
  readonly reload?: ReloadHook;
  /** Sampling and SSE period (ms), default 1000. */
  readonly tickMs?: number;
}

/**
 * A running admin server.
 *
 * @example
 * const { url, address } = await startAdmin(control, opts);
 */
export interface AdminServer {
  readonly address: AddressInfo;
  /** `http://host:port` to open the dashboard (a wildcard bind shows as loopback). */
  readonly url: string;
  /** `/healthz` answers 503 from now on (graceful stop: load balancers stop sending). */
  setStopping(): void;
  close(): Promise<void>;
}

/**
 * Binds the admin server; rejects when the address cannot be bound.
 *
 * @example
 * const admin = await startAdmin(gateway, gateway.config.admin, log);
 */
export async function startAdmin(source: Gateway | ControlPlane, opts: AdminOptions, log?: Logger): Promise<AdminServer> {
  const control = source instanceof Gateway ? source.control : source;
  const tickMs = opts.tickMs ?? 1000;
  const rates = new RateTracker();
  const sse = new SseHub(MAX_STREAMS);
  const metrics = createMetrics(control);
  let stopping = false;
  let cached: { at: number; value: Overview; json: string } | undefined;
  let metricsCache: { at: number; text: Promise<string> } | undefined;

  const overview = (): { value: Overview; json: string } => {
    const now = performance.now();
    if (cached === undefined || now - cached.at > CACHE_MS) {
      const value = buildOverview(control, rates);
      cached = { at: now, value, json: JSON.stringify(value) };
    }
    return cached;
  };
  const ctx: AdminContext = {
    control,
    auth: bearerAuth(opts.token),
    reload: opts.reload,
    log,
    page: DASHBOARD_HTML,
    sse,
    overview,
    invalidate: () => (cached = undefined),
    metrics: () => {
      const now = performance.now();
      if (metricsCache === undefined || now - metricsCache.at > CACHE_MS) metricsCache = { at: now, text: metrics.text() };
      return metricsCache.text;
    },
    metricsContentType: metrics.contentType,
    // The gateway's own graceful stop also turns /healthz to 503.
    stopping: () => stopping || control.stopping,
    loopbackListen: isLoopbackHost(opts.listen.host),
  };

  const servers = () => [...control.backends.values()].flatMap((b) => b.servers);
  rates.sample(servers(), control.wheel.clock());
  const timer = setInterval(() => {
    rates.sample(servers(), control.wheel.clock());
    if (sse.size > 0) {
      cached = undefined;
      sse.broadcast(overview().json);
    }
  }, tickMs);
  timer.unref();
  // What changes a server's state drops the cached overview at once, so the next read
  // (an API call, the next tick of the dashboards) shows it.
  const changed = () => {
    cached = undefined;
  };
  const ours = (b: { readonly name: string }) => control.backends.get(b.name) === b;
  const unsubscribe = [
    on(events.adminAction, (m) => m.control === control && changed()),
    on(events.reload, (m) => m.control === control && changed()),
    on(events.serverState, (m) => ours(m.backend) && changed()),
    on(events.serverEjected, (m) => ours(m.backend) && changed()),
  ];
  const stopEvents = () => {
    for (const off of unsubscribe) off();
  };

  const server: Server = createServer(
    { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192 },
    (req, res) => void handleAdmin(ctx, req, res),
  );
  server.maxConnections = MAX_CONNECTIONS;
  try {
    await listenOn(server, opts.listen);
  } catch (err) {
    clearInterval(timer);
    stopEvents();
    throw err;
  }
  server.on("error", (err) => log?.error({ err }, "admin server error"));
  const address = server.address() as AddressInfo;
  const url = urlOf(address);
  log?.info({ url }, "admin listening");
  return {
    address,
    url,
    setStopping: () => {
      stopping = true;
    },
    close: () => {
      clearInterval(timer);
      stopEvents();
      sse.closeAll();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
