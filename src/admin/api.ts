import type { IncomingMessage, ServerResponse } from "node:http";
import type { ControlPlane } from "../control/plane.ts";
import { MAX_WEIGHT } from "../core/health/state.ts";
import type { Logger } from "../log.ts";
import { guardAdmin } from "./guard.ts";
import { HttpError, readBody, sendError, sendJson, sendRaw } from "./kit/http.ts";
import type { Overview } from "./overview.ts";
import type { SseHub } from "./kit/sse.ts";

/**
 * The admin routes (DESIGN §5): read-only views for anyone who can reach the admin
 * port (it binds 127.0.0.1 by default), mutations behind `Authorization: Bearer
 * <admin.token>`; guard.ts refuses DNS-rebound and cross-site requests first. Every handler is cheap: views come from a snapshot the server caches
 * for a fraction of a second, bodies are capped at {@link MAX_BODY} bytes, and nothing
 * here blocks or walks more than the gateway's own objects.
 *
 * | route | answer |
 * |---|---|
 * | `GET /` | the dashboard |
 * | `GET /metrics` | Prometheus text |
 * | `GET /healthz` | `200 ok`, `503 stopping` |
 * | `GET /api/backends` | the overview (listeners, backends, servers, totals) |
 * | `GET /api/backends/{b}` | one backend |
 * | `POST /api/backends/{b}/servers/{s}/drain\|enable\|maintenance` | the server after the action |
 * | `PUT /api/backends/{b}/servers/{s}/weight` `{"weight": 0..256 \| null}` | the server after the change |
 * | `POST /api/reload` | the reload hook's result (501 without one) |
 * | `GET /api/events` | server-sent events: one overview per second |
 *
 * @example
 * server.on("request", (req, res) => void handleAdmin(ctx, req, res));
 */

/**
 * Largest request body accepted (the only bodies are `{"weight": n}`).
 *
 * @example
 * await readBody(req, MAX_BODY); // 413 beyond
 */
export const MAX_BODY = 4096;

/**
 * What a reload hook reports: applied, or refused with the reasons (the old config
 * keeps serving).
 *
 * @example
 * const r: ReloadResult = { ok: false, errors: ["backends.api.health.interval: expected a duration"] };
 */
