import { createHmac, randomBytes } from "node:crypto";

/**
 * TLS session ticket keys (what lets a returning client resume without a full
 * handshake), derived from a secret and the wall clock so that every worker of a
 * gateway computes the same keys without talking to the others, and rotated every
 * `periodMs`. Node keeps one ticket key per server: tickets issued before a rotation
 * are not accepted after it (those clients do one full handshake).
 *
 * @example
 * const keys = new TicketKeys(secret);
 * server.setTicketKeys(keys.current());
 * keys.start(() => server.setTicketKeys(keys.current()));
 */
export class TicketKeys {
  readonly #secret: Buffer;
  readonly #period: number;
  readonly #now: () => number;
  readonly #listeners = new Set<(keys: Buffer) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #epoch = -1;
  #keys: Buffer = Buffer.alloc(0);

  /** `secret`: shared by the workers of one gateway (random when absent: a single process). */
  constructor(secret: Buffer = randomBytes(32), periodMs = 12 * 3600_000, now: () => number = Date.now) {
    this.#secret = secret;
    this.#period = periodMs;
    this.#now = now;
  }

  /** The 48 bytes (name, HMAC key, AES key) of the current period. */
  current(): Buffer {
    const epoch = Math.floor(this.#now() / this.#period);
    if (epoch !== this.#epoch) {
      this.#epoch = epoch;
      const a = createHmac("sha256", this.#secret).update(`holdfast tls tickets ${epoch} a`).digest();
      const b = createHmac("sha256", this.#secret).update(`holdfast tls tickets ${epoch} b`).digest();
      this.#keys = Buffer.concat([a, b]).subarray(0, 48);
    }
    return this.#keys;
  }

  /** Calls `fn` with the new keys at every rotation (one timer for all listeners). */
  subscribe(fn: (keys: Buffer) => void): () => void {
    this.#listeners.add(fn);
    if (this.#timer === undefined) this.#arm();
    return () => {
      this.#listeners.delete(fn);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const now = this.#now();
    const next = (Math.floor(now / this.#period) + 1) * this.#period;
    this.#timer = setTimeout(() => {
      const keys = this.current();
      for (const fn of this.#listeners) fn(keys);
      this.#arm();
    }, next - now + 10);
    this.#timer.unref();
  }
}
