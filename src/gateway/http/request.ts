import { equalsLower } from "../../codec/http1/chars.ts";
import { findHeader, type Head } from "../../codec/http1/head.ts";
import type { AccessRecord } from "../access-log.ts";
import type { ResponseErrorCode } from "../../errors.ts";

/**
 * What an exchange needs to know about its request, read once from the parsed head:
 * the method class for metrics, whether it may be retried, whether it asks for a
 * protocol switch (and a WebSocket key, to refuse one with a close frame), and whether
 * the client's connection ends with it. One per exchange, refilled per request.
 *
 * @example
 * const facts = new RequestFacts();
 * classifyRequest(buf, REQUEST_HEAD, wantsWsKey, facts);
 * facts.websocket; // true for "Upgrade: websocket"
 */
export class RequestFacts {
  /** Method class (head.ts `METHOD_NAMES` index), for the per-server statistics. */
  method = 0;
  isHead = false;
  idempotent = false;
  /** 10 or 11. */
  version = 11;
  /** The request asks to switch protocols (`Upgrade` with `Connection: upgrade`). */
  upgrade = false;
  websocket = false;
  /** `Sec-WebSocket-Key`, read only when admission may have to refuse the upgrade. */
  wsKey: string | undefined = undefined;
  /** `Connection: close`, or HTTP/1.0 without keep-alive. */
  closeClient = false;
}

/**
 * Fills `facts` from the request head `req` parsed from `buf`.
 *
 * @example
 * classifyRequest(buf, REQUEST_HEAD, backend.config.admission !== undefined, facts);
 */
export function classifyRequest(buf: Buffer, req: Head, wantsWsKey: boolean, facts: RequestFacts): void {
  facts.method = req.method;
  facts.isHead = req.isHead;
  facts.idempotent = req.idempotent;
  facts.version = req.version;
  facts.upgrade = req.wantsUpgrade;
  facts.websocket = false;
  facts.wsKey = undefined;
  if (facts.upgrade) {
    const u = req.upgrade;
    facts.websocket = equalsLower(buf, req.spans[(u << 2) + 2]!, req.spans[(u << 2) + 3]!, "websocket");
    if (facts.websocket && wantsWsKey) {
      const k = findHeader(buf, req, "sec-websocket-key");
      if (k >= 0) facts.wsKey = buf.toString("latin1", req.spans[(k << 2) + 2]!, req.spans[(k << 2) + 3]!);
    }
  }
  facts.closeClient = req.connClose || (req.version === 10 && !req.connKeepAlive);
}

/**
 * The access-log record of a request, started from its head (the head's bytes are
 * gone by the time the exchange ends); the exchange fills in the rest.
 *
 * @example
 * const record = accessRecord(buf, REQUEST_HEAD, "10.0.0.7", "web", "api");
 */
export function accessRecord(buf: Buffer, req: Head, client: string, listener: string, backend: string): AccessRecord {
  const host = req.host >= 0 ? buf.toString("latin1", req.spans[(req.host << 2) + 2]!, req.spans[(req.host << 2) + 3]!) : "";
  return {
    client,
    listener,
    method: buf.toString("latin1", 0, req.methodEnd),
    host,
    path: buf.toString("latin1", req.targetStart, req.targetEnd),
    status: 0,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    backend,
    server: "",
    retries: 0,
    upstreamReused: false,
  };
}

/**
 * The access-log record of a request the session refused before any backend (a
 * malformed or too large head, a slow one, no route, an address not allowed): what the
 * head said when it could be read (`req` null otherwise), the status, the `HF_ERR_*`
 * code and the reason in words.
 *
 * @example
 * refusalRecord(null, null, "10.0.0.7", "web", "HF_ERR_BAD_REQUEST", 400, "obsolete header line folding is not allowed", 312, 133, 0);
 */
export function refusalRecord(
  buf: Buffer | null, req: Head | null, client: string, listener: string,
  code: ResponseErrorCode, status: number, reason: string, bytesIn: number, bytesOut: number, durationMs: number,
): AccessRecord {
  const r = buf !== null && req !== null
    ? accessRecord(buf, req, client, listener, "")
    : { client, listener, method: "", host: "", path: "", status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0, backend: "", server: "", retries: 0, upstreamReused: false };
  r.status = status;
  r.bytesIn = bytesIn;
  r.bytesOut = bytesOut;
  r.durationMs = durationMs;
  r.error = code;
  r.reason = reason;
  return r;
}
