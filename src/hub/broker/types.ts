/**
 * The seam between the hub and where its state lives (DESIGN §6): one interface, two
 * implementations (`memory`, the embedded default; `redis`, shared by many nodes), one
 * conformance suite both pass (`runBrokerConformance`). The hub's pure core decides
 * (recovery, gaps, presence bookkeeping); a broker stores, numbers and fans out.
 *
 * Ordering contract: on one channel, publications reach `events.publication` in offset
 * order per node, and `publish` resolves only once the publication is stored (history
 * appended, offset assigned); a publish that was not stored rejects with
 * `BrokerUnavailableError` and is never acknowledged.
 *
 * @example
 * const broker = createBroker({ type: "memory" });
 * await broker.start({ publication: (ch, p) => fanOut(ch, p), join() {}, leave() {}, state() {} });
 * await broker.subscribe("chat:1");                       // live first...
 * const h = await broker.history("chat:1", { since: 17, history }); // ...then history
 * const r = await broker.publish("chat:1", { data: '{"text":"hi"}', history });
 */
import type { ClientInfo, StreamPosition } from "../../protocol/hub.ts";

/** A channel's history settings, from its rule (`history: { size, ttl }`). */
export interface HistoryOptions {
  /** How many publications are kept (exact trim). */
  size: number;
  /** How long history (and the epoch with it) outlives the last publication. */
  ttlMs: number;
}

/** A publication as brokers carry it: `data` stays JSON text end to end (encoded once). */
export interface BrokerPublication {
  /** Present on channels with history. */
  offset?: number;
  epoch?: string;
  /** The publication's data, as JSON text. */
  data: string;
  /** The publisher when it was a client connection. */
  info?: ClientInfo;
}

/** How long an idempotency key is remembered unless `idempotencyTtlMs` says otherwise (DESIGN §6: 5 minutes). */
export const IDEMPOTENCY_TTL_MS = 5 * 60_000;

export interface PublishOptions {
  data: string;
  info?: ClientInfo;
  /** null: a channel without history (no offset, no epoch, nothing stored). */
  history: HistoryOptions | null;
  /** Applied once per channel within `idempotencyTtlMs`; a repeat resolves with the first result. A publish that rejected kept no key. */
  idempotencyKey?: string;
  /** Default 5 minutes. */
  idempotencyTtlMs?: number;
}

export interface PublishResult {
  /** Absent on a channel without history. */
  offset?: number;
  epoch?: string;
  /** True when the idempotency key had been seen: this is the first publish's result. */
  duplicate: boolean;
}

export interface HistoryQuery {
  /** Publications with an offset greater than this (default: from the oldest kept). */
  since?: number;
  /** At most this many, oldest first (default: all that are kept); 0 reads only the position. */
  limit?: number;
  history: HistoryOptions;
}

export interface HistoryResult {
  /** In offset order. */
  publications: BrokerPublication[];
  /** The channel's top: the last offset assigned and the current epoch (a new epoch, offset 0, when metadata was gone). */
  position: StreamPosition;
}

/**
 * What a broker tells its hub node. Called synchronously from the broker's I/O callbacks.
 * `publication`, `join` and `leave` come for subscribed channels only, the node's own
 * included (a node hears its own joins), in the order they happened on the channel.
 */
export interface BrokerEvents {
  /** A publication on a channel this node subscribed to. */
  publication(channel: string, pub: BrokerPublication): void;
  join(channel: string, who: ClientInfo): void;
  leave(channel: string, who: ClientInfo): void;
  /**
   * The broker's health changed. `up: false` when publishing or receiving is impossible
   * (Redis down, or the pub/sub self-probe went unanswered); `up: true` once it works
   * again and every subscription was re-established — live delivery may have missed
   * publications in between, so the hub re-checks every channel's position (gap repair).
   */
  state(up: boolean, reason: string): void;
}

export interface Broker {
  /** `memory` or `redis`, for logs and metrics. */
  readonly type: string;
  /** True while the broker can publish and deliver. */
  readonly up: boolean;
  start(events: BrokerEvents): Promise<void>;
  /** Resolves once live publications on `channel` will reach `events.publication`. Idempotent per channel. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  publish(channel: string, opts: PublishOptions): Promise<PublishResult>;
  history(channel: string, query: HistoryQuery): Promise<HistoryResult>;
  /** Adds (or refreshes) a presence entry that expires after `ttlMs` unless refreshed; announces a join the first time. */
  join(channel: string, who: ClientInfo, ttlMs: number): Promise<void>;
  /** Removes the entry and announces the leave. */
  leave(channel: string, who: ClientInfo): Promise<void>;
  /** Refreshes the TTL of entries this node holds (called by live nodes, every ttl/3). */
  touch(channel: string, clients: readonly ClientInfo[], ttlMs: number): Promise<void>;
  /** The unexpired entries. */
  presence(channel: string): Promise<ClientInfo[]>;
  close(): Promise<void>;
}

/** The broker cannot store or deliver now (Redis down, timeout). Retryable; nothing was stored. */
export class BrokerUnavailableError extends Error {
  readonly code = "HF_ERR_BROKER_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BrokerUnavailableError";
  }
}
