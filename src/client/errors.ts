import type { HubErrorCode } from "../protocol/hub.ts";

/**
 * The errors the client SDK rejects with, each with a stable `code` to match on
 * (`HF_ERR_CLIENT_*`, or the hub's own error code for `HubError`). Browser-safe: the
 * SDK imports nothing outside `protocol/`, so these are its own classes.
 *
 * @example
 * try { await client.publish("chat:1", msg); }
 * catch (e) { if (e instanceof HubError && e.code === "forbidden") showForbidden(); }
 */

/**
 * The hub answered a command with an error (`forbidden`, `unknown_channel`, …).
 *
 * @example
 * new HubError("forbidden", "not allowed on chat:2", false).code; // "forbidden"
 */
export class HubError extends Error {
  readonly code: HubErrorCode;
  /** The same command may succeed later. */
  readonly temporary: boolean;
  constructor(code: HubErrorCode, message: string, temporary: boolean) {
    super(`${code}: ${message}`);
    this.name = "HubError";
    this.code = code;
    this.temporary = temporary;
  }
}

/**
 * `publish()` while `queue.max` publishes are already waiting for the hub: nothing was
 * queued. Publish again once some are confirmed, or raise `queue.max`.
 *
 * @example
 * e.code; // "HF_ERR_CLIENT_QUEUE_FULL"
 */
export class QueueFullError extends Error {
  readonly code = "HF_ERR_CLIENT_QUEUE_FULL";
  constructor(max: number) {
    super(`the publish queue is full (queue.max = ${max} publishes waiting for the hub); this publish was not queued`);
    this.name = "QueueFullError";
  }
}

/**
 * The client was closed (by `close()`, or a terminal close code from the hub) before
 * the hub answered. For a publish that was already sent, the hub may have stored it:
 * retry with the same `idempotencyKey` to find out without publishing twice.
 *
 * @example
 * e.code; // "HF_ERR_CLIENT_CLOSED"
 */
export class ClientClosedError extends Error {
  readonly code = "HF_ERR_CLIENT_CLOSED";
  constructor(message: string) {
    super(message);
    this.name = "ClientClosedError";
  }
}

/**
 * A request (`presence()`, …) got no answer in time, connected or not.
 *
 * @example
 * e.code; // "HF_ERR_CLIENT_TIMEOUT"
 */
export class RequestTimeoutError extends Error {
  readonly code = "HF_ERR_CLIENT_TIMEOUT";
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the hub within ${ms} ms`);
    this.name = "RequestTimeoutError";
  }
}

/**
 * A publish larger than the hub accepts (`maxMessageBytes` in its `connected` reply):
 * it was never sent, so it cannot poison the queue by closing the connection over and over.
 *
 * @example
 * e.code; // "HF_ERR_CLIENT_TOO_LARGE"
 */
export class MessageTooLargeError extends Error {
  readonly code = "HF_ERR_CLIENT_TOO_LARGE";
  constructor(bytes: number, max: number) {
    super(`the publish is ${bytes} bytes as JSON, over the hub's limit of ${max}; it was not sent`);
    this.name = "MessageTooLargeError";
  }
}
