/**
 * A hub node's presence bookkeeping: which of *its own* connections are in which
 * channel's presence, so that it can
 *
 * - join the broker the first time a connection enters a channel (`add` says so),
 *   and leave when it goes (`remove`);
 * - on a connection's close, leave every channel it was in (`removeConnection`);
 * - keep its entries alive: every `touchEveryMs` (a third of the presence TTL) the
 *   broker's TTL is refreshed for the channels that are due (`due`), so the entries of a
 *   node that dies without saying goodbye expire, and a live node's never do;
 * - count connections per user on a channel (a user with two tabs is one user).
 *
 * Remote nodes' entries are not here: the broker holds the list and announces their
 * joins and leaves. Pure: the clock comes in as `now` (ms).
 *
 * @example
 * const book = new PresenceBook({ touchEveryMs: 10_000 });
 * if (book.add("chat:1", { client: "c1", user: "alice" }, now)) await broker.join("chat:1", who, 30_000);
 * for (const { channel, clients } of book.due(now)) await broker.touch(channel, clients, 30_000);
 * for (const { channel, who } of book.removeConnection("c1")) await broker.leave(channel, who);
 */
import type { ClientInfo } from "../../protocol/hub.ts";

export interface PresenceBookOptions {
  /** How often a channel's entries are refreshed (a third of the presence TTL). */
  touchEveryMs: number;
}

interface ChannelEntries {
  clients: Map<string, ClientInfo>;
  /** connections per user */
  users: Map<string, number>;
  /** when the broker's TTL was last refreshed for this channel (join counts) */
  touchedAt: number;
}

/**
 * One node's local presence entries.
 *
 * @example
 * book.add("room", who, now); // true: first time, join the broker
 */
export class PresenceBook {
  readonly #channels = new Map<string, ChannelEntries>();
  /** client id → the channels it is present in */
  readonly #byClient = new Map<string, Set<string>>();
  readonly #touchEveryMs: number;

  constructor(opts: PresenceBookOptions) {
    this.#touchEveryMs = opts.touchEveryMs;
  }

  /**
   * Records `who` in `channel`. True when it was not there yet: the hub joins the broker
   * (which announces the join); false for a repeat (nothing to do).
   *
   * @example
   * book.add("chat:1", { client: "c1", user: "alice" }, now); // true
   */
  add(channel: string, who: ClientInfo, now: number): boolean {
    let entries = this.#channels.get(channel);
    if (entries === undefined) {
      // A new channel's first join refreshes the TTL, so its first touch is due a period later.
      entries = { clients: new Map(), users: new Map(), touchedAt: now };
      this.#channels.set(channel, entries);
    }
    if (entries.clients.has(who.client)) return false;
    entries.clients.set(who.client, who);
    entries.users.set(who.user, (entries.users.get(who.user) ?? 0) + 1);
    let mine = this.#byClient.get(who.client);
    if (mine === undefined) this.#byClient.set(who.client, (mine = new Set()));
    mine.add(channel);
    return true;
  }

  /**
   * Removes `client` from `channel`; returns its entry (to leave the broker with) or
   * undefined when it was not there.
   *
   * @example
   * const who = book.remove("chat:1", "c1"); if (who) await broker.leave("chat:1", who);
   */
  remove(channel: string, client: string): ClientInfo | undefined {
    const entries = this.#channels.get(channel);
    const who = entries?.clients.get(client);
    if (entries === undefined || who === undefined) return undefined;
    entries.clients.delete(client);
    const n = entries.users.get(who.user)! - 1;
    if (n === 0) entries.users.delete(who.user);
    else entries.users.set(who.user, n);
    if (entries.clients.size === 0) this.#channels.delete(channel);
    const mine = this.#byClient.get(client)!;
    mine.delete(channel);
    if (mine.size === 0) this.#byClient.delete(client);
    return who;
  }

  /**
   * A connection closed: every channel it was present in, with its entry, to leave.
   *
   * @example
   * for (const { channel, who } of book.removeConnection("c1")) await broker.leave(channel, who);
   */
  removeConnection(client: string): { channel: string; who: ClientInfo }[] {
    const mine = this.#byClient.get(client);
    if (mine === undefined) return [];
    const out: { channel: string; who: ClientInfo }[] = [];
    for (const channel of [...mine]) {
      const who = this.remove(channel, client);
      if (who !== undefined) out.push({ channel, who });
    }
    return out;
  }

  /**
   * The channels whose entries are due a TTL refresh at `now`, with this node's entries;
   * marks them refreshed. Call it from one coarse timer (every second is plenty).
   *
   * @example
   * for (const { channel, clients } of book.due(now)) void broker.touch(channel, clients, ttlMs);
   */
  due(now: number): { channel: string; clients: ClientInfo[] }[] {
    const out: { channel: string; clients: ClientInfo[] }[] = [];
    for (const [channel, entries] of this.#channels) {
      if (now - entries.touchedAt < this.#touchEveryMs) continue;
      entries.touchedAt = now;
      out.push({ channel, clients: [...entries.clients.values()] });
    }
    return out;
  }

  /**
   * Every channel with this node's entries (to re-join all after the broker came back).
   *
   * @example
   * for (const { channel, clients } of book.all()) await broker.touch(channel, clients, ttlMs);
   */
  all(): { channel: string; clients: ClientInfo[] }[] {
    return [...this.#channels].map(([channel, e]) => ({ channel, clients: [...e.clients.values()] }));
  }

  /** This node's connections in `channel`. */
  clients(channel: string): number {
    return this.#channels.get(channel)?.clients.size ?? 0;
  }

  /** This node's distinct users in `channel`. */
  users(channel: string): number {
    return this.#channels.get(channel)?.users.size ?? 0;
  }

  /** How many connections of `user` this node has in `channel`. */
  connectionsOf(channel: string, user: string): number {
    return this.#channels.get(channel)?.users.get(user) ?? 0;
  }

  /** The channels where `client` is present. */
  channelsOf(client: string): string[] {
    return [...(this.#byClient.get(client) ?? [])];
  }
}
