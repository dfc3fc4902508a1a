import { setTimeout as sleep } from "node:timers/promises";
import { connect, type Client, type ClientOptions } from "../../src/client/index.ts";
import { DeliveryAudit } from "./audit.ts";
import { E2E_API_TOKEN } from "./cluster.ts";

/**
 * The fleet of the end-to-end proof (issue 11, part 9): N clients of the SDK on one
 * channel, each recording what it delivered (and when) and every connection attempt;
 * a publisher at a steady rate through the gateway; and the checks and profile the test
 * and the bench report: exactly once and in order, reconnects per second, time until
 * every client is back, messages delivered late.
 *
 * @example
 * const fleet = await Fleet.start(cluster.url, 50, "e2e:room");
 * const pub = new Publisher(cluster.httpUrl, "e2e:room", 20).start();
 * // ... kill a node ...
 * await fleet.checkpoint(pub.count); // { from: 0, to: 212, lost: 0, duplicates: 0, … } since the start
 * // ... drain a node ...
 * await fleet.checkpoint(pub.count); // { from: 212, to: 530, … } since the checkpoint before
 * await pub.stop();
 * await fleet.waitDelivered(pub.count);
 * fleet.verify(pub.count); // { clients: 50, complete: 50, lost: 0, duplicates: 0, outOfOrder: 0 }
 */

export interface Member {
  readonly client: Client;
  /** Publication data (the publisher's sequence numbers), in delivery order. */
  readonly got: number[];
  readonly recvAt: number[];
  /** When each connection attempt started / each connection opened (performance.now()). */
  readonly attempts: number[];
  readonly opens: number[];
  /** The highest message delivered. */
  high: number;
  /** `subscribed` events that said `recovered: false` after a resubscribe. */
  unrecovered: number;
}

/**
 * What a checkpoint found for the messages published since the checkpoint before
 * (`from + 1 .. to`), summed over the clients: see `DeliveryAudit` for what counts.
 */
export interface Checkpoint {
  from: number;
  to: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Resubscribes answered `recovered: false` since the checkpoint before. */
  unrecovered: number;
  /** Clients that had not delivered `to` (or anything after it) when the wait ran out. */
  behind: number;
  /** The first thing wrong, with its client's index; null if nothing. */
  first: string | null;
}

export class Fleet {
  readonly members: Member[] = [];
  readonly #audits: { audit: DeliveryAudit; unrecovered: number }[] = [];
  #checked = 0;

  /** Connects `n` clients (a few at a time) and waits until every one is subscribed. */
  static async start(url: string, n: number, channel: string, opts: ClientOptions = {}, timeoutMs = 60_000): Promise<Fleet> {
    const f = new Fleet();
    for (let i = 0; i < n; i++) {
      const client = connect(url, opts);
      const m: Member = { client, got: [], recvAt: [], attempts: [], opens: [], high: 0, unrecovered: 0 };
      client.on("state", (s) => {
        if (s === "connecting") m.attempts.push(performance.now());
        else if (s === "open") m.opens.push(performance.now());
      });
      const sub = client.subscribe(channel);
      sub.on("message", (e) => {
        const x = e.data as number;
        m.got.push(x);
        m.recvAt.push(performance.now());
        if (x > m.high) m.high = x;
      });
      sub.on("subscribed", (e) => void (e.wasRecovering && !e.recovered && m.unrecovered++));
      f.members.push(m);
      f.#audits.push({ audit: new DeliveryAudit(), unrecovered: 0 });
      if (i % 20 === 19) await sleep(20);
    }
    await f.until("every client subscribed", () => f.members.every((m) => m.client.getSubscription(channel)?.state === "subscribed"), timeoutMs);
    return f;
  }

