/**
 * One coarse timer wheel for every connection deadline (request headers, idle
 * keep-alive, connect, server response, tunnel idle) instead of a timer per connection
 * (undici `lib/util/timers.js` does the same). Refreshing a deadline on activity is a
 * field write: an item is only moved when its slot comes up and its deadline has moved
 * later, or at once when a deadline moves earlier.
 *
 * @example
 * const wheel = new TimerWheel(100);
 * wheel.start();
 * wheel.arm(item, wheel.now + 5000); // item.expire(now) runs ~5 s from now
 */

/** Something with a deadline. The wheel owns `wheelSlot`; start it at -1. */
export interface Expirable {
  /** Absolute deadline in the wheel's clock (ms); 0 = none. */
  deadline: number;
  wheelSlot: number;
  expire(now: number): void;
}

export type Clock = () => number;

export class TimerWheel {
  /** Coarse current time, updated at every tick and by `arm`. */
  now: number;
  readonly #resolutionMs: number;
  readonly #slots: Set<Expirable>[];
  readonly #clock: Clock;
  #tick: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param resolutionMs granularity of every deadline (deadlines fire up to one tick late)
   * @param slotCount slots in the wheel; deadlines beyond the horizon are re-slotted lazily
   */
  constructor(resolutionMs = 100, slotCount = 256, clock: Clock = () => performance.now()) {
    this.#resolutionMs = resolutionMs;
    this.#slots = Array.from({ length: slotCount }, () => new Set<Expirable>());
    this.#clock = clock;
    this.now = clock();
    this.#tick = Math.floor(this.now / resolutionMs);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.advance(), this.#resolutionMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer); // undefined (never started) does nothing
    this.#timer = undefined;
  }

  /** Precise current time (also refreshes `now`). */
  clock(): number {
    return (this.now = this.#clock());
  }

  /** Sets or moves `item`'s deadline. */
  arm(item: Expirable, deadline: number): void {
    const old = item.deadline;
    item.deadline = deadline;
    // Later than before and already slotted: its slot fires first and re-slots it.
    if (item.wheelSlot >= 0 && deadline >= old && old !== 0) return;
    this.#place(item);
  }

  /** Clears `item`'s deadline. */
  disarm(item: Expirable): void {
    item.deadline = 0;
    if (item.wheelSlot >= 0) {
      this.#slots[item.wheelSlot]!.delete(item);
      item.wheelSlot = -1;
    }
  }

  #place(item: Expirable): void {
    const n = this.#slots.length;
    let t = Math.ceil(item.deadline / this.#resolutionMs);
    if (t <= this.#tick) t = this.#tick + 1;
    // A deadline past the horizon takes its slot as is: the slot comes up before the
    // deadline does, and `advance` places it again. When that is the slot being run, the
    // item stays where it is (the check below): moving it within the set would have the
    // loop meet it again.
    const slot = t % n;
    if (item.wheelSlot === slot) return;
    if (item.wheelSlot >= 0) this.#slots[item.wheelSlot]!.delete(item);
    this.#slots[slot]!.add(item);
    item.wheelSlot = slot;
  }

  /** Runs every deadline that has passed. Called by the interval; tests call it directly. */
  advance(): void {
    const now = this.clock();
    const target = Math.floor(now / this.#resolutionMs);
    const n = this.#slots.length;
    // After a long stall (GC, debugger) visit each slot at most once.
    if (target - this.#tick > n) this.#tick = target - n;
    while (this.#tick < target) {
      this.#tick++;
      const set = this.#slots[this.#tick % n]!;
      if (set.size === 0) continue;
      for (const item of set) {
        if (item.deadline === 0) {
          set.delete(item);
          item.wheelSlot = -1;
        } else if (item.deadline <= now) {
          set.delete(item);
          item.wheelSlot = -1;
          item.deadline = 0;
          item.expire(now);
        } else {
          this.#place(item);
        }
      }
    }
  }
}
