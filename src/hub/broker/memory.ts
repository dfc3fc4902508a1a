/**
 * The embedded broker (`broker: { type: memory }`, the default): one process's channels,
 * history, idempotency keys and presence, in a {@link MemoryStore}. Several brokers may
 * share one store, so two hub nodes in one process behave like two nodes on one Redis
 * (each sees the other's publications, presence and joins). A new store is a new world:
 * every channel gets a new epoch.
 *
 * Semantics, the same as the Redis broker's (the conformance suite checks both):
 * - offsets 1, 2, 3… per channel, assigned with the append; exact trim to `size`;
 *   history (and the epoch) expire `ttlMs` after the channel's last publication, and a
 *   channel without metadata starts a new epoch at offset 0;
 * - an idempotency key (per channel) is applied once within its TTL (default 5 min);
 *   a repeat gets the first result with `duplicate: true`;
 * - presence entries expire `ttlMs` after their last join/touch; expired entries are
 *   swept (with a leave event) on every join, touch and presence read of the channel;
 *   a touch re-adds (and announces) an entry that had expired or was swept;
 * - publications, joins and leaves reach the brokers subscribed to the channel in a
 *   microtask after they happen, in order.
 *
 * Nothing here is hot-path heavy: a publish is one array push, a trim and one microtask.
 *
 * @example
 * const store = new MemoryStore();
 * const a = new MemoryBroker({ store }), b = new MemoryBroker({ store }); // two nodes
 * await b.start(events); await b.subscribe("chat:1");
 * await a.publish("chat:1", { data: '"hi"', history: { size: 100, ttlMs: 60_000 } }); // b gets it
 */
import { randomBytes } from "node:crypto";
import type { ClientInfo } from "../../protocol/hub.ts";
import {
  BrokerUnavailableError,
  IDEMPOTENCY_TTL_MS,
  type Broker,
  type BrokerEvents,
  type BrokerPublication,
  type HistoryOptions,
  type HistoryQuery,
  type HistoryResult,
  type PublishOptions,
  type PublishResult,
} from "./types.ts";

interface ChannelHistory {
  epoch: string;
  offset: number;
  entries: BrokerPublication[];
  expiresAt: number;
}

interface PresenceEntry {
  who: ClientInfo;
  expiresAt: number;
}

/** How a store reaches one broker (a hub node): its events and subscriptions. */
export interface MemoryLink {
  readonly events: BrokerEvents;
  readonly channels: Set<string>;
}

export interface MemoryStoreOptions {
  /** The store's clock, ms (default `Date.now`): tests move it to expire history and presence. */
  now?: () => number;
  /** Makes a new epoch (default: 12 random base64url characters). */
  newEpoch?: () => string;
}

/**
 * The state several {@link MemoryBroker}s share (one per process in production).
 *
 * @example
 * let t = 0;
 * const store = new MemoryStore({ now: () => t });
 */