export type ReloadResult = { readonly ok: true; readonly summary?: string } | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Re-reads and applies the config (the lifecycle's reload, wired in by the CLI).
 *
 * @example
 * startAdmin(control, { listen, token, reload: () => control.reload() });
 */
export type ReloadHook = () => Promise<ReloadResult>;

/**
 * What the routes need from the server around them.
 *
 * @example
 * const ctx: AdminContext = { control, auth: bearerAuth(token), ... };
 */
export interface AdminContext {
  readonly control: ControlPlane;
  /** Throws the HttpError to answer when the request may not mutate. */
  readonly auth: (header: string | undefined) => void;
  readonly reload: ReloadHook | undefined;
  readonly log: Logger | undefined;
  readonly page: string;
  readonly sse: SseHub;
  /** The current overview (cached briefly) and its JSON. */
  overview(): { readonly value: Overview; readonly json: string };
  /** Drops the cached overview (after a mutation, so the answer shows it). */
  invalidate(): void;
  metrics(): Promise<string>;
  readonly metricsContentType: string;
  stopping(): boolean;
  /** The admin binds loopback only: requests must name a local Host (see guard.ts). */
  readonly loopbackListen: boolean;
}

const ACTIONS = new Set(["drain", "enable", "maintenance"]);
const PAGE_HEADERS = {
  // The page is self-contained: nothing may load from elsewhere, and no other site
  // may frame it (its buttons mutate).
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/**
 * Answers one admin request; never throws (errors become JSON error bodies).
 *
 * @example
 * createServer((req, res) => void handleAdmin(ctx, req, res));
 */
export async function handleAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await route(ctx, req, res);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      if (err.status === 401 || err.status === 403) ctx.log?.warn({ path: req.url, remote: req.socket.remoteAddress, reason: err.message }, "admin request refused");
      sendError(res, err.status, err.message, err.headers);
      return;
    }
    ctx.log?.error({ err, path: req.url }, "admin request failed");
    sendError(res, 500, `internal error: ${(err as Error).message}`);
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function allow(method: string | undefined, allowed: string, path: string): void {
  if (method === allowed || (allowed === "GET" && method === "HEAD")) return;
  throw new HttpError(405, `${method} is not allowed on ${path}; use ${allowed}`, { allow: allowed });
}

function segments(path: string): string[] {
  try {
    return path.split("/").slice(1).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in ${path}`);
  }
}

async function route(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const m = req.method;
  const h = req.headers;
  const refusal = guardAdmin({ method: m ?? "", path, host: h.host, origin: h.origin, secFetchSite: one(h["sec-fetch-site"]) }, ctx.loopbackListen);
  if (refusal !== undefined) throw refusal;
  switch (path) {
    case "/":
    case "/index.html":
      allow(m, "GET", path);
      return sendRaw(res, 200, "text/html; charset=utf-8", ctx.page, PAGE_HEADERS);
    case "/metrics":
      allow(m, "GET", path);
      return sendRaw(res, 200, ctx.metricsContentType, await ctx.metrics());
    case "/healthz":
      allow(m, "GET", path);
      return ctx.stopping() ? sendRaw(res, 503, "text/plain; charset=utf-8", "stopping\n") : sendRaw(res, 200, "text/plain; charset=utf-8", "ok\n");
    case "/api/backends":
      allow(m, "GET", path);
      return sendJson(res, 200, ctx.overview().json);
    case "/api/events":
      allow(m, "GET", path);
      if (m === "HEAD") return sendRaw(res, 200, "text/event-stream; charset=utf-8", "");
      if (ctx.sse.full) throw new HttpError(503, "too many event streams open on the admin server; close a dashboard tab", { "retry-after": "5" });
      return ctx.sse.open(req, res, ctx.overview().json);
    case "/api/reload":
      allow(m, "POST", path);
      return reload(ctx, req, res);
  }
  const seg = segments(path);
  if (seg[0] === "api" && seg[1] === "backends" && seg.length >= 3) {
    const backend = seg[2]!;
    if (seg.length === 3) {
      allow(m, "GET", path);
      const b = ctx.overview().value.backends.find((x) => x.name === backend);
      if (b === undefined) throw unknownBackend(ctx, backend);
      return sendJson(res, 200, b);
    }
    if (seg.length === 6 && seg[3] === "servers") {
      const server = seg[4]!;
      const action = seg[5]!;
      if (ACTIONS.has(action)) {
        allow(m, "POST", path);
        ctx.auth(req.headers.authorization);
        return act(ctx, res, backend, server, action as "drain" | "enable" | "maintenance", undefined);
      }
      if (action === "weight") {
        allow(m, "PUT", path);
        ctx.auth(req.headers.authorization);
        const weight = parseWeight(await readBody(req, MAX_BODY));
        return act(ctx, res, backend, server, "weight", weight);
      }
    }
  }
  throw new HttpError(404, `no route ${m} ${path}; the admin API has GET /, /metrics, /healthz, /api/backends[/{backend}], /api/events, POST /api/backends/{backend}/servers/{server}/drain|enable|maintenance, PUT .../weight, POST /api/reload`);
}

function unknownBackend(ctx: AdminContext, name: string): HttpError {
  return new HttpError(404, `no backend named ${JSON.stringify(name)}; backends: ${[...ctx.control.backends.keys()].join(", ")}`);
}

/** `{"weight": n}` with n an integer in 0..256, or `{"weight": null}` (back to the configured weight). */
function parseWeight(body: string): number | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new HttpError(400, `body must be JSON like {"weight": 10}, got ${JSON.stringify(body.slice(0, 64))}`);
  }
  if (typeof v !== "object" || v === null || !("weight" in v)) throw new HttpError(400, `body must be JSON like {"weight": 10} (0..${MAX_WEIGHT}, or null for the configured weight)`);
  const w = (v as { weight: unknown }).weight;
  if (w === null) return undefined;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) {
    throw new HttpError(400, `weight must be an integer in 0..${MAX_WEIGHT} (or null for the configured weight), got ${JSON.stringify(w)}`);
  }
  return w;
}

function act(ctx: AdminContext, res: ServerResponse, backend: string, server: string, action: "drain" | "enable" | "maintenance" | "weight", weight: number | undefined): void {
  const b = ctx.control.backends.get(backend);
  if (b === undefined) throw unknownBackend(ctx, backend);
  if (!b.servers.some((s) => s.name === server)) {
    throw new HttpError(404, `backend ${JSON.stringify(backend)} has no server named ${JSON.stringify(server)}; servers: ${b.servers.map((s) => s.name).join(", ")}`);
  }
  // The admin server's subscription to holdfast:admin:action drops the cached overview.
  ctx.control.serverAction(backend, server, action, weight);
  const view = ctx.overview().value.backends.find((x) => x.name === backend)?.servers.find((s) => s.name === server);
  sendJson(res, 200, { backend, server: view });
}

async function reload(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  ctx.auth(req.headers.authorization);
  if (ctx.reload === undefined) {
    throw new HttpError(501, "reload is not available: this process was started without a reload hook; restart the gateway to apply a new config");
  }
  const r = await ctx.reload();
  ctx.invalidate();
  if (r.ok) return sendJson(res, 200, { ok: true, summary: r.summary ?? "config applied" });
  sendJson(res, 422, { error: `the new config was refused (the old one keeps serving): ${r.errors.join("; ")}`, errors: r.errors });
}
