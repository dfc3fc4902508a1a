/**
 * Every error holdfast reports, in one table grouped by subsystem (fastify's
 * `lib/errors.js`, undici's `UND_ERR_*`). A code never changes meaning once released:
 * logs and client code match on it.
 *
 * The gateway answers every request it cannot forward through this table: the status
 * comes from the row, the plain-words body from the caller (it names the server or the
 * backend), the access-log line carries the code as `error`, and the metric
 * `holdfast_errors_total{code}` counts it (see {@link countError}). The retry predicate
 * (`core/plan/retry.ts`) reads `retryable`.
 *
 * `retryable` is `true` when the request provably never reached an upstream, so sending
 * it again cannot apply it twice and may succeed (on another server, or a little
 * later); `false` means "only if idempotent", decided by the caller.
 *
 * `status` is the HTTP status the gateway answers with (DESIGN §4), or `undefined` for
 * errors that never reach a client.
 *
 * @example
 * ERROR_CODES.HF_ERR_CONNECT_REFUSED.retryable; // true
 * ERROR_CODES.HF_ERR_UPSTREAM_TIMEOUT.status;   // 504
 */
export const ERROR_CODES = {
  // config
  HF_ERR_CONFIG_INVALID: {
    subsystem: "config",
    retryable: false,
    status: undefined,
    doc: "The config has errors (each with its path); nothing was applied. Retrying the same file fails the same way.",
  },
  // client: the request itself is wrong or cannot be served as addressed; sending it again fails again
  HF_ERR_BAD_REQUEST: {
    subsystem: "client",
    retryable: false,
    status: 400,
    doc: "The request is malformed or ambiguous (e.g. both Content-Length and Transfer-Encoding); nothing was forwarded.",
  },
  HF_ERR_HEAD_TIMEOUT: {
    subsystem: "client",
    retryable: false,
    status: 408,
    doc: "The request head did not arrive within timeouts.requestHeaders; nothing was forwarded.",
  },
  HF_ERR_BODY_TIMEOUT: {
    subsystem: "client",
    retryable: false,
    status: 408,
    doc: "The request body was still arriving when the backend's timeouts.server ran out, with the server reading all it was sent (a slow body); not counted against the server.",
  },
  HF_ERR_HEAD_TOO_LARGE: {
    subsystem: "client",
    retryable: false,
    status: 431,
    doc: "The request head is larger than maxHeaderSize; nothing was forwarded.",
  },
  HF_ERR_UNSUPPORTED_CODING: {
    subsystem: "client",
    retryable: false,
    status: 501,
    doc: "The request uses a transfer coding other than chunked; nothing was forwarded.",
  },
  HF_ERR_FORBIDDEN: {
    subsystem: "client",
    retryable: false,
    status: 403,
    doc: "The client's address is not in the allow list of the route the request matched.",
  },
  HF_ERR_NO_ROUTE: {
    subsystem: "client",
    retryable: false,
    status: 404,
    doc: "No route of the listener matches the request.",
  },
  HF_ERR_CONNECTION_LIMIT: {
    subsystem: "client",
    retryable: true,
    status: 503,
    doc: "The listener is at limits.maxConnections, or the client's address at limits.maxConnectionsPerClient; the connection was refused before reading a request (clear-text HTTP gets 503 with Retry-After, TLS and tcp listeners a plain close).",
  },
  // upstream connection (dial): nothing was sent, so another server is always safe
  HF_ERR_CONNECT_REFUSED: {
    subsystem: "upstream",
    retryable: true,
    status: 502,
    doc: "The server refused the connection (or it failed before any byte was sent).",
  },
  HF_ERR_CONNECT_TIMEOUT: {
    subsystem: "upstream",
    retryable: true,
    status: 504,
    doc: "No connection to the server within timeouts.connect; nothing was sent.",
  },
  // upstream exchange: the request may have been processed
  HF_ERR_UPSTREAM_TIMEOUT: {
    subsystem: "upstream",
    retryable: false,
    status: 504,
    doc: "The server did not answer within timeouts.server; it may have processed the request.",
  },
  HF_ERR_UPSTREAM_RESET: {
    subsystem: "upstream",
    retryable: false,
    status: 502,
    doc: "The server closed or reset the connection mid-exchange; it may have processed the request.",
  },
  HF_ERR_BAD_RESPONSE: {
    subsystem: "upstream",
    retryable: false,
    status: 502,
    doc: "The server's response is malformed, oversized, or switches protocols unasked; it may have processed the request.",
  },
  // balancing and admission: the request waited at the gateway and went nowhere
  HF_ERR_NO_SERVER: {
    subsystem: "balance",
    retryable: true,
    status: 503,
    doc: "No server of the backend is available (all down, draining, ejected or full); answered with Retry-After.",
  },
  HF_ERR_QUEUE_TIMEOUT: {
    subsystem: "balance",
    retryable: true,
    status: 503,
    doc: "Every server was at maxConn for the whole queueTimeout; the request was never sent.",
  },
  HF_ERR_ADMISSION: {
    subsystem: "balance",
    retryable: true,
    status: 503,
    doc: "The server's admission rate for new connections is spent; answered with Retry-After (a WebSocket gets 101 then 1013).",
  },
} as const satisfies Record<`HF_ERR_${string}`, ErrorSpec>;