export class MemoryStore {
  readonly now: () => number;
  readonly newEpoch: () => string;
  /** Ordered by last publication, so expired channels are found at the front. */
  readonly #history = new Map<string, ChannelHistory>();
  /** `channel \n key` → the first result; ordered by insertion (≈ expiry). */
  readonly #idempotency = new Map<string, { result: PublishResult; expiresAt: number }>();
  readonly #presence = new Map<string, Map<string, PresenceEntry>>();
  readonly #subscribers = new Map<string, Set<MemoryLink>>();
  readonly #links = new Set<MemoryLink>();
  #available = true;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.newEpoch = opts.newEpoch ?? (() => randomBytes(9).toString("base64url"));
  }

  /** False while a simulated outage lasts ({@link MemoryStore.setAvailable}). */
  get available(): boolean {
    return this.#available;
  }

  /**
   * Simulates an outage (for tests and drills): while unavailable every operation
   * rejects with `BrokerUnavailableError` and nothing is stored or delivered; each
   * started broker reports `state(false)`, then `state(true)` when it ends.
   *
   * @example
   * store.setAvailable(false); // publishes now reject
   */
  setAvailable(available: boolean): void {
    if (available === this.#available) return;
    this.#available = available;
    const reason = available ? "memory store available" : "memory store unavailable (simulated)";
    for (const link of this.#links) link.events.state(available, reason);
  }

  /**
   * What the store holds (for the admin page): channels with history, idempotency keys,
   * channels with presence entries.
   *
   * @example
   * store.stats(); // { channels: 12, idempotencyKeys: 3, presenceChannels: 2 }
   */
  stats(): { channels: number; idempotencyKeys: number; presenceChannels: number } {
    return { channels: this.#history.size, idempotencyKeys: this.#idempotency.size, presenceChannels: this.#presence.size };
  }

  /** Connects a broker: from now on it may subscribe and gets `state` changes. */
  attach(link: MemoryLink): void {
    this.#links.add(link);
  }

  /** Disconnects a broker and drops its subscriptions. */
  detach(link: MemoryLink): void {
    this.#links.delete(link);
    for (const channel of link.channels) this.subscribe(link, channel, false);
    link.channels.clear();
  }

  /** Starts or stops delivering `channel`'s publications, joins and leaves to `link`. */
  subscribe(link: MemoryLink, channel: string, on: boolean): void {
    let set = this.#subscribers.get(channel);
    if (on) {
      if (set === undefined) this.#subscribers.set(channel, (set = new Set()));
      set.add(link);
      link.channels.add(channel);
    } else {
      link.channels.delete(channel);
      if (set !== undefined && set.delete(link) && set.size === 0) this.#subscribers.delete(channel);
    }
  }

  #emit(channel: string, deliver: (events: BrokerEvents) => void): void {
    const set = this.#subscribers.get(channel);
    if (set === undefined) return;
    const targets = [...set];
    // after the caller's state change, in order; skipped for whoever unsubscribed or
    // went away in between (and during an outage: nothing is delivered)
    queueMicrotask(() => {
      if (!this.#available) return;
      for (const link of targets) if (link.channels.has(channel)) deliver(link.events);
    });
  }

  /** The channel's history, or undefined when it never existed or expired. */
  #live(channel: string, now: number): ChannelHistory | undefined {
    const h = this.#history.get(channel);
    if (h !== undefined && h.expiresAt <= now) {
      this.#history.delete(channel);
      return undefined;
    }
    return h;
  }

  #sweepHistory(now: number): void {
    for (const [channel, h] of this.#history) {
      if (h.expiresAt > now) break;
      this.#history.delete(channel);
    }
  }

  /** Stores (history) and delivers one publication; the result of the first for a seen idempotency key. */
  publish(channel: string, opts: PublishOptions): PublishResult {
    const now = this.now();
    let idemKey: string | undefined;
    if (opts.idempotencyKey !== undefined) {
      for (const [k, v] of this.#idempotency) {
        if (v.expiresAt > now) break;
        this.#idempotency.delete(k);
      }
      idemKey = `${channel}\n${opts.idempotencyKey}`;
      const seen = this.#idempotency.get(idemKey);
      if (seen !== undefined && seen.expiresAt > now) return { ...seen.result, duplicate: true };
    }
    let pub: BrokerPublication;
    let result: PublishResult;
    if (opts.history === null) {
      pub = opts.info === undefined ? { data: opts.data } : { data: opts.data, info: opts.info };
      result = { duplicate: false };
    } else {
      this.#sweepHistory(now);
      const h = this.#historyFor(channel, opts.history, now);
      h.offset++;
      pub = { offset: h.offset, epoch: h.epoch, data: opts.data };
      if (opts.info !== undefined) pub.info = opts.info;
      h.entries.push(pub);
      if (h.entries.length > opts.history.size) h.entries.splice(0, h.entries.length - opts.history.size);
      h.expiresAt = now + opts.history.ttlMs;
      // move to the back: the map stays ordered by last publication
      this.#history.delete(channel);
      this.#history.set(channel, h);
      result = { offset: h.offset, epoch: h.epoch, duplicate: false };
    }
    if (idemKey !== undefined) this.#idempotency.set(idemKey, { result, expiresAt: now + (opts.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS) });
    this.#emit(channel, (e) => e.publication(channel, pub));
    return result;
  }

  #historyFor(channel: string, opts: HistoryOptions, now: number): ChannelHistory {
    let h = this.#live(channel, now);
    if (h === undefined) {
      h = { epoch: this.newEpoch(), offset: 0, entries: [], expiresAt: now + opts.ttlMs };
      this.#history.set(channel, h);
    }
    return h;
  }

  /** Publications after `since` (at most `limit`) and the channel's position; a missing channel gets a new epoch. */
  history(channel: string, query: HistoryQuery): HistoryResult {
    const h = this.#historyFor(channel, query.history, this.now());
    const since = query.since ?? 0;
    let start = 0;
    // entries are contiguous offsets: index arithmetic instead of a scan
    if (h.entries.length > 0) start = Math.max(0, Math.min(h.entries.length, since - h.entries[0]!.offset! + 1));
    const end = query.limit === undefined ? h.entries.length : Math.min(h.entries.length, start + Math.max(0, query.limit));
    return { publications: h.entries.slice(start, end), position: { offset: h.offset, epoch: h.epoch } };
  }

  #presenceOf(channel: string, create: boolean): Map<string, PresenceEntry> | undefined {
    let p = this.#presence.get(channel);
    if (p === undefined && create) this.#presence.set(channel, (p = new Map()));
    return p;
  }

  #sweepPresence(channel: string, now: number): void {
    const p = this.#presence.get(channel);
    if (p === undefined) return;
    for (const [client, e] of p) {
      if (e.expiresAt > now) continue;
      p.delete(client);
      this.#emit(channel, (ev) => ev.leave(channel, e.who));
    }
    if (p.size === 0) this.#presence.delete(channel);
  }

  /** Adds or refreshes a presence entry; announces it when new. `sweep`: sweep expired entries first. */
  join(channel: string, who: ClientInfo, ttlMs: number, sweep: boolean): void {
    const now = this.now();
    if (sweep) this.#sweepPresence(channel, now);
    const p = this.#presenceOf(channel, true)!;
    const e = p.get(who.client);
    if (e !== undefined && e.expiresAt > now) {
      e.expiresAt = now + ttlMs;
      return;
    }
    p.set(who.client, { who, expiresAt: now + ttlMs });
    this.#emit(channel, (ev) => ev.join(channel, who));
  }

  /** Removes a presence entry and announces it. */
  leave(channel: string, who: ClientInfo): void {
    const p = this.#presence.get(channel);
    const e = p?.get(who.client);
    if (p === undefined || e === undefined) return;
    p.delete(who.client);
    if (p.size === 0) this.#presence.delete(channel);
    this.#emit(channel, (ev) => ev.leave(channel, e.who));
  }

  /** Sweeps expired entries, then refreshes (or re-adds and announces) these. */
  touch(channel: string, clients: readonly ClientInfo[], ttlMs: number): void {
    this.#sweepPresence(channel, this.now());
    for (const who of clients) this.join(channel, who, ttlMs, false);
  }

  /** Sweeps expired entries, then lists the rest. */
  presence(channel: string): ClientInfo[] {
    this.#sweepPresence(channel, this.now());
    return [...(this.#presence.get(channel)?.values() ?? [])].map((e) => e.who);
  }
}

/**
 * One hub node's handle on a {@link MemoryStore} (a private one by default).
 *
 * @example
 * const broker = new MemoryBroker();
 * await broker.start({ publication() {}, join() {}, leave() {}, state() {} });
 */
export class MemoryBroker implements Broker {
  readonly type = "memory";
  readonly store: MemoryStore;
  #link: MemoryLink | undefined;
  #closed = false;

  constructor(opts: { store?: MemoryStore } = {}) {
    this.store = opts.store ?? new MemoryStore();
  }

  get up(): boolean {
    return this.#link !== undefined && !this.#closed && this.store.available;
  }

  async start(events: BrokerEvents): Promise<void> {
    if (this.#closed) throw new BrokerUnavailableError("memory broker is closed");
    if (this.#link !== undefined) throw new Error("memory broker: already started");
    this.#link = { events, channels: new Set() };
    this.store.attach(this.#link);
  }

  #check(): MemoryLink {
    if (this.#closed) throw new BrokerUnavailableError("memory broker is closed");
    if (this.#link === undefined) throw new Error("memory broker: call start() first");
    if (!this.store.available) throw new BrokerUnavailableError("memory store unavailable (simulated outage)");
    return this.#link;
  }

  async subscribe(channel: string): Promise<void> {
    this.store.subscribe(this.#check(), channel, true);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.store.subscribe(this.#check(), channel, false);
  }

  async publish(channel: string, opts: PublishOptions): Promise<PublishResult> {
    this.#check();
    return this.store.publish(channel, opts);
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    this.#check();
    return this.store.history(channel, query);
  }

  async join(channel: string, who: ClientInfo, ttlMs: number): Promise<void> {
    this.#check();
    this.store.join(channel, who, ttlMs, true);
  }

  async leave(channel: string, who: ClientInfo): Promise<void> {
    this.#check();
    this.store.leave(channel, who);
  }

  async touch(channel: string, clients: readonly ClientInfo[], ttlMs: number): Promise<void> {
    this.#check();
    this.store.touch(channel, clients, ttlMs);
  }

  async presence(channel: string): Promise<ClientInfo[]> {
    this.#check();
    return this.store.presence(channel);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#link !== undefined) this.store.detach(this.#link);
  }
}
