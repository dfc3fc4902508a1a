/**
 * A hub node's protocol engine, apart from any socket: connections in, commands
 * dispatched, channels fanned out, heartbeats and token expiry swept by one timer.
 * The transports (WebSocket, SSE) feed it messages and report closes; the HTTP layer
 * and the server API sit on top.
 *
 * @example
 * const node = new HubNode({ config, broker, log, verifier });
 * await node.start();
 * const conn = node.accept(transport);
 * node.message(conn, text);
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { CloseCode } from "../../protocol/close.ts";
import { HubErrorCode, type ClientInfo } from "../../protocol/hub.ts";
import type { Broker, BrokerEvents, PublishResult } from "../broker/types.ts";
import { compileRules, matchChannel, type CompiledRule } from "../core/rules.ts";
import { PresenceBook } from "../core/presence.ts";
import type { HubConfig } from "../config/types.ts";
import type { TokenVerifier } from "../auth/verify.ts";
import { Channels } from "./channels.ts";
import { parseClientMessage, readClientMessage } from "./commands.ts";
import { Connection, type ConnectionHost, type Subscription, type Transport } from "./connection.ts";
import { dispatch } from "./dispatch.ts";
import { Outgoing } from "./frames.ts";
import { HubStats } from "./stats.ts";

/** What a node is built from. */
export interface HubNodeOptions {
  readonly config: HubConfig;
  readonly node: string;
  readonly broker: Broker;
  readonly log: Logger;
  /** Absent when `auth.jwt` is not configured (anonymous only). */
  readonly verifier: TokenVerifier | undefined;
  readonly stats?: HubStats;
  /** Wall clock in ms (token expiry); injectable for tests. */
  readonly now?: () => number;
}

const PING = new Outgoing('{"type":"ping"}', undefined, 0, true);
const EXPIRED = new Outgoing('{"type":"expired"}', undefined, 0, false);
/** How long a close may hang (a client that never reads) before the socket is dropped. */
const CLOSE_GRACE_MS = 5_000;

/**
 * One node's engine.
 *
 * @example
 * node.sweep(Date.now()); // pings, pong and token deadlines, presence refresh
 */
export class HubNode implements ConnectionHost {
  readonly config: HubConfig;
  readonly name: string;
  readonly broker: Broker;
  readonly log: Logger;
  readonly verifier: TokenVerifier | undefined;
  readonly stats: HubStats;
  readonly rules: readonly CompiledRule[];
  readonly channels: Channels;
  readonly presenceBook: PresenceBook;
  readonly connections = new Set<Connection>();
  readonly maxQueueBytes: number;
  readonly onOverflow: "close" | "drop-oldest";
  readonly now: () => number;
  /** Set when the node stops: new connections are refused. */
  stopping = false;
  #brokerUp = false;
  #brokerReason = "starting";
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(opts: HubNodeOptions) {
    this.config = opts.config;
    this.name = opts.node;
    this.broker = opts.broker;
    this.log = opts.log;
    this.verifier = opts.verifier;
    this.stats = opts.stats ?? new HubStats();
    this.now = opts.now ?? Date.now;
    this.rules = compileRules(opts.config.channels);
    this.channels = new Channels(this.broker, this.stats, this.log);
    this.channels.drop = (sub, reason, resubscribe) => this.dropSubscription(sub, reason, resubscribe);
    this.presenceBook = new PresenceBook({ touchEveryMs: Math.max(1, Math.floor(opts.config.presence.ttl / 3)) });
    this.maxQueueBytes = opts.config.sendQueue.maxBytes;
    this.onOverflow = opts.config.sendQueue.onOverflow;
  }

  /** True while the broker can store and deliver. */
  get brokerUp(): boolean {
    return this.#brokerUp;
  }

  /** Why the broker is down ("" when up). */
  get brokerReason(): string {
    return this.#brokerUp ? "" : this.#brokerReason;
  }

  /** Starts the broker and the sweep timer. */
  async start(): Promise<void> {
    const events: BrokerEvents = {
      publication: (ch, pub) => this.channels.publication(ch, pub),
      join: (ch, who) => this.channels.presence(ch, "join", who),
      leave: (ch, who) => this.channels.presence(ch, "leave", who),
      state: (up, reason) => this.#brokerState(up, reason),
    };
    await this.broker.start(events);
    this.#brokerUp = this.broker.up;
    const { interval, timeout } = this.config.ping;
    const tick = Math.min(1000, Math.max(20, Math.floor(Math.min(interval, timeout) / 5)));
    this.#sweepTimer = setInterval(() => this.sweep(this.now()), tick);
    this.#sweepTimer.unref();
  }

