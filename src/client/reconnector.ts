import { backoffOptions, type BackoffOptions } from "./backoff.ts";
import { pageHidden, watchPage } from "./environment.ts";
import { ReconnectPolicy, type ConnectionState } from "./policy.ts";
import type { Timers } from "./timers.ts";
import { Watchdog } from "./watchdog.ts";

/**
 * Drives one logical connection through its sockets (DESIGN §7): the timers around the
 * pure `ReconnectPolicy` — the reconnect wait, the connect timeout, the heartbeat
 * watchdog — and the page's `online`/`offline`/`visibilitychange`. Shared by `connect()`
 * and `ReconnectingWebSocket`; they own the sockets through two hooks: `dial()` opens a
 * new one, `hangUp()` abandons the current one (detaching its handlers so its late
 * events are never counted). The transport reports back with `opened()`, `dropped()`
 * and `alive()`.
 *
 * @example
 * const r = new Reconnector(opts, {
 *   dial: () => { ws = new WebSocket(url); ws.onopen = () => r.opened(); ws.onclose = (e) => r.dropped(e.code, e.reason); ws.onmessage = () => r.alive(); },
 *   hangUp: () => { ws.onclose = null; ws.close(); },
 *   state: (s, info) => console.log(s, info),
 * });
 * r.start();
 */

/** Options common to `connect()` and `ReconnectingWebSocket`. */
export interface ReconnectOptions {
  /** Delay policy between attempts; defaults 250 ms ×2 up to 30 s, full jitter. */
  backoff?: Partial<BackoffOptions>;
  /** A connection that stays open this long (ms) resets the backoff (default 5000). */
  minUptime?: number;
  /** An attempt that is not open within this long (ms) is abandoned and retried (default 10000). */
  connectTimeout?: number;
  /** Close while the page is hidden and reconnect when it shows again (default false). */
  pauseWhenHidden?: boolean;
}

/** What a `state` change carries. */
export interface StateInfo {
  /** The close code that ended the previous connection (1006 when it was lost or given up). */
  code?: number;
  /** Why: the close reason, or what the client gave up on ("heartbeat timeout", "offline", …). */
  reason?: string;
  /** `reconnecting`: ms until the next attempt (`Infinity`: until the page is shown again). */
  delay?: number;
  /** `reconnecting`: true when the delay obeys the server's `retry-after` hint. */
  hinted?: boolean;
  /** Consecutive failed attempts (0 after a connection that stayed up `minUptime`). */
  attempt?: number;
}

export interface ReconnectorHooks {
  /** Open a new socket; report with `opened()`, `dropped()`, `alive()`. */
  dial(): void;
  /** Abandon the current socket (if any) without reporting its close. */
  hangUp(code: number, reason: string): void;
  /** The connection's state changed. */
  state(state: ConnectionState, info: StateInfo): void;
}

/** Internal seams for tests: the clock, timers and randomness. */
export interface ReconnectorDeps {
  timers: Timers;
  random: () => number;
}

/** The client's own "code" for a connection it lost or gave up on (RFC 6455 §7.1.5). */
export const ABNORMAL = 1006;

/**
 * The timers and page events around one connection's `ReconnectPolicy`; see the module comment.
 *
 * @example
 * const r = new Reconnector({ backoff: { min: 250 } }, hooks, { timers: systemTimers(), random: Math.random });
 * r.start();
 */
export class Reconnector {
  readonly #hooks: ReconnectorHooks;
  readonly #timers: Timers;
  readonly #policy: ReconnectPolicy;
  readonly #connectTimeout: number;
  readonly #pauseWhenHidden: boolean;
  readonly #watchdog: Watchdog;
  #waitTimer: unknown = null;
  #connectTimer: unknown = null;
  #unwatch: () => void = () => {};
  #closed = false;

  constructor(o: ReconnectOptions, hooks: ReconnectorHooks, deps: ReconnectorDeps) {
    const connectTimeout = o.connectTimeout ?? 10_000;
    if (!(connectTimeout > 0)) throw new RangeError(`connectTimeout must be a positive number of ms, got ${connectTimeout}`);
    this.#hooks = hooks;
    this.#timers = deps.timers;
    this.#connectTimeout = connectTimeout;
    this.#pauseWhenHidden = o.pauseWhenHidden === true;
    this.#policy = new ReconnectPolicy({ backoff: backoffOptions(o.backoff), minUptime: o.minUptime ?? 5_000, random: deps.random });
    this.#watchdog = new Watchdog(deps.timers, (silent) => this.#giveUp(`heartbeat timeout: nothing received for ${Math.round(silent)} ms`));
  }

