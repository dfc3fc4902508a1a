/**
 * Admission control (DESIGN §4 "Admission", issue 5 part 6): a token bucket per server
 * for new connections and upgrades, and the jittered retry hint sent to the clients it
 * refuses. PURE: the clock (`now`, ms) and randomness are parameters.
 *
 * @example
 * const bucket = new TokenBucket(backend.admission.rate, backend.admission.burst, now);
 * if (!bucket.take(now)) {
 *   const hint = jitteredRetryAfter(bucket.retryAfterMs(now), Math.random);
 *   // HTTP: 503 + `Retry-After: ${hint.seconds}`
 *   // WebSocket: accept, then close 1013 with reason `retry-after=${hint.ms}`
 * }
 */

// Tokens are counted in thousandths, so a refill is `elapsed ms × rate`: with an integer
// rate and an integer clock every operation is integer arithmetic, exact however long
// the bucket lives (a float `tokens += elapsed * rate / 1000` drifts, and a virtual
// clock test would see a token arrive one millisecond early or late).
const MILLI = 1000;

/**
 * A token bucket with lazy refill: no timer, the level is brought up to date on each
 * call from the time elapsed since the previous one. It starts full. `rate` is tokens per
 * second (may be fractional), `burst` the capacity (whole tokens, ≥ 1).
 *
 * A clock that steps backwards refills nothing and is otherwise ignored: the bucket
 * never hands out tokens twice for the same interval.
 *
 * @example
 * const b = new TokenBucket(10, 2, 0); // 10/s, burst 2
 * b.take(0); // true
 * b.take(0); // true
 * b.take(0); // false: empty
 * b.retryAfterMs(0); // 100: the next token arrives at t = 100
 * b.take(100); // true
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #level: number; // thousandths of a token
  #last: number;

  constructor(rate: number, burst: number, now: number) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be an integer ≥ 1, got ${burst}`);
    this.rate = rate;
    this.burst = burst;
    this.#level = burst * MILLI;
    this.#last = now;
  }

  /**
   * Takes `n` tokens if they are all there (then `true`), otherwise takes nothing.
   *
   * @example
   * if (!bucket.take(now)) refuse();
   */
  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#level < n * MILLI) return false;
    this.#level -= n * MILLI;
    return true;
  }

  /**
   * Whole tokens available at `now`: how many `take` may have at once.
   *
   * @example
   * const budget = bucket.available(now); // e.g. closes allowed this tick
   * bucket.take(now, Math.min(budget, wanted));
   */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#level / MILLI);
  }

  /**
   * Milliseconds from `now` until `n` tokens are there (0 if they are now; `Infinity` if
   * `n` exceeds the burst, so they never will be). Rounded up to the millisecond, so
   * `take(now + retryAfterMs(now))` succeeds if nobody else takes in between.
   *
   * @example
   * const b = new TokenBucket(3, 1, 0);
   * b.take(0);
   * b.retryAfterMs(0); // 334 (a token every 333.3 ms)
   */
  retryAfterMs(now: number, n = 1): number {
    if (n > this.burst) return Infinity;
    this.#refill(now);
    const missing = n * MILLI - this.#level;
    return missing <= 0 ? 0 : Math.ceil(missing / this.rate);
  }

  #refill(now: number): void {
    if (now <= this.#last) return;
    this.#level = Math.min(this.burst * MILLI, this.#level + (now - this.#last) * this.rate);
    this.#last = now;
  }
}

/**
 * A retry hint in both units a refused client can read: `ms` for the WebSocket close
 * reason `retry-after=<ms>`, `seconds` for the HTTP `Retry-After` header.
 *
 * @example
 * const hint: RetryHint = { ms: 1530, seconds: 2 };
 */
export interface RetryHint {
  readonly ms: number;
  readonly seconds: number;
}

/**
 * Spreads the retries of refused clients: uniform over the whole milliseconds of
 * `[ms, 2·ms)`. Not "full jitter" `[0, ms)`: a client told to come back before the
 * next token exists would only be refused again; here no client returns early, and the
 * returns are spread over a window as wide as the wait itself, so refusing a crowd does
 * not schedule the same crowd for one instant later.
 *
 * `seconds` is `ms` rounded up, at least 1 (`Retry-After: 0` invites an immediate
 * retry). HTTP cannot express less than a second, so sub-second hints all become 1 there;
 * the WebSocket hint keeps the full resolution. A bucket refilling at 200/s hints only
 * 5 ms: pass a floor if refused clients should stay away longer, e.g.
 * `jitteredRetryAfter(Math.max(bucket.retryAfterMs(now), 1000), random)`.
 *
 * @example
 * jitteredRetryAfter(1000, () => 0);     // { ms: 1000, seconds: 1 }
 * jitteredRetryAfter(1000, () => 0.999); // { ms: 1999, seconds: 2 }
 * jitteredRetryAfter(5, mulberry32(1));  // { ms: 5..9, seconds: 1 }
 */
export function jitteredRetryAfter(ms: number, random: () => number): RetryHint {
  if (!Number.isFinite(ms)) throw new RangeError(`a retry hint needs a finite delay, got ${ms}`);
  const base = ms > 0 ? Math.ceil(ms) : 0;
  const jittered = base + Math.floor(random() * base);
  return { ms: jittered, seconds: Math.max(1, Math.ceil(jittered / 1000)) };
}
