/**
 * The Redis broker's pub/sub side: one subscriber connection, the channels it carries,
 * and the health of the whole broker (`up`, `state` events).
 *
 * Redis pub/sub is at-most-once and a subscriber connection can go quiet without
 * closing (a failover, a half-open TCP connection, a proxy). So the subscriber is
 * proven, not trusted: when it has received nothing for `probeIntervalMs`, a probe is
 * published (on the command connection) to this node's own channel and must come back
 * within `probeTimeoutMs`. Any failure — the probe, either connection dropping — marks
 * the broker down (`state(false, reason)`) and starts one recovery loop: a new
 * subscriber connection (never node-redis's automatic reconnect, so re-subscription is
 * explicit), every channel subscribed again, a probe round trip, then `state(true)`.
 * Publications that arrived in between are delivered; the hub re-reads every channel's
 * position on `state(true)` to repair what was missed.
 *
 * @example
 * const ps = new RedisPubSub({ cmd, events, prefix: "holdfast", node: "hub-1", probeIntervalMs: 1000, probeTimeoutMs: 2000, connectTimeoutMs: 2000 });
 * await ps.start(AbortSignal.timeout(5000));
 * await ps.subscribe("chat:1", "holdfast:{chat:1}");
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { createClient } from "redis";
import { decodeMessage } from "./redis-lua.ts";
import { BrokerUnavailableError, type BrokerEvents } from "./types.ts";

type Client = ReturnType<typeof createClient>;
type Listener = (message: string, channel: string) => void;

export interface RedisPubSubOptions {
  /** The command connection: probes are published on it, the subscriber is its duplicate. */
  cmd: Client;
  events: BrokerEvents;
  prefix: string;
  node: string;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  connectTimeoutMs: number;
}

const SUBSCRIBE_BATCH = 1000;

/**
 * A node's subscriber connection and health state.
 *
 * @example
 * ps.up; // false while recovering
 */
export class RedisPubSub {
  readonly #o: RedisPubSubOptions;
  readonly #probeChannel: string;
  /** pub/sub channel → hub channel */
  readonly #channels = new Map<string, string>();
  readonly #pending = new Map<string, Promise<void>>();
  #sub: Client | undefined;
  #listener: Listener | undefined;
  #up = false;
  #closed = false;
  #recovering: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastMessageAt = 0;
  #probeSeq = 0;
  #probeWaiter: { token: string; done: (ok: boolean) => void } | undefined;
  #probing = false;
  readonly #stop = new AbortController();

  constructor(o: RedisPubSubOptions) {
    this.#o = o;
    this.#probeChannel = `${o.prefix}:node:${o.node}`;
  }

  get up(): boolean {
    return this.#up && !this.#closed;
  }

  /** How many channels the subscriber carries (the probe channel not counted). */
  get channels(): number {
    return this.#channels.size;
  }

  /** Connects the subscriber and proves it; rejects when that fails. */
  async start(deadline: AbortSignal): Promise<void> {
    await this.#connect();
    if (deadline.aborted) throw new Error("start timed out");
    this.#up = true;
    this.#timer = setInterval(() => void this.#tick(), Math.max(50, this.#o.probeIntervalMs / 2));
    this.#timer.unref();
  }

