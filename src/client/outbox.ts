import type { ErrorReply } from "../protocol/hub.ts";
import { ClientClosedError, HubError, MessageTooLargeError } from "./errors.ts";
import type { Link } from "./link.ts";
import { PublishQueue, type PublishResult } from "./queue.ts";

/**
 * The client's publishes (DESIGN §7): `publish()` puts each in the queue with its
 * idempotency key; `flush()` sends what this connection has not carried yet, in order;
 * the reply settles it. Temporary refusals go again with the same key after a backoff,
 * permanent ones reject, and a publish over the hub's `maxMessageBytes` is rejected
 * without being sent.
 *
 * @example
 * const outbox = new Outbox(1000, link);
 * const p = outbox.publish("chat:1", { text: "hi" });
 * outbox.flush(); // once connected
 */

/** The UTF-8 size of `s` when it may exceed `max` (0 when it surely does not): encodes only when in doubt. */
function bytesOver(s: string, max: number): number {
  if (s.length * 3 <= max) return 0;
  const n = s.length > max ? s.length : new TextEncoder().encode(s).length;
  return n > max ? n : 0;
}

/**
 * The client's publish path; see the module comment.
 *
 * @example
 * new Outbox(1000, link).publish("chat:1", { text: "hi" }, undefined);
 */
export class Outbox {
  readonly #queue: PublishQueue;
  readonly #link: Link;
  /** The hub's `maxMessageBytes`, from the last `connected`. */
  maxBytes = Infinity;
  #retries = 0;

  constructor(max: number, link: Link) {
    this.#queue = new PublishQueue(max);
    this.#link = link;
  }

  /** Publishes waiting for the hub. */
  get size(): number {
    return this.#queue.size;
  }

  /** Queues a publish and sends it if connected. Never throws: a bad publish is a rejected promise. */
  publish(channel: string, data: unknown, idempotencyKey: string | undefined): Promise<PublishResult> {
    try {
      if (typeof channel !== "string" || channel === "") throw new TypeError("publish() needs a channel name");
      const json = data === undefined ? undefined : JSON.stringify(data);
      if (json === undefined) throw new TypeError("publish() needs data that JSON can encode (not undefined or a function)");
      const { promise } = this.#queue.add(channel, json, idempotencyKey);
      this.flush();
      return promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Sends, in order, every publish the current connection has not carried. */
  flush(): void {
    if (!this.#link.open()) return;
    for (const e of this.#queue.unsent()) {
      const key = e.key;
      const id = this.#link.register((m) => {
        if (m.type === "published") {
          const r: PublishResult = {};
          if (m.offset !== undefined) r.offset = m.offset;
          if (m.epoch !== undefined) r.epoch = m.epoch;
          this.#queue.settle(key, r);
          this.#retries = 0;
        } else if (m.type === "error") {
          this.#refused(key, m);
        }
      });
      const json = `{"id":${id},"type":"publish","channel":${JSON.stringify(e.channel)},"data":${e.data as string},"idempotencyKey":"${key}"}`;
      const bytes = bytesOver(json, this.maxBytes);
      if (bytes > 0) {
        this.#link.unregister(id);
        this.#queue.fail(key, new MessageTooLargeError(bytes, this.maxBytes));
        continue;
      }
      this.#link.send(json);
    }
  }

  /** The connection is gone: everything unconfirmed goes again on the next one. */
  lost(): void {
    this.#queue.rewind();
  }

  /** The client closed: reject what waits, saying whether it may have been stored. */
  failAll(reason: string): void {
    this.#queue.failAll(
      new ClientClosedError(`the client closed (${reason}) before this publish was sent; it was not stored`),
      new ClientClosedError(`the client closed (${reason}) before the hub confirmed this publish; it may have been stored: publish again with the same idempotencyKey to find out`),
    );
  }

  #refused(key: string, m: ErrorReply): void {
    if (m.code === "token_expired") {
      this.#queue.retry(key);
      return void this.#link.refresh().then(() => this.flush());
    }
    // `unavailable`/`internal`: nothing was stored; the same key again later. A
    // `limit_exceeded` publish (too large) would fail the same way every time.
    if (m.temporary === true && m.code !== "limit_exceeded") {
      this.#queue.retry(key);
      return this.#link.retrySoon(this.#retries++);
    }
    this.#queue.fail(key, new HubError(m.code, m.message, m.temporary === true));
  }
}
