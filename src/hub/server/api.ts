/**
 * The server API (DESIGN §6): what the application's backend calls, behind
 * `Authorization: Bearer <api.token>` (compared in constant time).
 *
 * - `POST /api/publish` `{"channel","data","idempotencyKey"?}` → `200 {"offset","epoch"}`
 *   (`200 {}` on a channel without history) once stored; `503` when the broker cannot
 *   store it (never `200` for a publication that was not stored). The same key within
 *   5 minutes is applied once and answers the first result.
 * - `POST /api/presence` `{"channel"}` → `200 {"channel","clients":[{client,user,info?}]}`.
 * - `POST /api/history` `{"channel","since"?:{offset,epoch},"limit"?}` →
 *   `200 {"channel","offset","epoch","publications":[...]}`.
 *
 * Errors are `{"error": "..."}` with 400 (bad body, bad channel), 401/403 (token),
 * 404 (no such route), 413 (body over `limits.maxMessageBytes`), 503 (broker down).
 *
 * @example
 * // curl -s -H "Authorization: Bearer $HUB_API_TOKEN" -d '{"channel":"news","data":{"title":"hi"}}' http://127.0.0.1:7000/api/publish
 * // {"offset":17,"epoch":"xYz..."}
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, readBody, sendJson } from "../../admin/kit/http.ts";
import { BrokerUnavailableError } from "../broker/types.ts";
import { checkChannelName } from "../core/rules.ts";
import { MAX_IDEMPOTENCY_KEY } from "./commands.ts";
import type { HubNode } from "./node.ts";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * Checks the API bearer token (both sides hashed first, so neither the content nor the
 * length leaks through timing); throws the HttpError to answer.
 *
 * @example
 * const check = apiAuth(config.api.token);
 * check(req.headers.authorization);
 */
export function apiAuth(token: string | undefined): (header: string | undefined) => void {
  const expected = token === undefined ? undefined : digest(token);
  const challenge = { "www-authenticate": 'Bearer realm="holdfast hub api"' };
  return (header) => {
    if (expected === undefined) throw new HttpError(403, "the server API is disabled: set api.token in the hub config");
    const m = /^Bearer +(\S+) *$/i.exec(header ?? "");
    if (m === null) throw new HttpError(401, "missing or malformed Authorization header: send Authorization: Bearer <api.token>", challenge);
    if (!timingSafeEqual(digest(m[1]!), expected)) throw new HttpError(401, "invalid token: it does not match api.token", challenge);
  };
}

type Body = Record<string, unknown>;

function channelOf(node: HubNode, body: Body) {
  const channel = body.channel;
  if (typeof channel !== "string") throw new HttpError(400, "channel is required (a string)");
  const bad = checkChannelName(channel);
  if (bad !== null) throw new HttpError(400, bad);
  const rule = node.rule(channel);
  if (rule === undefined) throw new HttpError(400, `no channel rule matches ${JSON.stringify(channel)}`);
  return { channel, rule };
}

async function publish(node: HubNode, body: Body): Promise<object> {
  const { channel, rule } = channelOf(node, body);
  if (!("data" in body)) throw new HttpError(400, "data is required (any JSON value)");
  const key = body.idempotencyKey;
  if (key !== undefined && (typeof key !== "string" || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY)) {
    throw new HttpError(400, `idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY} characters`);
  }
  const r = await node.publish(channel, rule, JSON.stringify(body.data), undefined, key);
  return r.offset === undefined ? {} : { offset: r.offset, epoch: r.epoch };
}

async function presence(node: HubNode, body: Body): Promise<object> {
  const { channel, rule } = channelOf(node, body);
  if (!rule.presence) throw new HttpError(400, `channel ${JSON.stringify(channel)} has no presence (rule ${JSON.stringify(rule.match)})`);
  return { channel, clients: await node.broker.presence(channel) };
}

async function history(node: HubNode, body: Body): Promise<object> {
  const { channel, rule } = channelOf(node, body);
  const h = rule.history;
  if (h === null) throw new HttpError(400, `channel ${JSON.stringify(channel)} keeps no history (rule ${JSON.stringify(rule.match)})`);
  const since = body.since as { offset?: unknown; epoch?: unknown } | undefined;
  if (since !== undefined && (since === null || typeof since !== "object" || !Number.isSafeInteger(since.offset) || (since.offset as number) < 0 || typeof since.epoch !== "string")) {
    throw new HttpError(400, "since must be {offset: integer >= 0, epoch: string}");
  }
  const limit = body.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 0)) throw new HttpError(400, "limit must be an integer >= 0");
  const r = await node.broker.history(channel, { since: since?.offset as number | undefined, limit: Math.min((limit as number | undefined) ?? h.size, h.size), history: h });
  const publications = since !== undefined && since.epoch !== r.position.epoch ? [] : r.publications.map((p) => ({ ...p, data: JSON.parse(p.data) as unknown }));
  return { channel, offset: r.position.offset, epoch: r.position.epoch, publications };
}

const ROUTES: Readonly<Record<string, (node: HubNode, body: Body) => Promise<object>>> = {
  "/api/publish": publish,
  "/api/presence": presence,
  "/api/history": history,
};

/**
 * Serves one `/api/*` request; every answer is JSON.
 *
 * @example
 * if (path.startsWith("/api/")) return handleApi(node, auth, req, res, path);
 */
export async function handleApi(node: HubNode, auth: (header: string | undefined) => void, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const route = ROUTES[path];
  const answer = (status: number, value: object, headers: Record<string, string> = {}) => {
    node.stats.apiRequest(route === undefined ? "other" : path, status);
    sendJson(res, status, value, headers);
  };
  try {
    if (route === undefined) throw new HttpError(404, `no API route ${path}: POST /api/publish, /api/presence or /api/history`);
    if (req.method !== "POST") throw new HttpError(405, `${path} takes POST`, { allow: "POST" });
    auth(req.headers.authorization);
    const text = await readBody(req, node.config.limits.maxMessageBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new HttpError(400, `the body is not JSON: ${(e as Error).message}`);
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "the body must be a JSON object");
    answer(200, await route(node, body as Body));
  } catch (e) {
    if (!res.headersSent) req.resume();
    if (e instanceof HttpError) return answer(e.status, { error: e.message }, { ...e.headers });
    if (e instanceof BrokerUnavailableError) return answer(503, { error: `the broker is unavailable: ${e.message}; nothing was stored, retry later` }, { "retry-after": "1" });
    node.log.error({ err: e, path }, "api request failed");
    answer(500, { error: "internal error" });
  }
}
