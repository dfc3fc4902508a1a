import { closeAdvice } from "../protocol/close.ts";
import { backoffDelay, hintDelay, type BackoffOptions } from "./backoff.ts";

/**
 * The connection state machine shared by `connect()` and `ReconnectingWebSocket`
 * (DESIGN §7). PURE: the caller passes the time and owns the timers and sockets; this
 * decides what state comes next and how long to wait.
 *
 * ```
 *            start           opened
 * (closed) --------> connecting ------> open
 *                     ^    |              |
 *              retry  |    | dropped      | dropped (reconnecting code)
 *   (timer, wake())   |    v              v
 *                   reconnecting <--------+
 *   close(), or a terminal code (4500-4999) from any state --> closed
 * ```
 *
 * The attempt counter counts drops since the last connection that stayed open
 * `minUptime`; it sets the backoff ceiling. A `retry-after` hint replaces the delay of
 * that one retry and never resets the counter.
 *
 * @example
 * const p = new ReconnectPolicy({ backoff: backoffOptions({}), minUptime: 5_000, random: Math.random });
 * p.start();                                  // "connecting": open a socket
 * p.opened(now);                              // "open"
 * const d = p.dropped(now + 60_000, 1012, "retry-after=2500");
 * // d: { state: "reconnecting", delay: 2500..5000, hinted: true, attempt: 1, ... }: set a timer, then p.retry()
 */

/** The states a connection goes through; `closed` is final. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** What follows a drop. */
export type DropDecision =
  | {
      readonly state: "reconnecting";
      /** Wait this long (ms) before `retry()`; `Infinity` when paused until `wake()`. */
      readonly delay: number;
      /** True when the delay obeys a server's `retry-after` hint. */
      readonly hinted: boolean;
      /** Consecutive drops without a healthy connection, this one included. */
      readonly attempt: number;
      readonly code: number;
      readonly reason: string;
    }
  | { readonly state: "closed"; readonly code: number; readonly reason: string };

export interface ReconnectPolicyOptions {
  backoff: BackoffOptions;
  /** A connection that stays open this long (ms) resets the attempt counter when it drops. */
  minUptime: number;
  random: () => number;
}

/**
 * Decides reconnect delays and tracks the connection state. See the module comment.
 *
 * @example
 * const d = policy.dropped(now, 1006, "");
 * if (d.state === "reconnecting") setTimeout(() => { policy.retry(); open(); }, d.delay);
 */
export class ReconnectPolicy {
  readonly #o: ReconnectPolicyOptions;
  #state: ConnectionState = "closed";
  #attempt = 0;
  #openedAt: number | null = null;
  #hinted = false;
  #started = false;

  constructor(o: ReconnectPolicyOptions) {
    if (!Number.isFinite(o.minUptime) || o.minUptime < 0) throw new RangeError(`minUptime must be a finite number of ms >= 0, got ${o.minUptime}`);
    this.#o = o;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Consecutive drops since the last connection that stayed up `minUptime`. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The first connect. Throws once closed or already started. */
  start(): "connecting" {
    if (this.#started) throw new Error("the connection was already started");
    this.#started = true;
    return (this.#state = "connecting");
  }

  /** The reconnect timer fired (or `wake()` said to go now). */
  retry(): "connecting" {
    if (this.#state !== "reconnecting") throw new Error(`retry() while ${this.#state}`);
    this.#hinted = false;
    return (this.#state = "connecting");
  }

  /** The connection is usable (the socket opened; for the hub, `connected` arrived). */
  opened(now: number): "open" {
    if (this.#state !== "connecting") throw new Error(`opened() while ${this.#state}`);
    this.#openedAt = now;
    return (this.#state = "open");
  }

  /**
   * The connection (or the attempt) ended with this close code and reason, or the
   * client gave up on it (use `1006` and say why: "heartbeat timeout", "connect timeout").
   */
  dropped(now: number, code: number, reason: string): DropDecision {
    if (this.#state !== "open" && this.#state !== "connecting") throw new Error(`dropped() while ${this.#state}`);
    if (this.#openedAt !== null && now - this.#openedAt >= this.#o.minUptime) this.#attempt = 0;
    this.#openedAt = null;
    const advice = closeAdvice(code, reason);
    if (advice.action === "stop") {
      this.#state = "closed";
      return { state: "closed", code, reason };
    }
    const attempt = this.#attempt++;
    this.#state = "reconnecting";
    this.#hinted = advice.retryAfterMs !== null;
    const delay = advice.retryAfterMs !== null
      ? hintDelay(advice.retryAfterMs, this.#o.backoff.min, this.#o.random)
      : backoffDelay(attempt, this.#o.backoff, this.#o.random);
    return { state: "reconnecting", delay, hinted: this.#hinted, attempt: attempt + 1, code, reason };
  }

  /**
   * Stop the connection without counting a failure and wait for `wake()` (a page the
   * app asked to pause while hidden, a browser that went offline).
   */
  pause(now: number, reason: string): DropDecision {
    if (this.#state === "closed") return { state: "closed", code: 1000, reason };
    if (this.#openedAt !== null && now - this.#openedAt >= this.#o.minUptime) this.#attempt = 0;
    this.#openedAt = null;
    this.#state = "reconnecting";
    this.#hinted = false;
    return { state: "reconnecting", delay: Infinity, hinted: false, attempt: this.#attempt, code: 1006, reason };
  }

  /**
   * The network came back or the page became visible. True when the caller should
   * reconnect now: the wait was a backoff or a pause, not a server's hint.
   */
  wake(): boolean {
    return this.#state === "reconnecting" && !this.#hinted;
  }

  /** The application closed the connection, or gave up. Final. */
  close(): "closed" {
    this.#started = true;
    this.#openedAt = null;
    return (this.#state = "closed");
  }
}
