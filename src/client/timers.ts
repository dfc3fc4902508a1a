/**
 * The clock and timers the SDK runs on, passed in so tests can drive them. In a browser
 * and in Node the defaults are `performance.now()` and the global timers.
 *
 * @example
 * const t: Timers = systemTimers();
 * const h = t.setTimeout(() => console.log(t.now()), 100);
 * t.clearTimeout(h);
 */
export interface Timers {
  /** Monotonic ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The global clock and timers.
 *
 * @example
 * systemTimers().now(); // performance.now()
 */
export function systemTimers(): Timers {
  return {
    now: () => performance.now(),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
  };
}
