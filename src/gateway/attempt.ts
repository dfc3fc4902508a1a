import { shouldRetry, type FailureKind } from "../core/plan/retry.ts";
import type { Backend } from "./backend.ts";
import { REQUEST_VIEW } from "./http/request-view.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamServer, UpstreamWaiter } from "./upstream.ts";

/**
 * The upstream side of one request or one L4 connection: the server being tried, its
 * connection, and the one retry loop shared by HTTP exchanges and TCP sessions — a
 * failed connect goes to another server, a connection that broke before any response
 * byte only when the request may be sent again (`core/plan/retry.ts`), and a retry
 * marks the servers already tried unavailable for that one pick. Reused from request
 * to request (no allocation per attempt).
 *
 * @example
 * const conn = attempt.connect(server, waiter, true);
 * // later, in onUpstreamFailed:
 * const failed = attempt.connectFailed(why, now);
 * const next = attempt.next(failed, "connect", false, false, clientIp, false, now, false);
 * if (next !== undefined) attempt.connect(next, waiter, true);
 */
export class UpstreamAttempt {
  backend: Backend | null = null;
  /** The server of the current attempt (null between attempts). */
  server: UpstreamServer | null = null;
  /** The current attempt's connection (null before one is asked for and after it is handed back). */
  conn: UpstreamConn | null = null;
  /** Attempts so far, the first one included. */
  count = 0;
  /** Attempts that broke on a reused keep-alive connection before any response byte (not counted as retries). */
  #brokenReused = 0;
  #tried: UpstreamServer[] | null = null;

  /** Starts over for a new request on `backend`. */
  reset(backend: Backend): void {
    this.backend = backend;
    this.server = null;
    this.conn = null;
    this.count = 0;
    this.#brokenReused = 0;
    this.#tried = null;
  }

  /**
   * Counts an attempt on `server` and asks it for a connection: a pooled one when
   * `pooled` (it may be ready at once: `conn.reused`), else a fresh one (L4 tunnels).
   */
  connect(server: UpstreamServer, waiter: UpstreamWaiter, pooled: boolean, preface: Buffer | null = null): UpstreamConn {
    this.count++;
    this.server = server;
    this.backend!.begin(server);
    let conn: UpstreamConn;
    if (pooled) conn = server.acquire(waiter);
    else {
      server.stats.connectionsCreated++;
      conn = server.acquireFresh(waiter, preface);
    }
    this.conn = conn;
    return conn;
  }

  /** A connect that failed: the server's accounting and passive health; returns that server. */
  connectFailed(why: UpstreamFailure, now: number): UpstreamServer {
    const server = this.server!;
    const backend = this.backend!;
    this.conn = null;
    this.server = null;
    backend.end(server, 0, false, now);
    backend.passiveFailure(server, now, why === "timeout" ? "connect timeout" : "connect failed");
    return server;
  }

  /**
   * The server to try after `failed` broke (`kind`), or undefined to give up: the retry
   * predicate first, then another available server; a broken keep-alive connection may
   * go back to the same server when it is the only one. `reused`: the broken connection
   * came from the keep-alive pool (that attempt does not count against `retries`).
   */
  next(failed: UpstreamServer, kind: FailureKind, idempotent: boolean, replayable: boolean, source: string, secure: boolean, now: number, reused: boolean): UpstreamServer | undefined {
    const backend = this.backend!;
    if (reused) this.#brokenReused++;
    if (!shouldRetry(kind, { attempts: this.count, maxRetries: backend.config.retries, idempotent, replayable, brokenReused: this.#brokenReused })) return undefined;
    (this.#tried ??= []).push(failed);
    // Stickiness and hash keys were decided on the first pick: a retry takes any server.
    let next = backend.select(REQUEST_VIEW.reset(null, null, source), secure, now, this.#tried);
    if (next === undefined && kind === "reset-before-response" && failed.available) next = failed;
    if (next !== undefined) failed.stats.retries++;
    return next;
  }

  /** Retries made so far. */
  get retries(): number {
    return Math.max(0, this.count - 1);
  }

  /** Forgets the attempt's server and connection (the exchange ended). */
  done(): void {
    this.server = null;
    this.conn = null;
    this.#tried = null;
  }
}