  #brokerState(up: boolean, reason: string): void {
    const was = this.#brokerUp;
    this.#brokerUp = up;
    this.#brokerReason = reason;
    if (up === was) return;
    if (!up) {
      this.log.warn({ reason }, "broker down: publishes answer unavailable until it returns");
      return;
    }
    this.log.info({ reason }, "broker up: catching up every channel from history");
    this.channels.resyncAll();
    // Presence entries may be gone with the broker's data: put this node's back.
    const ttl = this.config.presence.ttl;
    for (const { channel, clients } of this.presenceBook.all()) {
      this.broker.touch(channel, clients, ttl).catch((err: unknown) => this.log.warn({ err, channel }, "presence refresh failed"));
    }
  }

  /**
   * A new transport became a connection (limits are checked by the caller, which knows
   * how to refuse on its transport).
   */
  accept(transport: Transport): Connection {
    const conn = new Connection(randomUUID(), transport, this, this.now(), this.config.ping.interval);
    this.connections.add(conn);
    this.stats.connectionsAccepted++;
    return conn;
  }

  /** Whether one more connection fits `limits.maxConnections`. */
  get full(): boolean {
    const max = this.config.limits.maxConnections;
    return max > 0 && this.connections.size >= max;
  }

  /** One message from a client: text (WebSocket frame) or an already parsed value (SSE body item). */
  message(conn: Connection, input: string | { value: unknown }): void {
    if (conn.state === "closed" || conn.state === "closing") return;
    conn.lastSeen = this.now();
    conn.pingSentAt = 0; // any message proves the client alive
    const r = typeof input === "string" ? parseClientMessage(input) : readClientMessage(input.value);
    if (!r.ok) {
      this.fail(conn, r.id, r.code, r.message);
      return;
    }
    if (r.msg.type === "pong") return;
    dispatch(this, conn, r.msg).catch((err: unknown) => {
      this.log.error({ err, type: r.msg.type }, "command failed");
      if ("id" in r.msg) this.fail(conn, r.msg.id, HubErrorCode.INTERNAL, "internal error", true);
    });
  }

  /** Sends a reply or push built from a plain object. */
  send(conn: Connection, value: object): void {
    conn.send(new Outgoing(JSON.stringify(value), undefined, 0, false));
  }

  /** Sends an `error` reply. */
  fail(conn: Connection, id: number | undefined, code: HubErrorCode, message: string, temporary = false): void {
    this.send(conn, { id, type: "error", code, message, temporary });
  }

  /** Closes a connection with a code and reason (cut to the 123 bytes a close frame holds). */
  close(conn: Connection, code: number, reason: string): void {
    if (conn.state === "closing" || conn.state === "closed") return;
    conn.state = "closing";
    conn.closingAt = this.now();
    this.stats.closed(code, "hub");
    conn.transport.close(code, truncate(reason));
  }

  /**
   * The transport is gone: forget the connection, its subscriptions and its presence.
   * `code` is the client's close code (1006 for a dropped connection), counted when the
   * hub did not start the close.
   */
  closed(conn: Connection, code = 1006): void {
    if (conn.state === "closed") return;
    if (conn.state !== "closing") this.stats.closed(code, "client");
    conn.state = "closed";
    this.connections.delete(conn);
    for (const sub of [...conn.subs.values()]) this.removeSubscription(sub);
  }

  /** Removes a subscription everywhere (connection, channel, presence) without telling the client. */
  removeSubscription(sub: Subscription): void {
    const conn = sub.conn;
    if (conn.subs.get(sub.channel) === sub) conn.subs.delete(sub.channel);
    const st = this.channels.get(sub.channel);
    if (st !== undefined) {
      st.active.delete(sub);
      st.pending.delete(sub);
      this.channels.release(st);
    }
    const who = this.presenceBook.remove(sub.channel, conn.id);
    if (who !== undefined) {
      this.broker.leave(sub.channel, who).catch((err: unknown) => this.log.warn({ err, channel: sub.channel }, "presence leave failed"));
    }
  }

  /** Ends a subscription with an `unsubscribe` push. */
  dropSubscription(sub: Subscription, reason: string, resubscribe: boolean): void {
    this.removeSubscription(sub);
    this.send(sub.conn, { type: "unsubscribe", channel: sub.channel, reason, resubscribe });
  }

  /** ConnectionHost: the send queue overflowed. */
  overflowed(conn: Connection): void {
    this.stats.overflows++;
    if (this.onOverflow === "close") {
      this.close(conn, CloseCode.TRY_AGAIN_LATER, `retry-after=${1000 + Math.floor(Math.random() * 1000)}; send queue full`);
    }
  }

  /** ConnectionHost: drop-oldest dropped a publication of `channel`; the push goes in its place. */
  dropForQueue(conn: Connection, channel: string): Outgoing | undefined {
    const sub = conn.subs.get(channel);
    if (sub === undefined) return undefined;
    this.removeSubscription(sub);
    const reason = "slow consumer: publications were dropped from the send queue";
    return new Outgoing(JSON.stringify({ type: "unsubscribe", channel, reason, resubscribe: true }), undefined, 0, false);
  }

  /** Adds the connection to the channel's presence (broker join the first time). */
  joinPresence(conn: Connection, channel: string): void {
    const who = clientInfo(conn);
    if (!this.presenceBook.add(channel, who, this.now())) return;
    this.broker.join(channel, who, this.config.presence.ttl).catch((err: unknown) => this.log.warn({ err, channel }, "presence join failed"));
  }

  /** The rule of a channel, for the server API (no identity checks there). */
  rule(channel: string): CompiledRule | undefined {
    return matchChannel(this.rules, channel);
  }

  /**
   * Stores and fans out one publication (client `publish` and `POST /api/publish`).
   * Rejects with `BrokerUnavailableError` when it was not stored.
   */
  async publish(channel: string, rule: CompiledRule, data: string, info: ClientInfo | undefined, idempotencyKey: string | undefined): Promise<PublishResult> {
    const r = await this.broker.publish(channel, { data, info, history: rule.history, idempotencyKey });
    if (!r.duplicate) this.stats.publications++;
    return r;
  }

  /**
   * The heartbeat and deadline sweep, run by one timer for every connection: pings,
   * pong timeouts, `connect` timeouts, token expiry (`expired`, then 4002), closes that
   * hang, and presence TTL refreshes.
   */
  sweep(now: number): void {
    const { interval, timeout } = this.config.ping;
    for (const conn of this.connections) {
      if (conn.state === "closing") {
        if (now - conn.closingAt > CLOSE_GRACE_MS) conn.transport.terminate();
        continue;
      }
      if (conn.state === "connecting") {
        if (now - conn.openedAt > timeout) this.close(conn, CloseCode.PROTOCOL_ERROR, `no connect within ${timeout} ms`);
        continue;
      }
      if (conn.pingSentAt !== 0 && now - conn.pingSentAt > timeout) {
        this.close(conn, CloseCode.PING_TIMEOUT, `no pong within ${timeout} ms`);
        continue;
      }
      if (now >= conn.nextPingAt) {
        conn.send(PING);
        if (conn.pingSentAt === 0) conn.pingSentAt = now;
        conn.nextPingAt = now + interval;
      }
      const expires = conn.identity?.expiresAt;
      if (expires !== undefined && now >= expires) {
        if (conn.expiredAt === 0) {
          conn.expiredAt = now;
          conn.send(EXPIRED);
        } else if (now - conn.expiredAt > timeout) {
          this.close(conn, CloseCode.TOKEN_EXPIRED, "token expired and not refreshed");
        }
      }
    }
    const ttl = this.config.presence.ttl;
    for (const { channel, clients } of this.presenceBook.due(now)) {
      this.broker.touch(channel, clients, ttl).catch((err: unknown) => this.log.warn({ err, channel }, "presence refresh failed"));
    }
  }

  /** Stops the sweep and the broker (connections are closed by the caller first). */
  async shutdown(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.channels.clear();
    await this.broker.close();
  }
}

/** The presence entry of a connection. */
export function clientInfo(conn: Connection): ClientInfo {
  const info = conn.identity?.info;
  return info === undefined ? { client: conn.id, user: conn.identity?.user ?? "" } : { client: conn.id, user: conn.identity?.user ?? "", info };
}

function truncate(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let r = reason.slice(0, 123);
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}
