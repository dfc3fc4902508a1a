/**
 * When to close the tunnels of a draining server (`1012`, issue 5 part 2) or of a
 * stopping gateway (`1001`, part 3): nothing before a grace period, then one close per
 * slot of a window, so the clients' reconnects arrive spread out instead of at once.
 * PURE: the clock and randomness are parameters; the caller owns the one coarse timer.
 *
 * @example
 * // drain api1: plan once, then let one timer pop what is due
 * const schedule = new CloseSchedule(planDrain(tunnelIds, { start: now, drainTimeout, drainSpread }, Math.random));
 * const timer = setInterval(() => {
 *   for (const id of schedule.due(performance.now())) tunnels.get(id)?.close(1012, "");
 *   if (schedule.size === 0) clearInterval(timer);
 * }, 100);
 */
import { DEFAULTS } from "../../config/defaults.ts";

/**
 * One planned close: tunnel `id` at time `at` (ms, the caller's clock).
 *
 * @example
 * const c: ScheduledClose<number> = { id: 42, at: 30_250.7 };
 */
export interface ScheduledClose<Id> {
  readonly id: Id;
  readonly at: number;
}

/**
 * Spreads closes over `[begin, begin + window)`: the ids in random order, the window
 * cut into `ids.length` equal slots, one close at a uniformly random time in each slot
 * (stratified sampling). Returned sorted by `at`. `window ≤ 0` closes everything at
 * `begin`.
 *
 * Why stratified: any window of length `w` then holds at most `⌈w · n / window⌉ + 1`
 * closes, exactly and not only on average (101 in any 1 s for 1,000 tunnels over 10 s),
 * where independent uniform times would bunch up, and the jitter keeps the workers
 * draining the same server out of lockstep. The bound, what the caller's timer adds
 * to it, and the comparison: docs/algorithms.md#spreading-a-drain.
 *
 * @example
 * spreadCloses(["a", "b"], 1000, 10_000, () => 0.5);
 * // [{ id: "a", at: 3500 }, { id: "b", at: 8500 }]   (order random, one close per 5 s slot)
 */
export function spreadCloses<Id>(
  ids: readonly Id[],
  begin: number,
  window: number,
  random: () => number,
): ScheduledClose<Id>[] {
  const order = ids.slice();
  // Fisher–Yates: which tunnel gets which slot carries no meaning, so nobody (the oldest,
  // one client's many tabs that connected together) is systematically first.
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const n = order.length;
  const slot = window > 0 ? window / n : 0;
  return order.map((id, k) => ({ id, at: begin + slot * (k + random()) }));
}

/**
 * Timing of a server drain (DESIGN §4): tunnels stay up `drainTimeout` ms after `start`,
 * then close over the next `drainSpread` ms (default 10 s). `BackendConfig` has both.
 *
 * @example
 * const timing: DrainTiming = { start: now, drainTimeout: 30_000, drainSpread: 10_000 };
 */
export interface DrainTiming {
  readonly start: number;
  readonly drainTimeout: number;
  readonly drainSpread?: number;
}

/**
 * The close schedule of a draining server's tunnels: none before
 * `start + drainTimeout`, then spread by {@link spreadCloses} over `drainSpread`, with
 * its bound (for 1,000 tunnels and the default 10 s: ≤ 101 closes in any 1 s).
 *
 * Only ids are needed: every tunnel gets the same grace, counted from the drain, not
 * from when the tunnel opened, so a client that connected a second before the drain is
 * not treated differently from an old one.
 *
 * @example
 * const plan = planDrain(ids, { start: now, drainTimeout: backend.drainTimeout, drainSpread: backend.drainSpread }, Math.random);
 * plan[0].at >= now + backend.drainTimeout; // true
 */
export function planDrain<Id>(ids: readonly Id[], timing: DrainTiming, random: () => number): ScheduledClose<Id>[] {
  const spread = timing.drainSpread ?? DEFAULTS.drainSpread;
  return spreadCloses(ids, timing.start + Math.max(0, timing.drainTimeout), spread, random);
}

/**
 * A close schedule consumed by one coarse timer: `due(now)` pops every id whose time
 * has come, in time order. Ids of tunnels that closed on their own are still returned;
 * the caller skips the ones it no longer knows.
 *
 * @example
 * const schedule = new CloseSchedule(planDrain(ids, { start: now, drainTimeout: 30_000 }, Math.random));
 * schedule.nextAt;        // when to wake up first (undefined when empty)
 * schedule.due(now + 31_000); // ids closing in the first second of the spread
 */
export class CloseSchedule<Id> {
  #closes: readonly ScheduledClose<Id>[];
  #next = 0;

  /** `closes` as the planners return them; sorted again here if they are not. */
  constructor(closes: readonly ScheduledClose<Id>[]) {
    let sorted = true;
    for (let i = 1; i < closes.length && sorted; i++) sorted = closes[i - 1]!.at <= closes[i]!.at;
    this.#closes = sorted ? closes.slice() : closes.slice().sort((a, b) => a.at - b.at);
  }

  /**
   * Removes and returns the ids due at `now` (`at ≤ now`), earliest first.
   *
   * @example
   * for (const id of schedule.due(now)) tunnels.get(id)?.close(1012, "");
   */
  due(now: number): Id[] {
    const out: Id[] = [];
    while (this.#next < this.#closes.length && this.#closes[this.#next]!.at <= now) {
      out.push(this.#closes[this.#next]!.id);
      this.#next++;
    }
    return out;
  }

  /**
   * Time of the next close, `undefined` when none is left: arm a timer for it.
   *
   * @example
   * const at = schedule.nextAt;
   * if (at !== undefined) setTimeout(tick, Math.max(0, at - performance.now()));
   */
  get nextAt(): number | undefined {
    return this.#closes[this.#next]?.at;
  }

  /**
   * How many closes are still to come.
   *
   * @example
   * if (schedule.size === 0) log.info("drain complete");
   */
  get size(): number {
    return this.#closes.length - this.#next;
  }
}