  async subscribe(channel: string, pubsub: string): Promise<void> {
    const pending = this.#pending.get(pubsub);
    if (pending !== undefined) return pending;
    if (this.#channels.has(pubsub)) return;
    const sub = this.#sub;
    if (!this.up || sub === undefined) throw new BrokerUnavailableError("redis pub/sub is down; subscribe again once it is back");
    this.#channels.set(pubsub, channel);
    const p = sub.subscribe(pubsub, this.#listener!).then(
      () => void this.#pending.delete(pubsub),
      (e: unknown) => {
        this.#pending.delete(pubsub);
        this.#channels.delete(pubsub);
        throw new BrokerUnavailableError(`redis subscribe ${channel}: ${(e as Error).message}`, { cause: e });
      },
    );
    this.#pending.set(pubsub, p);
    return p;
  }

  async unsubscribe(_channel: string, pubsub: string): Promise<void> {
    await this.#pending.get(pubsub)?.catch(() => {});
    if (!this.#channels.delete(pubsub)) return;
    // a failure leaves a dead subscription on a connection that is being replaced anyway;
    // messages for channels no longer in the map are dropped
    await this.#sub?.unsubscribe(pubsub, this.#listener).catch(() => {});
  }

  /** The command connection failed: down until a recovery proves both connections. */
  commandDown(reason: string): void {
    this.#down(reason);
    this.#recover();
  }

  /** The command connection is back: recover now rather than after the next backoff. */
  commandUp(): void {
    if (!this.#up) this.#recover();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    clearInterval(this.#timer);
    this.#probeWaiter?.done(false);
    this.#drop();
    await this.#recovering?.catch(() => {});
  }

  /** A new subscriber: connect, subscribe everything, prove it with a probe. */
  async #connect(): Promise<void> {
    this.#drop();
    const sub = this.#o.cmd.duplicate({
      disableOfflineQueue: true,
      socket: { connectTimeout: this.#o.connectTimeoutMs, reconnectStrategy: false },
    });
    const listener: Listener = (message, channel) => {
      if (this.#sub === sub) this.#onMessage(message, channel);
    };
    sub.on("error", (e: Error) => this.#subscriberFailed(sub, `redis pub/sub connection: ${e.message}`));
    this.#sub = sub;
    this.#listener = listener;
    try {
      await sub.connect();
      const all = [this.#probeChannel, ...this.#channels.keys()];
      for (let i = 0; i < all.length; i += SUBSCRIBE_BATCH) await sub.subscribe(all.slice(i, i + SUBSCRIBE_BATCH), listener);
      if (!(await this.#probe())) throw new Error(`pub/sub probe unanswered within ${this.#o.probeTimeoutMs} ms`);
    } catch (e) {
      if (this.#sub === sub) this.#drop();
      throw e;
    }
  }

  #drop(): void {
    const sub = this.#sub;
    this.#sub = undefined;
    this.#listener = undefined;
    if (sub !== undefined && sub.isOpen) sub.destroy();
  }

  #subscriberFailed(sub: Client, reason: string): void {
    if (sub !== this.#sub) return; // an old connection's last words
    this.#drop();
    this.#down(reason);
    this.#recover();
  }

  #down(reason: string): void {
    if (!this.#up || this.#closed) return;
    this.#up = false;
    this.#o.events.state(false, reason);
  }

  /** One recovery loop at a time, with backoff, until both connections are proven. */
  #recover(): void {
    if (this.#recovering !== undefined || this.#closed) return;
    this.#recovering = (async () => {
      for (let attempt = 0; !this.#closed; attempt++) {
        try {
          if (!this.#o.cmd.isReady) throw new Error("command connection not ready");
          if (this.#sub === undefined || !(await this.#probe())) await this.#connect();
          if (this.#closed) return;
          this.#up = true;
          this.#o.events.state(true, `redis pub/sub re-established (${this.#channels.size} channels subscribed again)`);
          return;
        } catch {
          await sleep(Math.min(50 * 2 ** attempt, 2000), undefined, { signal: this.#stop.signal }).catch(() => {});
        }
      }
    })().finally(() => (this.#recovering = undefined));
  }

  async #tick(): Promise<void> {
    if (!this.#up || this.#probing || this.#recovering !== undefined) return;
    if (Date.now() - this.#lastMessageAt < this.#o.probeIntervalMs) return;
    this.#probing = true;
    const sub = this.#sub;
    try {
      if (!(await this.#probe()) && sub !== undefined) this.#subscriberFailed(sub, `redis pub/sub probe unanswered within ${this.#o.probeTimeoutMs} ms`);
    } finally {
      this.#probing = false;
    }
  }

  /** Publishes a probe to this node's channel; true when it came back in time. */
  #probe(): Promise<boolean> {
    this.#probeWaiter?.done(false);
    const token = `${this.#o.node}:${++this.#probeSeq}`;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => waiter.done(false), this.#o.probeTimeoutMs);
      const waiter = {
        token,
        done: (ok: boolean) => {
          clearTimeout(timer);
          if (this.#probeWaiter === waiter) this.#probeWaiter = undefined;
          resolve(ok);
        },
      };
      this.#probeWaiter = waiter;
      this.#o.cmd.publish(this.#probeChannel, token).catch(() => waiter.done(false));
    });
  }

  #onMessage(message: string, pubsub: string): void {
    this.#lastMessageAt = Date.now();
    if (pubsub === this.#probeChannel) {
      if (this.#probeWaiter?.token === message) this.#probeWaiter.done(true);
      return;
    }
    const channel = this.#channels.get(pubsub);
    if (channel === undefined) return;
    let m;
    try {
      m = decodeMessage(message);
    } catch {
      return; // not ours (someone else publishing on our prefix): ignored
    }
    if (m.kind === "pub") this.#o.events.publication(channel, m.pub);
    else if (m.kind === "join") this.#o.events.join(channel, m.who);
    else if (m.kind === "leave") this.#o.events.leave(channel, m.who);
  }
}