/**
 * One row of {@link ERROR_CODES}.
 *
 * @example
 * const spec: ErrorSpec = ERROR_CODES.HF_ERR_NO_SERVER;
 */
export interface ErrorSpec {
  readonly subsystem: "config" | "upstream" | "balance" | "client";
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly doc: string;
}

/**
 * A holdfast error code: `HF_ERR_*`.
 *
 * @example
 * const code: ErrorCode = "HF_ERR_QUEUE_TIMEOUT";
 */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The codes the gateway answers a client with (those with a status).
 *
 * @example
 * const code: ResponseErrorCode = "HF_ERR_NO_SERVER";
 */
export type ResponseErrorCode = { [K in ErrorCode]: (typeof ERROR_CODES)[K]["status"] extends number ? K : never }[ErrorCode];

/**
 * The table's codes in order: `holdfast_errors_total` keeps one count per code, at the
 * code's position here.
 *
 * @example
 * const counts = new Float64Array(ERROR_CODE_LIST.length);
 */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as readonly ErrorCode[];

const ERROR_INDEX = Object.fromEntries(ERROR_CODE_LIST.map((code, i) => [code, i])) as Record<ErrorCode, number>;

/**
 * Counts one request or connection the gateway ended with `code` into `counts` (indexed
 * like {@link ERROR_CODE_LIST}); no allocation, for the data plane's hot path.
 *
 * @example
 * countError(plane.counters.errors, "HF_ERR_NO_ROUTE");
 */
export function countError(counts: Float64Array, code: ErrorCode): void {
  counts[ERROR_INDEX[code]]!++;
}

/**
 * An error with a stable `code`; `retryable` and `status` are read from
 * {@link ERROR_CODES}, so they cannot disagree with the table. For an embedding
 * application that reports holdfast's failures as exceptions.
 *
 * @example
 * throw new HoldfastError("HF_ERR_CONFIG_INVALID", "invalid config (2 errors): ...");
 */
export class HoldfastError extends Error {
  override readonly name = "HoldfastError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.status = ERROR_CODES[code].status;
  }
}

/**
 * True for a holdfast error (of `code`, when given). Checks the code rather than the
 * class, so it also holds for an error that crossed a worker boundary or came from
 * another copy of the package.
 *
 * @example
 * if (isHoldfastError(err, "HF_ERR_NO_SERVER")) res.setHeader("retry-after", "1");
 */
export function isHoldfastError(err: unknown, code?: ErrorCode): err is HoldfastError {
  if (err === null || typeof err !== "object" || !("code" in err) || typeof err.code !== "string") return false;
  return code === undefined ? Object.hasOwn(ERROR_CODES, err.code) : err.code === code;
}
