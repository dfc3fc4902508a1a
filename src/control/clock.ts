import type { Clock } from "../core/health/checker.ts";

/**
 * The process's timers, `performance.now()` and `Math.random()`: the {@link Clock} the
 * control plane hands to the pure schedulers in `core/` (tests hand them a fake one).
 *
 * @example
 * new HealthChecker({ config, probe, clock: systemClock });
 */
export const systemClock: Clock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  now: () => performance.now(),
  random: () => Math.random(),
};
