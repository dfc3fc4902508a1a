/**
 * The hub's admin server on `admin.listen`:
 * - `GET /` the dashboard, `GET /api/overview` its JSON, `GET /api/events` the same
 *   once a second over SSE (one serialization per tick for every open stream);
 * - `GET /metrics` (Prometheus, `holdfast_hub_*`) and `GET /healthz` (503 while
 *   stopping or while the broker is down).
 *
 * The overview names channels, so with `admin.token` set it needs
 * `Authorization: Bearer <token>` or `?token=` (what an EventSource can send);
 * `/metrics` and `/healthz` carry no channel names and stay open for scrapers and
 * load balancers.
 *
 * @example
 * const admin = await startHubAdmin(hub, hub.config.admin);
 * admin.setStopping();
 * await admin.close();
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Address } from "../../config/types.ts";
import { listenOn, sendError, sendJson, sendRaw, urlOf } from "../../admin/kit/http.ts";
import { SseHub } from "../../admin/kit/sse.ts";
import type { Hub } from "../hub.ts";
import { health } from "../server/http.ts";
import { hubMetrics } from "./metrics.ts";
import { buildHubOverview, HubSampler } from "./overview.ts";
import { HUB_DASHBOARD_HTML } from "./page.ts";

/** A running hub admin server. */
export interface HubAdmin {
  readonly url: string;
  /** Nothing to do beyond the node's own state today; kept for symmetry with the gateway's. */
  setStopping(): void;
  close(): Promise<void>;
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * Binds the admin server.
 *
 * @example
 * const admin = await startHubAdmin(hub, { listen: { host: "127.0.0.1", port: 9901 }, token: undefined });
 */
export async function startHubAdmin(hub: Hub, opts: { listen: Address; token: string | undefined; tickMs?: number }): Promise<HubAdmin> {
  const metrics = hubMetrics(hub);
  const sampler = new HubSampler(hub);
  const sse = new SseHub(32);
  const expected = opts.token === undefined ? undefined : digest(opts.token);
  let cached: { at: number; json: string } | undefined;
  const overview = (): string => {
    const now = performance.now();
    if (cached === undefined || now - cached.at > 200) cached = { at: now, json: JSON.stringify(buildHubOverview(hub, sampler)) };
    return cached.json;
  };
  const allowed = (req: IncomingMessage, url: URL): boolean => {
    if (expected === undefined) return true;
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? "");
    const given = m?.[1] ?? url.searchParams.get("token");
    return given !== null && given !== undefined && timingSafeEqual(digest(given), expected);
  };
  sampler.sample();
  const timer = setInterval(() => {
    sampler.sample();
    if (sse.size > 0) {
      cached = undefined;
      sse.broadcast(overview());
    }
  }, opts.tickMs ?? 1000);
  timer.unref();

  const server: Server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192 }, (req, res) => {
    const url = new URL(req.url ?? "/", "http://admin");
    if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, 405, "the hub's admin server is read-only: GET", { allow: "GET" });
    switch (url.pathname) {
      case "/healthz": {
        const [status, body] = health(hub.node);
        return sendJson(res, status, body);
      }
      case "/metrics":
        metrics.text().then(
          (text) => sendRaw(res, 200, metrics.contentType, text),
          () => sendError(res, 500, "metrics failed"),
        );
        return;
      case "/":
        return sendRaw(res, 200, "text/html; charset=utf-8", HUB_DASHBOARD_HTML, { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:" });
      case "/api/overview":
      case "/api/events":
        if (!allowed(req, url)) return sendError(res, 401, "this admin server needs admin.token: Authorization: Bearer <token> or ?token=", { "www-authenticate": 'Bearer realm="holdfast hub admin"' });
        if (url.pathname === "/api/overview") return sendJson(res, 200, overview());
        if (sse.full) return sendError(res, 503, "too many open event streams");
        return sse.open(req, res, overview());
      default:
        return sendError(res, 404, "not found: /, /api/overview, /api/events, /metrics, /healthz");
    }
  });
  server.maxConnections = 256;
  try {
    await listenOn(server, opts.listen);
  } catch (err) {
    clearInterval(timer);
    throw err;
  }
  return {
    url: urlOf(server.address() as AddressInfo),
    setStopping() {},
    close: () => {
      clearInterval(timer);
      sse.closeAll();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
