import type { HubReply } from "../protocol/hub.ts";
import { ClientClosedError, HubError, RequestTimeoutError } from "./errors.ts";
import type { Link } from "./link.ts";
import type { Timers } from "./timers.ts";

/**
 * Requests that read from the hub (`presence()`, …): each waits for a connection if
 * there is none, is sent again on the next connection if the current one is lost
 * before the answer, and fails after `timeoutMs` either way.
 *
 * @example
 * const requests = new Requests(link, timers, 10_000);
 * const clients = await requests.request({ type: "presence", channel: "chat:1" }, (m) => (m.type === "presence" ? m.clients : []));
 */

interface Pending {
  cmd: Record<string, unknown>;
  pick: (m: HubReply) => unknown;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: unknown;
  sentId: number;
}

/**
 * Pending read requests; see the module comment.
 *
 * @example
 * requests.lost();  // the connection dropped: unanswered ones go again
 * requests.flush(); // connected again
 */
export class Requests {
  readonly #link: Link;
  readonly #timers: Timers;
  readonly #timeout: number;
  readonly #waiting = new Set<Pending>();

  constructor(link: Link, timers: Timers, timeoutMs: number) {
    this.#link = link;
    this.#timers = timers;
    this.#timeout = timeoutMs;
  }

  /** Sends `cmd` (now or once connected); resolves with `pick(reply)`, rejects with a `HubError` or a timeout. */
  request<T>(cmd: Record<string, unknown>, pick: (m: HubReply) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { cmd, pick, resolve: resolve as (v: unknown) => void, reject, sentId: 0, timer: null };
      p.timer = this.#timers.setTimeout(() => {
        this.#waiting.delete(p);
        if (p.sentId !== 0) this.#link.unregister(p.sentId);
        reject(new RequestTimeoutError(`${String(cmd.type)} ${String(cmd.channel ?? "")}`.trim(), this.#timeout));
      }, this.#timeout);
      this.#waiting.add(p);
      if (this.#link.open()) this.#send(p);
    });
  }

  /** Sends every request this connection has not carried. */
  flush(): void {
    for (const p of this.#waiting) if (p.sentId === 0) this.#send(p);
  }

  /** The connection is gone: unanswered requests go again on the next one. */
  lost(): void {
    for (const p of this.#waiting) p.sentId = 0;
  }

  /** The client closed: reject everything waiting. */
  failAll(reason: string): void {
    for (const p of this.#waiting) {
      this.#timers.clearTimeout(p.timer);
      p.reject(new ClientClosedError(`the client closed (${reason}) before the hub answered`));
    }
    this.#waiting.clear();
  }

  #send(p: Pending): void {
    p.sentId = this.#link.register((m) => {
      if (m.type === "error" && m.code === "token_expired") {
        p.sentId = 0;
        return void this.#link.refresh().then(() => this.flush());
      }
      this.#waiting.delete(p);
      this.#timers.clearTimeout(p.timer);
      if (m.type === "error") p.reject(new HubError(m.code, m.message, m.temporary === true));
      else p.resolve(p.pick(m));
    });
    this.#link.send(JSON.stringify({ id: p.sentId, ...p.cmd }));
  }
}