  get state(): ConnectionState {
    return this.#policy.state;
  }

  get attempt(): number {
    return this.#policy.attempt;
  }

  /** The first attempt (and the page watch, in a browser). */
  start(): void {
    if (this.#closed) return;
    this.#policy.start();
    this.#unwatch = watchPage({
      online: () => this.#wake(),
      offline: () => this.#giveUp("offline"),
      // Shown again: resume a pause, but never cut a backoff short (tab flipping is not a signal).
      visibility: (hidden) => (hidden ? this.#pause() : this.#waitTimer === null && this.#wake()),
    });
    if (this.#pauseWhenHidden && pageHidden()) {
      this.#hooks.state("connecting", { attempt: 0 });
      this.#pause();
      return;
    }
    this.#attempt({ attempt: 0 });
  }

  /** The socket is usable: the policy counts uptime from now. */
  opened(): void {
    if (this.#policy.state !== "connecting") return;
    this.#clearConnectTimer();
    this.#policy.opened(this.#timers.now());
    this.#hooks.state("open", {});
  }

  /** Something arrived: feeds the watchdog. */
  alive(): void {
    this.#watchdog.seen();
  }

  /** Arms the watchdog: the connection is dead after `limitMs` of silence. */
  heartbeat(limitMs: number): void {
    this.#watchdog.start(limitMs);
  }

  /**
   * The socket closed with this code and reason (or failed to open). Ignored unless
   * connecting or open, so a late event from an abandoned socket changes nothing.
   */
  dropped(code: number, reason: string): void {
    const s = this.#policy.state;
    if (s !== "connecting" && s !== "open") return;
    this.#clearConnectTimer();
    this.#watchdog.stop();
    const d = this.#policy.dropped(this.#timers.now(), code, reason);
    if (d.state === "closed") {
      this.#closed = true;
      this.#unwatch();
      this.#hooks.state("closed", { code, reason });
      return;
    }
    this.#hooks.state("reconnecting", { code, reason, delay: d.delay, hinted: d.hinted, attempt: d.attempt });
    this.#waitTimer = this.#timers.setTimeout(() => {
      this.#waitTimer = null;
      this.#attempt({ attempt: this.#policy.attempt });
    }, d.delay);
  }

  /** Drop the current socket now and go through the usual wait (the hub said so, a protocol error). */
  reconnect(code: number, reason: string): void {
    const s = this.#policy.state;
    if (s !== "connecting" && s !== "open") return;
    this.#hooks.hangUp(code, reason);
    this.dropped(code, reason);
  }

  /** Final: no more attempts. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearConnectTimer();
    this.#clearWaitTimer();
    this.#watchdog.stop();
    this.#unwatch();
    this.#policy.close();
    this.#hooks.hangUp(code, reason);
    this.#hooks.state("closed", { code, reason });
  }

  #attempt(info: StateInfo): void {
    if (this.#policy.state === "reconnecting") this.#policy.retry();
    this.#hooks.state("connecting", info);
    if (this.#policy.state !== "connecting") return; // a state listener closed the client
    this.#connectTimer = this.#timers.setTimeout(() => {
      this.#connectTimer = null;
      this.#giveUp(`connect timeout: not open within ${this.#connectTimeout} ms`);
    }, this.#connectTimeout);
    this.#hooks.dial();
  }

  #giveUp(reason: string): void {
    this.reconnect(ABNORMAL, reason);
  }

  #pause(): void {
    if (!this.#pauseWhenHidden) return;
    const s = this.#policy.state;
    if (s === "closed" || (s === "reconnecting" && this.#waitTimer === null)) return;
    this.#clearConnectTimer();
    this.#clearWaitTimer();
    this.#watchdog.stop();
    if (s === "connecting" || s === "open") this.#hooks.hangUp(ABNORMAL, "page hidden");
    const d = this.#policy.pause(this.#timers.now(), "page hidden");
    this.#hooks.state("reconnecting", { code: ABNORMAL, reason: "page hidden", delay: Infinity, hinted: false, attempt: d.state === "reconnecting" ? d.attempt : 0 });
  }

  #wake(): void {
    if (!this.#policy.wake()) return;
    if (this.#pauseWhenHidden && pageHidden()) return;
    this.#clearWaitTimer();
    this.#attempt({ attempt: this.#policy.attempt });
  }

  #clearWaitTimer(): void {
    if (this.#waitTimer !== null) this.#timers.clearTimeout(this.#waitTimer);
    this.#waitTimer = null;
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== null) this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
  }
}
