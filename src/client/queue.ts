import { QueueFullError } from "./errors.ts";

/**
 * The publish queue (DESIGN §7): every publish the hub has not confirmed yet, in the
 * order `publish()` was called, whether it is waiting for a connection or was sent and
 * awaits its `published` reply. Each carries a client-generated idempotency key, so
 * sending it again after a reconnect (the reply may have been lost with the connection)
 * is applied once by the hub. Bounded by `max`; PURE (no I/O, keys from a passed-in
 * random source).
 *
 * @example
 * const q = new PublishQueue(1_000, randomKey);
 * const p = q.add("chat:1", { text: "hi" });   // a promise of { offset, epoch }
 * for (const e of q.unsent()) send(e);           // marks them sent
 * q.settle(key, { offset: 18, epoch: "e1" });    // resolves p
 * q.rewind();                                    // on disconnect: everything unconfirmed goes again
 */

/** What a confirmed publish resolves with; both absent on a channel without history. */
export interface PublishResult {
  offset?: number;
  epoch?: string;
}

/** One publish waiting for the hub. */
export interface QueuedPublish {
  readonly key: string;
  readonly channel: string;
  readonly data: unknown;
  /** True once written to the current connection. */
  sent: boolean;
  /** How many times it was written (one per connection, plus retries after `unavailable`). */
  sends: number;
}

interface Entry extends QueuedPublish {
  resolve(r: PublishResult): void;
  reject(e: Error): void;
}

/**
 * A random idempotency key: 128 bits as 32 hex digits, from `crypto.getRandomValues`
 * (present in every browser context, unlike `randomUUID`, and in Node).
 *
 * @example
 * randomKey(); // "9f86d081884c7d659a2feaa0c55ad015"
 */
export function randomKey(fill: (b: Uint8Array<ArrayBuffer>) => void = (b) => void globalThis.crypto.getRandomValues(b)): string {
  const b = new Uint8Array(16);
  fill(b);
  let s = "";
  for (let i = 0; i < 16; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
  return s;
}

/**
 * The bounded queue of unconfirmed publishes; see the module comment.
 *
 * @example
 * const q = new PublishQueue(1000);
 * const { key, promise } = q.add("chat:1", '{"text":"hi"}');
 */
export class PublishQueue {
  readonly #max: number;
  readonly #newKey: () => string;
  readonly #entries = new Map<string, Entry>();

  constructor(max: number, newKey: () => string = () => randomKey()) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`queue.max must be an integer >= 1, got ${max}`);
    this.#max = max;
    this.#newKey = newKey;
  }

  /** Publishes waiting for the hub (queued or sent). */
  get size(): number {
    return this.#entries.size;
  }

  get max(): number {
    return this.#max;
  }

  /**
   * Queues a publish; the promise settles with the hub's answer. Throws
   * `QueueFullError` (synchronously, nothing queued) when `max` are waiting, and a
   * `TypeError` for a key already waiting.
   */
  add(channel: string, data: unknown, idempotencyKey?: string): { key: string; promise: Promise<PublishResult> } {
    if (this.#entries.size >= this.#max) throw new QueueFullError(this.#max);
    const key = idempotencyKey ?? this.#newKey();
    if (this.#entries.has(key)) throw new TypeError(`a publish with idempotency key "${key}" is already waiting for the hub`);
    let resolve!: (r: PublishResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<PublishResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#entries.set(key, { key, channel, data, sent: false, sends: 0, resolve, reject });
    return { key, promise };
  }

  /** The entries not yet written to this connection, in publish order; each is marked sent. */
  *unsent(): Generator<QueuedPublish> {
    for (const e of this.#entries.values()) {
      if (e.sent) continue;
      e.sent = true;
      e.sends++;
      yield e;
    }
  }

  /** The entry waiting under this key, if any. */
  get(key: string): QueuedPublish | undefined {
    return this.#entries.get(key);
  }

  /** The hub stored it: resolve and forget. False when the key is not waiting. */
  settle(key: string, result: PublishResult): boolean {
    const e = this.#entries.get(key);
    if (e === undefined) return false;
    this.#entries.delete(key);
    e.resolve(result);
    return true;
  }

  /** It will never be stored (a permanent error): reject and forget. */
  fail(key: string, error: Error): boolean {
    const e = this.#entries.get(key);
    if (e === undefined) return false;
    this.#entries.delete(key);
    e.reject(error);
    return true;
  }

  /** Send it again with the next `unsent()` (a temporary error from the hub). */
  retry(key: string): void {
    const e = this.#entries.get(key);
    if (e !== undefined) e.sent = false;
  }

  /** The connection is gone: every unconfirmed publish is sent again, in order, on the next one. */
  rewind(): void {
    for (const e of this.#entries.values()) e.sent = false;
  }

  /** Rejects everything (the client closed). `sentError` for publishes the hub may have stored. */
  failAll(unsentError: Error, sentError: Error): void {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    for (const e of all) e.reject(e.sends > 0 ? sentError : unsentError);
  }
}
