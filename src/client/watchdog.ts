import type { Timers } from "./timers.ts";

/**
 * The heartbeat watchdog (DESIGN §7): declares a connection dead when nothing at all
 * was received for `limit` ms (the hub's `ping + pong`).
 *
 * Every received frame calls `seen()`, which only stores the time: no timer is cleared
 * or set per frame. One timer is armed for the earliest possible expiry; when it fires
 * it compares the real elapsed time with the limit and re-arms for the remainder. So a
 * throttled background tab whose timers run late never declares a live connection dead
 * (frames still arrive and are counted), and the check costs nothing on a busy stream.
 * There is no fixed `setInterval`.
 *
 * @example
 * const dog = new Watchdog(systemTimers(), () => socket.close());
 * dog.start(35_000);            // after `connected`: ping 25 s + pong 10 s
 * socket.onmessage = () => dog.seen();
 * dog.stop();                   // on close
 */
export class Watchdog {
  readonly #timers: Timers;
  readonly #onTimeout: (silentMs: number) => void;
  #limit = 0;
  #last = 0;
  #timer: unknown = null;
  #fire = () => this.#check();

  /** `onTimeout` gets how long the connection was silent. */
  constructor(timers: Timers, onTimeout: (silentMs: number) => void) {
    this.#timers = timers;
    this.#onTimeout = onTimeout;
  }

  /** True while armed. */
  get running(): boolean {
    return this.#timer !== null;
  }

  /** Arms (or re-arms with a new limit), counting from now. */
  start(limitMs: number): void {
    if (!(limitMs > 0) || !Number.isFinite(limitMs)) throw new RangeError(`the watchdog needs a positive, finite limit in ms, got ${limitMs}`);
    this.stop();
    this.#limit = limitMs;
    this.#last = this.#timers.now();
    this.#timer = this.#timers.setTimeout(this.#fire, limitMs);
  }

  /** Something was received: the connection is alive now. */
  seen(): void {
    this.#last = this.#timers.now();
  }

  stop(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #check(): void {
    const silent = this.#timers.now() - this.#last;
    if (silent >= this.#limit) {
      this.#timer = null;
      this.#onTimeout(silent);
    } else {
      this.#timer = this.#timers.setTimeout(this.#fire, this.#limit - silent);
    }
  }
}
