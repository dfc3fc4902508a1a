import { ERROR_CODES, type ErrorCode } from "../../errors.ts";

/**
 * The one retry predicate (Caddy's `LoadBalancing.tryAgain`): a failed connect is always
 * safe to retry on another server, since nothing was sent. A request whose connection
 * broke before any response byte (a stale keep-alive connection closed as we wrote, or a
 * server that died mid-request) is retried only when it is idempotent and its whole body
 * is still in hand, as NGINX's `proxy_next_upstream error` does by default. Nothing else
 * is retried. Which failure is safe is the error table's `retryable` (errors.ts). PURE.
 *
 * @example
 * shouldRetry("connect", { attempts: 1, maxRetries: 2, idempotent: false, replayable: false }); // true
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
}

export function shouldRetry(kind: FailureKind, st: RetryState): boolean {
  if (st.attempts > st.maxRetries) return false;
  if (ERROR_CODES[FAILURE_CODE[kind]].retryable) return true;
  return st.idempotent && st.replayable;
}
