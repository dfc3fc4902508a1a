/**
 * The one retry predicate (Caddy's `LoadBalancing.tryAgain`): a failed connect is always
 * safe to retry on another server, since nothing was sent. A request that failed on a
 * *reused* keep-alive connection before any response byte (the server closed the idle
 * connection as we wrote) is retried only when it is idempotent and its whole body was
 * still in hand. Nothing else is retried. PURE.
 *
 * @example
 * shouldRetry("connect", { attempts: 1, maxRetries: 2, idempotent: false, replayable: false, reused: false }); // true
 */
export type FailureKind = "connect" | "reset-before-response";

export interface RetryState {
  /** Attempts made so far (the first try counts). */
  readonly attempts: number;
  readonly maxRetries: number;
  readonly idempotent: boolean;
  /** The full request (head and body) is still held and can be sent again. */
  readonly replayable: boolean;
  /** The failed connection was a reused keep-alive connection. */
  readonly reused: boolean;
}

export function shouldRetry(kind: FailureKind, st: RetryState): boolean {
  if (st.attempts > st.maxRetries) return false;
  if (kind === "connect") return true;
  return st.reused && st.idempotent && st.replayable;
}
