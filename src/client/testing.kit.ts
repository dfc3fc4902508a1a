import type { Timers } from "./timers.ts";

/**
 * Test helpers for the client's pure parts: a virtual clock with timers that fire only
 * when the test advances time (late, if the test says so, like a throttled tab), and a
 * random source that plays back given values.
 *
 * @example
 * const t = new FakeTimers();
 * t.setTimeout(() => fired++, 100);
 * t.advance(99); // nothing
 * t.advance(1);  // fired
 */
export class FakeTimers implements Timers {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  /** Extra lateness added to every timer (a background tab's throttling). */
  lateness = 0;

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms) + this.lateness, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers currently armed. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order (each at its own time). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}

/**
 * A random source that returns `values` in turn (then repeats them).
 *
 * @example
 * const r = playback([0.5, 0]);
 * r(); r(); r(); // 0.5, 0, 0.5
 */
export function playback(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}
