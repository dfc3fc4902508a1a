import type { ConfigIssue } from "./config/types.ts";

/**
 * Every error code holdfast raises, in one table grouped by subsystem (fastify's
 * `lib/errors.js`, undici's `UND_ERR_*`). A code never changes meaning once released:
 * logs, metrics labels and client code match on it.
 *
 * `retryable` is part of the type: `true` when the request provably never reached an
 * upstream, so sending it again cannot apply it twice and may succeed (on another
 * server, or a little later). The gateway's retry predicate still decides *whether* to
 * retry now; a `false` here means "only if idempotent", decided by the caller.
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
  // client: the request itself is wrong, sending it again fails again
  HF_ERR_BAD_REQUEST: {
    subsystem: "client",
    retryable: false,
    status: 400,
    doc: "The request is malformed or ambiguous (e.g. both Content-Length and Transfer-Encoding); nothing was forwarded.",
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
 * The base of every holdfast error: a stable `code`, and `retryable` and `status` read
 * from {@link ERROR_CODES}, so they cannot disagree with the table.
 *
 * @example
 * try { ... } catch (err) {
 *   if (err instanceof HoldfastError && err.retryable) retryElsewhere();
 * }
 */
export class HoldfastError extends Error {
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

// ---- config -------------------------------------------------------------------------

/**
 * The config was refused; `issues` holds every problem (`path: message`).
 *
 * @example
 * const r = loadConfigFile(file);
 * if (!r.ok) throw new ConfigInvalidError(r.issues);
 */
export class ConfigInvalidError extends HoldfastError {
  override readonly name = "ConfigInvalidError";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const lines = issues.map((i) => (i.path === "" ? `  ${i.message}` : `  ${i.path}: ${i.message}`));
    const count = `${issues.length} error${issues.length === 1 ? "" : "s"}`;
    super("HF_ERR_CONFIG_INVALID", `invalid config (${count}):\n${lines.join("\n")}`, options);
    this.issues = issues;
  }
}

// ---- upstream -----------------------------------------------------------------------

/**
 * The server refused the connection.
 *
 * @example
 * socket.on("error", (cause) => done(new ConnectRefusedError("10.0.1.10:8080 refused the connection", { cause })));
 */
export class ConnectRefusedError extends HoldfastError {
  override readonly name = "ConnectRefusedError";
  constructor(message = "the server refused the connection", options?: ErrorOptions) {
    super("HF_ERR_CONNECT_REFUSED", message, options);
  }
}

/**
 * No connection within `timeouts.connect`.
 *
 * @example
 * new ConnectTimeoutError("no connection to 10.0.1.10:8080 within 5s");
 */
export class ConnectTimeoutError extends HoldfastError {
  override readonly name = "ConnectTimeoutError";
  constructor(message = "the server did not accept the connection in time", options?: ErrorOptions) {
    super("HF_ERR_CONNECT_TIMEOUT", message, options);
  }
}

/**
 * No response within `timeouts.server`.
 *
 * @example
 * new UpstreamTimeoutError("api1 sent no response within 60s");
 */
export class UpstreamTimeoutError extends HoldfastError {
  override readonly name = "UpstreamTimeoutError";
  constructor(message = "the server did not respond in time", options?: ErrorOptions) {
    super("HF_ERR_UPSTREAM_TIMEOUT", message, options);
  }
}

/**
 * The server closed or reset the connection mid-exchange.
 *
 * @example
 * new UpstreamResetError("api1 closed the connection before the response ended", { cause });
 */
export class UpstreamResetError extends HoldfastError {
  override readonly name = "UpstreamResetError";
  constructor(message = "the server closed the connection unexpectedly", options?: ErrorOptions) {
    super("HF_ERR_UPSTREAM_RESET", message, options);
  }
}

// ---- balance ------------------------------------------------------------------------

/**
 * No server of the backend can take the request.
 *
 * @example
 * new NoServerError("no server of backend api is available");
 */
export class NoServerError extends HoldfastError {
  override readonly name = "NoServerError";
  constructor(message = "no server is available", options?: ErrorOptions) {
    super("HF_ERR_NO_SERVER", message, options);
  }
}

/**
 * The request waited `queueTimeout` for a server under `maxConn`, in vain.
 *
 * @example
 * new QueueTimeoutError("every server of api was full for 5s");
 */
export class QueueTimeoutError extends HoldfastError {
  override readonly name = "QueueTimeoutError";
  constructor(message = "every server stayed full for the whole queue timeout", options?: ErrorOptions) {
    super("HF_ERR_QUEUE_TIMEOUT", message, options);
  }
}

// ---- client -------------------------------------------------------------------------

/**
 * The client's request is malformed; answered with 400 and the connection closed.
 *
 * @example
 * new BadRequestError("both Content-Length and Transfer-Encoding");
 */
export class BadRequestError extends HoldfastError {
  override readonly name = "BadRequestError";
  constructor(message = "malformed request", options?: ErrorOptions) {
    super("HF_ERR_BAD_REQUEST", message, options);
  }
}

/**
 * The class of each code, so that a missing class is a compile error and the table test
 * can build one of each.
 *
 * @example
 * new ERROR_CLASSES.HF_ERR_NO_SERVER().status; // 503
 */
export const ERROR_CLASSES = {
  HF_ERR_CONFIG_INVALID: ConfigInvalidError,
  HF_ERR_CONNECT_REFUSED: ConnectRefusedError,
  HF_ERR_CONNECT_TIMEOUT: ConnectTimeoutError,
  HF_ERR_UPSTREAM_TIMEOUT: UpstreamTimeoutError,
  HF_ERR_UPSTREAM_RESET: UpstreamResetError,
  HF_ERR_NO_SERVER: NoServerError,
  HF_ERR_QUEUE_TIMEOUT: QueueTimeoutError,
  HF_ERR_BAD_REQUEST: BadRequestError,
} as const satisfies Record<ErrorCode, new (...args: never[]) => HoldfastError>;
