import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Small HTTP helpers of the admin server: JSON answers, `{ "error": "..." }` bodies,
 * a capped body reader and the bearer-token check.
 *
 * @example
 * sendError(res, 404, "no backend named \"api\"");
 * const body = await readBody(req, 4096); // rejects with an HttpError(413) beyond
 */

/** An error that maps to an HTTP status and a `{ "error": message }` body. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @example
   * throw new HttpError(400, "weight must be an integer in 0..256, got 300");
   */
  constructor(status: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

const NO_STORE = "no-store";

/**
 * Writes `value` as a JSON answer (never cached: it is live state).
 *
 * @example
 * sendJson(res, 200, { ok: true });
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendRaw(res, status, "application/json; charset=utf-8", typeof value === "string" ? value : JSON.stringify(value), headers);
}

/**
 * Writes `{ "error": message }` with `status`.
 *
 * @example
 * sendError(res, 401, "missing Authorization header: send Authorization: Bearer <admin.token>");
 */
export function sendError(res: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(res, status, { error: message }, headers);
}

/**
 * Writes a complete answer with a body and a Content-Length.
 *
 * @example
 * sendRaw(res, 200, "text/plain; charset=utf-8", "ok\n");
 */
export function sendRaw(res: ServerResponse, status: number, type: string, body: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    "cache-control": NO_STORE,
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(body);
}

/**
 * Reads a request body of at most `limit` bytes. A declared or actual larger body
 * rejects with a 413 and stops reading (the admin server never buffers more).
 *
 * @example
 * const text = await readBody(req, 4096);
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) return Promise.reject(new HttpError(413, `body too large: at most ${limit} bytes`, { connection: "close" }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.pause();
        reject(new HttpError(413, `body too large: at most ${limit} bytes`, { connection: "close" }));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Checks `Authorization: Bearer <token>` against the configured admin token, in
 * constant time (both sides are hashed first, so neither the content nor the length of
 * the token leaks through timing). Throws the HttpError to answer when refused:
 * 403 when no token is configured (mutations are off), 401 otherwise, with a body that
 * says what is wrong.
 *
 * @example
 * const auth = bearerAuth(config.admin.token);
 * auth(req.headers.authorization); // throws HttpError(401, "...") or returns
 */
export function bearerAuth(token: string | undefined): (header: string | undefined) => void {
  const expected = token === undefined || token === "" ? undefined : digest(token);
  const challenge = { "www-authenticate": 'Bearer realm="holdfast admin"' };
  return (header) => {
    if (expected === undefined) {
      throw new HttpError(403, "mutations are disabled: no admin token is configured; set admin.token in the config (e.g. token: ${HOLDFAST_ADMIN_TOKEN}) and restart");
    }
    if (header === undefined || header === "") {
      throw new HttpError(401, "missing Authorization header: send Authorization: Bearer <admin.token>", challenge);
    }
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) throw new HttpError(401, "malformed Authorization header: expected Bearer <admin.token>", challenge);
    if (!timingSafeEqual(digest(m[1]!), expected)) {
      throw new HttpError(401, "invalid token: it does not match admin.token", { "www-authenticate": 'Bearer realm="holdfast admin", error="invalid_token"' });
    }
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * Binds `server` to `at`; rejects with the bind error (address in use, permission).
 *
 * @example
 * await listenOn(server, { host: "127.0.0.1", port: 9900 });
 */
export function listenOn(server: Server, at: { readonly host: string; readonly port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * `http://host:port` for a bound address (a wildcard shows as loopback, IPv6 in brackets).
 *
 * @example
 * urlOf({ address: "0.0.0.0", port: 7000, family: "IPv4" }); // "http://127.0.0.1:7000"
 */
export function urlOf(a: AddressInfo): string {
  const host = a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "::1" : a.address;
  return `http://${host.includes(":") ? `[${host}]` : host}:${a.port}`;
}
