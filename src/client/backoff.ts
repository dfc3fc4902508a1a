/**
 * Reconnect delays (DESIGN §7). PURE: randomness comes in as a parameter.
 *
 * Full jitter (AWS, "Exponential backoff and jitter"): the n-th consecutive retry waits
 * `random(0, min(max, min·factor^n))`. Of the usual policies it spreads a fleet that
 * dropped at the same instant the widest, so a hub that restarts sees a trickle, not a
 * wave. A server's `retry-after=<ms>` hint replaces the backoff for that retry.
 *
 * @example
 * const o = backoffOptions({ min: 250, max: 30_000 });
 * backoffDelay(0, o, Math.random); // somewhere in [0, 250)
 * backoffDelay(10, o, Math.random); // somewhere in [0, 30000)
 * hintDelay(2_500, o.min, Math.random); // somewhere in [2500, 3500)
 */

/** How the delay is drawn below its ceiling. */
export type Jitter = "full" | "equal" | "none";

/** The backoff policy: `delay = random(0, min(max, min·factor^attempt))` for `jitter: "full"`. */
export interface BackoffOptions {
  /** The ceiling of the first retry, in ms. */
  min: number;
  /** The largest ceiling, in ms. */
  max: number;
  /** How much the ceiling grows per consecutive failure. */
  factor: number;
  /** `full`: uniform in [0, ceiling); `equal`: [ceiling/2, ceiling); `none`: the ceiling itself. */
  jitter: Jitter;
}

/**
 * The SDK's defaults: 250 ms, doubling, capped at 30 s, full jitter.
 *
 * @example
 * backoffOptions({}).max; // 30000
 */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ min: 250, max: 30_000, factor: 2, jitter: "full" });

/**
 * Fills in defaults and checks a (partial) backoff policy; throws a `RangeError` that
 * names the bad field.
 *
 * @example
 * backoffOptions({ min: 100 }); // { min: 100, max: 30000, factor: 2, jitter: "full" }
 * backoffOptions({ min: -1 });  // throws RangeError: backoff.min must be ...
 */
export function backoffOptions(o: Partial<BackoffOptions> | undefined): BackoffOptions {
  const r = { ...DEFAULT_BACKOFF, ...o };
  if (!Number.isFinite(r.min) || r.min < 0) throw new RangeError(`backoff.min must be a finite number of ms >= 0, got ${r.min}`);
  if (!Number.isFinite(r.max) || r.max < r.min) throw new RangeError(`backoff.max must be a finite number of ms >= backoff.min (${r.min}), got ${r.max}`);
  if (!Number.isFinite(r.factor) || r.factor < 1) throw new RangeError(`backoff.factor must be a number >= 1, got ${r.factor}`);
  if (r.jitter !== "full" && r.jitter !== "equal" && r.jitter !== "none") throw new RangeError(`backoff.jitter must be "full", "equal" or "none", got ${JSON.stringify(r.jitter)}`);
  return r;
}

/**
 * The ceiling of the `attempt`-th consecutive retry (0-based): `min(max, min·factor^attempt)`.
 *
 * @example
 * backoffCeiling(3, { min: 250, max: 30_000, factor: 2, jitter: "full" }); // 2000
 */
export function backoffCeiling(attempt: number, o: BackoffOptions): number {
  // factor^attempt overflows to Infinity for a long outage; min() caps it.
  return Math.min(o.max, o.min * o.factor ** Math.max(0, attempt));
}

/**
 * The delay before the `attempt`-th consecutive retry (0-based), in ms.
 *
 * @example
 * backoffDelay(2, { min: 100, max: 1000, factor: 2, jitter: "none" }, Math.random); // 400
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number): number {
  const ceiling = backoffCeiling(attempt, o);
  if (o.jitter === "none") return ceiling;
  if (o.jitter === "equal") return ceiling / 2 + random() * (ceiling / 2);
  return random() * ceiling;
}

/**
 * The delay after a server's `retry-after=<ms>` hint: the hint plus a uniform jitter of
 * up to the hint again, at least `spreadMs` (the backoff's `min`, so `retry-after=0`
 * still spreads) and at most 1 s (or `spreadMs` if larger). The hint says "not before";
 * the jitter keeps clients that got the same hint at the same instant from coming back
 * together. It is capped because servers that send long hints already spread them (the
 * gateway draws a dead server's hints over `drainSpread`): doubling a 10 s hint would
 * only keep clients away longer.
 *
 * @example
 * hintDelay(400, 250, () => 0.5);    // 600
 * hintDelay(0, 250, () => 0.5);      // 125
 * hintDelay(10_000, 250, () => 0.5); // 10500
 */
export function hintDelay(hintMs: number, spreadMs: number, random: () => number): number {
  return hintMs + random() * Math.min(Math.max(hintMs, spreadMs), Math.max(1000, spreadMs));
}
