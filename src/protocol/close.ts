/**
 * WebSocket close codes and the `retry-after=<ms>` close reason, shared by the gateway
 * (which injects closes into tunnels), the hub (which closes its own connections) and
 * the client SDK (which obeys them). Pure: no `node:*`, no `Buffer`; runs in a browser.
 *
 * What a code asks of a client (DESIGN §6):
 * - `1012` / `1013` (and `1001` from a stopping gateway) with `retry-after=<ms>`:
 *   reconnect after that hint plus jitter, without resetting the backoff;
 * - `4000`–`4499`: reconnect after the usual backoff;
 * - `4500`–`4999`: do not reconnect (bad token, forbidden); the reason says why;
 * - anything else (a dropped connection, `1006`, `1011`, …): reconnect after backoff.
 *
 * @example
 * closeAdvice(1012, retryAfterReason(2_500)); // { action: "hint", retryAfterMs: 2500 }
 * closeAdvice(4501, "forbidden");            // { action: "stop", retryAfterMs: null }
 */

/** The close codes holdfast sends (RFC 6455 §7.4.1, the IANA registry, and the hub's own). */
export const CloseCode = {
  /** A normal close, asked for by the application. */
  NORMAL: 1000,
  /** The gateway (or hub) is stopping. */
  GOING_AWAY: 1001,
  /** A frame larger than the limit (the hub's `maxMessageBytes`). */
  MESSAGE_TOO_BIG: 1009,
  /** The server is drained, removed, rebalanced or restarting: reconnect (elsewhere). */
  SERVICE_RESTART: 1012,
  /** Refused for now (admission, a full send queue, a node at its connection limit). */
  TRY_AGAIN_LATER: 1013,

  /** Hub: the client broke the protocol (a bad handshake, no `connect` in time). Reconnect after backoff. */
  PROTOCOL_ERROR: 4000,
  /** Hub: no pong within `ping.timeout`. Reconnect after backoff. */
  PING_TIMEOUT: 4001,
  /** Hub: the token expired and was not refreshed in time. Reconnect with a fresh token. */
  TOKEN_EXPIRED: 4002,
  /** Hub: a subscription could not be kept consistent (unrepairable gap). Reconnect and resubscribe. */
  INSUFFICIENT_STATE: 4003,

  /** Hub: the token is invalid (bad signature, wrong issuer, malformed). Do not reconnect. */
  UNAUTHORIZED: 4500,
  /** Hub: the client may not connect at all (origin, anonymous refused). Do not reconnect. */
  FORBIDDEN: 4501,
  /** Hub: the client speaks an unsupported protocol version. Do not reconnect. */
  UNSUPPORTED_PROTOCOL: 4502,
} as const;

/** What a client should do after a close. */
export interface CloseAdvice {
  /** `hint`: wait `retryAfterMs` (plus jitter); `backoff`: the usual backoff; `stop`: give up. */
  readonly action: "hint" | "backoff" | "stop";
  /** The hint from a `retry-after=<ms>` reason, else null. */
  readonly retryAfterMs: number | null;
}

/**
 * What a client should do after a close with this code and reason. A `retry-after`
 * hint is obeyed on any reconnecting code (`1001`, `1012`, `1013`, `4000`–`4499`), and a
 * stop code wins over a hint.
 *
 * @example
 * closeAdvice(1013, "retry-after=900"); // { action: "hint", retryAfterMs: 900 }
 * closeAdvice(1006, "");                // { action: "backoff", retryAfterMs: null }
 */
export function closeAdvice(code: number, reason: string): CloseAdvice {
  if (isTerminalCloseCode(code)) return { action: "stop", retryAfterMs: null };
  const hint = parseRetryAfter(reason);
  return hint === null ? { action: "backoff", retryAfterMs: null } : { action: "hint", retryAfterMs: hint };
}

/**
 * True for the codes that mean "do not reconnect": 4500–4999.
 *
 * @example
 * isTerminalCloseCode(4500); // true
 */
export function isTerminalCloseCode(code: number): boolean {
  return code >= 4500 && code <= 4999;
}

/**
 * The reason string of a close that asks the client to come back later:
 * `retry-after=<ms>`, ms rounded up to an integer.
 *
 * @example
 * retryAfterReason(1234.5); // "retry-after=1235"
 */
export function retryAfterReason(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`retry-after must be a finite, non-negative number of ms, got ${ms}`);
  return `retry-after=${Math.ceil(ms)}`;
}

const RETRY_AFTER = /^retry-after=(\d{1,15})(?:[;\s]|$)/;

/**
 * The delay in a `retry-after=<ms>` close reason (anything after `;` or a space is
 * ignored), or null when the reason has none.
 *
 * @example
 * parseRetryAfter("retry-after=2500"); // 2500
 * parseRetryAfter("retry-after=2500; drained"); // 2500
 * parseRetryAfter("bye"); // null
 */
export function parseRetryAfter(reason: string): number | null {
  const m = RETRY_AFTER.exec(reason);
  return m === null ? null : Number(m[1]);
}

/**
 * True for a code an endpoint may put in a close frame (1000–1003, 1007–1014,
 * 3000–4999); 1004–1006 and 1015 are reserved for reporting.
 *
 * @example
 * isSendableCloseCode(1005); // false
 */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}
