// Waiting in tests, with a deadline that fails with a message instead of hanging.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `pred` every `stepMs` until it holds; resolves with the time it took, or
 * rejects after `ms` naming `what` (a string, or a function for a message built at the
 * moment of failure).
 *
 * @example
 * const tookMs = await until(() => !server.up, 3000, "the server to be marked down");
 */
export async function until(pred: () => boolean, ms = 3000, what: string | (() => string) = "the condition", stepMs = 10): Promise<number> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(stepMs);
  }
  return performance.now() - t0;
}

/**
 * Polls `fn` (sync or async) until it returns something other than `undefined` or
 * `false`, and resolves with it; rejects after `ms`. A count is a value: `() =>
 * list.length` ends the wait at 0, so compare it (`list.length > 0`).
 *
 * @example
 * const row = await waitFor("the server's row", () => page.locator("tr").count().then((n) => n > 0 && n), 5000);
 */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000, stepMs = 10): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/**
 * `p`, or a rejection naming `what` after `ms`.
 *
 * @example
 * const exit = await within(proc.exited, 5000, "exit within 5 s of SIGTERM");
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

/**
 * How long a test waits for a gateway or hub process it spawned to say it is up: a bound
 * that only rules out a hang. A start takes about a second here, but on a 2-core machine
 * at load 30 (mutation runs and other suites beside this one) starts past 30 s were seen.
 */
export const PROCESS_START_MS = 60_000;
