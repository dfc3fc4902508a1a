/**
 * When `Pools.request` sends a request again, PURE. One case only: the request went out
 * on a pooled connection (opened before the request began) and that connection closed
 * or reset before any response byte. That is the keep-alive race (undici#3492): the
 * server closed an idle connection while the request was on its way. Such a request is
 * sent once more, on the next connection the pool gives, only when sending it twice
 * cannot apply it twice (an idempotent method, RFC 9110 §9.2.2, or `idempotent: true`)
 * and its whole body is still in hand: the decision itself is the gateway's one retry
 * predicate (core/plan/retry.ts, NGINX's `proxy_next_upstream error`); this file says
 * when a pool's failure is that case.
 *
 * @example
 * shouldRetry({ attempt: 1, errorCode: "UND_ERR_SOCKET", pooled: true, idempotent: true, replayable: true, aborted: false }); // true
 * shouldRetry({ attempt: 1, errorCode: "UND_ERR_SOCKET", pooled: true, idempotent: false, replayable: true, aborted: false }); // false
 */
import { shouldRetry as retryPlan } from "../core/plan/retry.ts";

/**
 * Error codes that mean "the connection went away under the request": undici's socket
 * error (the peer's FIN, "other side closed"), a reset, a write to a closed socket.
 * Timeouts are not here: a slow server may be processing the request.
 *
 * @example
 * STALE_CODES.has("ECONNRESET"); // true
 */
export const STALE_CODES: ReadonlySet<string> = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * RFC 9110 §9.2.2; `explicit` (the request's `idempotent` option) wins when given.
 *
 * @example
 * isIdempotent("PUT"); // true
 * isIdempotent("POST", true); // true: the caller vouches for it (an idempotency key)
 */
export function isIdempotent(method: string, explicit?: boolean): boolean {
  return explicit ?? IDEMPOTENT.has(method.toUpperCase());
}

/**
 * A body that can be sent again as is: none, a string or bytes. A stream, an async
 * iterable or a FormData was consumed by the first attempt.
 *
 * @example
 * isReplayable("{}"); // true
 * isReplayable(fs.createReadStream("f")); // false
 */
export function isReplayable(body: unknown): boolean {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array;
}

/**
 * The facts about one failed attempt.
 *
 * @example
 * const f: Failure = { attempt: 1, errorCode: "ECONNRESET", pooled: true, idempotent: true, replayable: true, aborted: false };
 */
export interface Failure {
  /** Attempts made so far (the first is 1). */
  readonly attempt: number;
  readonly errorCode: string | undefined;
  /** The connection it failed on was opened before the request began (a pooled one). */
  readonly pooled: boolean;
  readonly idempotent: boolean;
  readonly replayable: boolean;
  /** The caller aborted the request. */
  readonly aborted: boolean;
}

/**
 * True when the failed request is sent again.
 *
 * @example
 * shouldRetry({ ...failure, attempt: 2 }); // false: once only
 */
export function shouldRetry(f: Failure): boolean {
  if (f.aborted || !f.pooled || f.errorCode === undefined || !STALE_CODES.has(f.errorCode)) return false;
  return retryPlan("reset-before-response", { attempts: f.attempt, maxRetries: 1, idempotent: f.idempotent, replayable: f.replayable });
}