  async until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
    if (!(await Fleet.#poll(cond, timeoutMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.summary()}`);
  }

  /** True once `cond` holds, false if it still does not after `timeoutMs`. */
  static async #poll(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!cond()) {
      if (performance.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  /** Clients served by `node` now. */
  on(node: string): Member[] {
    return this.members.filter((m) => m.client.session?.node === node);
  }

  /** Waits until every client is open and nothing reconnected for `quietMs`. */
  async settle(quietMs = 1000, timeoutMs = 60_000): Promise<void> {
    await this.until("every client open and quiet", () => {
      if (!this.members.every((m) => m.client.state === "open")) return false;
      const last = Math.max(...this.members.map((m) => m.attempts.at(-1) ?? 0));
      return performance.now() - last >= quietMs;
    }, timeoutMs);
  }

  /** Waits until every client delivered `count` messages (or more: a duplicate shows in verify). */
  async waitDelivered(count: number, timeoutMs = 60_000): Promise<void> {
    await this.until(`every client to deliver ${count} messages`, () => this.members.every((m) => m.got.length >= count), timeoutMs);
  }

  /**
   * Checks every client's deliveries against the messages published up to `to`, reading
   * only what arrived since the checkpoint before and judging only messages after it.
   * Delivery in flight is not loss: it first waits (up to `timeoutMs`, without throwing)
   * until every client has delivered `to` or a later message; whatever is still missing
   * then counts as lost, and the clients short of `to` as `behind`.
   */
  async checkpoint(to: number, timeoutMs = 60_000): Promise<Checkpoint> {
    const from = this.#checked;
    if (to < from) throw new Error(`checkpoint ${to} is before the last one (${from})`);
    const caughtUp = (m: Member): boolean => m.high >= to;
    await Fleet.#poll(() => this.members.every(caughtUp), timeoutMs);
    const r: Checkpoint = { from, to, lost: 0, duplicates: 0, outOfOrder: 0, unrecovered: 0, behind: 0, first: null };
    for (const [i, m] of this.members.entries()) {
      const a = this.#audits[i]!;
      const c = a.audit.audit(m.got, from, to);
      r.lost += c.lost;
      r.duplicates += c.duplicates;
      r.outOfOrder += c.outOfOrder;
      r.unrecovered += m.unrecovered - a.unrecovered;
      a.unrecovered = m.unrecovered;
      if (!caughtUp(m)) r.behind++;
      if (c.first !== null) r.first ??= `client ${i}: ${c.first}`;
    }
    this.#checked = to;
    return r;
  }

  /** Every client must hold exactly 1..count, once each, in order: the whole history audited again from the start. */
  verify(count: number): { clients: number; complete: number; lost: number; duplicates: number; outOfOrder: number; unrecovered: number } {
    let complete = 0;
    let lost = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    let unrecovered = 0;
    for (const m of this.members) {
      const c = new DeliveryAudit().audit(m.got, 0, count);
      lost += c.lost;
      duplicates += c.duplicates;
      outOfOrder += c.outOfOrder;
      // with nothing lost, repeated or reordered, count deliveries are exactly 1..count
      if (c.lost + c.duplicates + c.outOfOrder === 0 && m.got.length === count) complete++;
      unrecovered += m.unrecovered;
    }
    return { clients: this.members.length, complete, lost, duplicates, outOfOrder, unrecovered };
  }

  /** Connection attempts at or after `from`, by everyone (or the given members). */
  attemptsSince(from: number, members: Member[] = this.members): number[] {
    return members.flatMap((m) => m.attempts.filter((t) => t >= from)).sort((a, b) => a - b);
  }

  /** One line for an error message. */
  summary(): string {
    const states = new Map<string, number>();
    for (const m of this.members) states.set(m.client.state, (states.get(m.client.state) ?? 0) + 1);
    const got = this.members.map((m) => m.got.length);
    return `states ${JSON.stringify(Object.fromEntries(states))}, delivered min ${Math.min(...got)} max ${Math.max(...got)}`;
  }

  close(): void {
    for (const m of this.members) m.client.close();
  }
}

/**
 * Publishes 1, 2, 3, … on `channel` through the hub's server API at `rate` per second,
 * one at a time; a publish that fails (its node died, the gateway answered 502/503) is
 * retried with the same idempotency key until it is stored, so each number is stored
 * once and in order.
 */
export class Publisher {
  readonly #url: string;
  readonly #channel: string;
  readonly #interval: number;
  readonly #run = Math.random().toString(36).slice(2, 8);
  /** When publish i+1 was confirmed stored (performance.now()). */
  readonly storedAt: number[] = [];
  retries = 0;
  #running = false;
  #loop: Promise<void> | null = null;

  constructor(httpUrl: string, channel: string, rate: number) {
    this.#url = `${httpUrl}/api/publish`;
    this.#channel = channel;
    this.#interval = 1000 / rate;
  }

  get count(): number {
    return this.storedAt.length;
  }

  start(): this {
    this.#running = true;
    this.#loop = (async () => {
      let next = performance.now();
      while (this.#running) {
        const n = this.count + 1;
        for (;;) {
          try {
            const res = await fetch(this.#url, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${E2E_API_TOKEN}` },
              body: JSON.stringify({ channel: this.#channel, data: n, idempotencyKey: `${this.#run}-${n}` }),
              signal: AbortSignal.timeout(5000),
            });
            const body = (await res.json()) as { offset?: number };
            if (res.status === 200 && body.offset !== undefined) break;
          } catch {
            // the node died under the request, or the gateway had nowhere to send it
          }
          this.retries++;
          await sleep(50);
        }
        this.storedAt.push(performance.now());
        next += this.#interval;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        else next = performance.now();
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

/** The busiest `bucketMs` window of `times` (ms), as a rate per second. */
export function peakRate(times: number[], bucketMs = 100): number {
  const counts = new Map<number, number>();
  let peak = 0;
  for (const t of times) {
    const b = Math.floor(t / bucketMs);
    const c = (counts.get(b) ?? 0) + 1;
    counts.set(b, c);
    if (c > peak) peak = c;
  }
  return (peak * 1000) / bucketMs;
}

/**
 * How late messages reached clients: delivery time minus the time the publish was
 * stored, for every delivery of messages `from..to` (1-based sequence numbers).
 */
export function lateness(fleet: Fleet, pub: Publisher, from: number, to: number, lateMs = 1000): { deliveries: number; late: number; maxMs: number; p99Ms: number } {
  const all: number[] = [];
  for (const m of fleet.members) {
    m.got.forEach((x, i) => {
      if (x < from || x > to) return;
      all.push(Math.max(0, m.recvAt[i]! - pub.storedAt[x - 1]!));
    });
  }
  all.sort((a, b) => a - b);
  return {
    deliveries: all.length,
    late: all.filter((x) => x > lateMs).length,
    maxMs: all.at(-1) ?? 0,
    p99Ms: all[Math.floor(all.length * 0.99)] ?? 0,
  };
}
