import { ERROR_CODES, type ErrorCode } from "../../errors.ts";

/**
 * The one retry predicate (Caddy's `LoadBalancing.tryAgain`): a failed connect is always
 * safe to retry on another server, since nothing was sent. A request whose connection
 * broke before any response byte (a stale keep-alive connection closed as we wrote, or a
 * server that died mid-request) is retried only when it is idempotent and its whole body
 * is still in hand, as NGINX's `proxy_next_upstream error` does by default. Nothing else
 * is retried. Which failure is safe is the error table's `retryable` (errors.ts).
 *
 * A connection taken from the keep-alive pool that broke before any response byte is
 * the pool's race with the server's idle close, not a failure of the request: that
 * attempt does not count against `maxRetries` (NGINX adds a try for a cached
 * connection's error; Go's transport and undici retry it whatever their count). It is
 * bounded by the pool: the broken connection is gone, and the next one made is fresh
 * or another pooled one. PURE.
 *
 * @example
 * shouldRetry("connect", { attempts: 1, maxRetries: 2, idempotent: false, replayable: false }); // true
 * shouldRetry("reset-before-response", { attempts: 1, maxRetries: 0, idempotent: true, replayable: true, brokenReused: 1 }); // true
 */
export type FailureKind = "connect" | "reset-before-response";

/** The error each failure is reported as (its `retryable` decides). */
const FAILURE_CODE = { connect: "HF_ERR_CONNECT_REFUSED", "reset-before-response": "HF_ERR_UPSTREAM_RESET" } as const satisfies Record<FailureKind, ErrorCode>;

export interface RetryState {
  /** Attempts made so far (the first try counts). */
  readonly attempts: number;
  readonly maxRetries: number;
  readonly idempotent: boolean;
  /** The full request (head and body) is still held and can be sent again. */
  readonly replayable: boolean;
  /** Attempts among `attempts` that broke on a reused keep-alive connection before any response byte: not counted. */
  readonly brokenReused?: number;
}

export function shouldRetry(kind: FailureKind, st: RetryState): boolean {
  if (st.attempts - (st.brokenReused ?? 0) > st.maxRetries) return false;
  if (ERROR_CODES[FAILURE_CODE[kind]].retryable) return true;
  return st.idempotent && st.replayable;
}
