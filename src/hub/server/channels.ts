/**
 * The channels this node serves: for each, its local subscribers, the broker link (one
 * broker subscription per channel per node, however many clients), and the live
 * delivery cursor (hub-core's `ChannelCursor`) that spots gaps and repairs them from
 * history.
 *
 * Fan-out: a publication from the broker is judged by the cursor, encoded once
 * ({@link Outgoing}) and handed to every active subscriber; subscribes still pending
 * (waiting for their history read) get it in their buffer instead, so nothing falls
 * between the live feed and history.
 *
 * @example
 * const channels = new Channels(broker, stats, log);
 * await broker.start({ publication: (ch, p) => channels.publication(ch, p), ... });
 */
import type { Logger } from "pino";
import type { ClientInfo } from "../../protocol/hub.ts";
import type { Broker, BrokerPublication } from "../broker/types.ts";
import { ChannelCursor } from "../core/cursor.ts";
import type { CompiledRule } from "../core/rules.ts";
import type { Subscription } from "./connection.ts";
import { Outgoing, pubJson } from "./frames.ts";
import type { HubStats } from "./stats.ts";

/** One channel with local subscribers (or subscribes in flight). */
export class ChannelState {
  readonly name: string;
  /** The name as JSON, quoted once for every frame of this channel. */
  readonly json: string;
  readonly rule: CompiledRule;
  readonly active = new Set<Subscription>();
  readonly pending = new Set<Subscription>();
  /** Set by the first subscribe's decision on a channel with history. */
  cursor: ChannelCursor | null = null;
  /** The broker subscription; null until asked, or after it failed (asked again next time). */
  linked: Promise<void> | null = null;
  /** A history read for repair or resync is in flight. */
  repairing = false;
  /** Removed from the registry (last subscriber gone): late callbacks do nothing. */
  gone = false;

  constructor(name: string, rule: CompiledRule) {
    this.name = name;
    this.json = JSON.stringify(name);
    this.rule = rule;
  }

  get size(): number {
    return this.active.size + this.pending.size;
  }
}

/** Where a subscription ends when the channel cannot be kept consistent. */
export type DropSubscription = (sub: Subscription, reason: string, resubscribe: boolean) => void;

/**
 * The registry of this node's channels.
 *
 * @example
 * const st = channels.acquire("chat:1", rule);
 * await channels.link(st);
 */
export class Channels {
  readonly #map = new Map<string, ChannelState>();
  /** The last broker subscribe/unsubscribe per channel: they run in order. */
  readonly #links = new Map<string, Promise<void>>();
  readonly #broker: Broker;
  readonly #stats: HubStats;
  readonly #log: Logger;
  /** Set by the node: ends a subscription with an `unsubscribe` push. */
  drop: DropSubscription = () => {};
  /** How long to wait before retrying a repair whose history read failed. */
  retryMs = 1000;

  constructor(broker: Broker, stats: HubStats, log: Logger) {
    this.#broker = broker;
    this.#stats = stats;
    this.#log = log;
  }

  get size(): number {
    return this.#map.size;
  }

  get(name: string): ChannelState | undefined {
    return this.#map.get(name);
  }

  values(): IterableIterator<ChannelState> {
    return this.#map.values();
  }

  /** The channel's state, created on first use. */
  acquire(name: string, rule: CompiledRule): ChannelState {
    let st = this.#map.get(name);
    if (st === undefined) {
      st = new ChannelState(name, rule);
      this.#map.set(name, st);
    }
    return st;
  }

  /** Resolves once the broker delivers the channel's live publications to this node. */
  link(st: ChannelState): Promise<void> {
    if (st.linked === null) {
      const p = this.#serial(st.name, () => this.#broker.subscribe(st.name));
      st.linked = p;
      p.catch(() => {
        if (st.linked === p) st.linked = null;
      });
    }
    return st.linked;
  }

  /** Forgets the channel once nobody on this node is subscribed, and unsubscribes from the broker. */
  release(st: ChannelState): void {
    if (st.size > 0 || st.gone) return;
    st.gone = true;
    this.#map.delete(st.name);
    if (st.linked !== null) {
      this.#serial(st.name, () => this.#broker.unsubscribe(st.name)).catch((err: unknown) =>
        this.#log.warn({ err, channel: st.name }, "broker unsubscribe failed"),
      );
    }
  }

  #serial(name: string, op: () => Promise<void>): Promise<void> {
    const prev = this.#links.get(name);
    const next = prev === undefined ? op() : prev.then(op, op);
    this.#links.set(name, next);
    const forget = () => {
      if (this.#links.get(name) === next) this.#links.delete(name);
    };
    next.then(forget, forget);
    return next;
  }

  /** The broker's `publication` event. */
  publication(channel: string, pub: BrokerPublication): void {
    this.#stats.received++;
    const st = this.#map.get(channel);
    if (st !== undefined) this.live(st, pub);
  }

  /** One live publication through the channel's cursor (or straight out without history). */
  live(st: ChannelState, pub: BrokerPublication): void {
    const cursor = st.cursor;
    if (cursor === null) {
      // No decision yet on a channel with history: only pending subscribes can use it.
      if (st.rule.history !== null && pub.offset !== undefined) {
        for (const sub of st.pending) sub.buffer!.push(pub);
      } else {
        this.deliver(st, pub);
      }
      return;
    }
    switch (cursor.accept(pub)) {
      case "deliver":
        this.deliver(st, pub);
        return;
      case "gap":
        this.#stats.gaps++;
        this.repair(st);
        return;
      case "epoch-changed":
        this.resubscribeAll(st, "the channel's history was lost (new epoch)");
        return;
      case "overflow":
        this.resubscribeAll(st, "too many publications held while repairing a gap");
        return;
      default: // duplicate, held
        return;
    }
  }

  /**
   * Hands one publication to every active subscriber (one encoding for all) and to the
   * buffers of pending subscribes.
   */
  deliver(st: ChannelState, pub: BrokerPublication): void {
    for (const sub of st.pending) sub.buffer!.push(pub);
    if (st.active.size === 0) return;
    const offset = pub.offset ?? 0;
    const out = new Outgoing(pubJson(st.json, pub), st.name, offset);
    let n = 0;
    for (const sub of st.active) {
      if (offset !== 0 && offset <= sub.after) continue;
      sub.conn.send(out);
      n++;
    }
    this.#stats.deliveries += n;
  }

  /** A presence event from the broker, pushed to the channel's active subscribers. */
  presence(channel: string, type: "join" | "leave", who: ClientInfo): void {
    const st = this.#map.get(channel);
    if (st === undefined || st.active.size === 0 || !st.rule.presence) return;
    const out = new Outgoing(JSON.stringify({ type, channel, client: who.client, user: who.user, info: who.info }), channel);
    for (const sub of st.active) sub.conn.send(out);
  }

  /**
   * Reads history after the cursor and lets it close its gap (or catch up after a broker
   * outage); when history cannot, every subscriber is told to resubscribe.
   */
  repair(st: ChannelState): void {
    const cursor = st.cursor;
    const history = st.rule.history;
    if (cursor === null || history === null || st.repairing || st.gone) return;
    st.repairing = true;
    this.#broker.history(st.name, { since: cursor.repairSince, history }).then(
      (h) => {
        st.repairing = false;
        if (st.gone || st.cursor !== cursor) return;
        const r = cursor.repair(h);
        if (!r.ok) {
          this.resubscribeAll(st, r.reason);
          return;
        }
        if (r.publications.length > 0) this.#stats.repaired++;
        for (const p of r.publications) this.deliver(st, p);
        if (r.gap !== null) this.repair(st);
      },
      (err: unknown) => {
        st.repairing = false;
        this.#log.warn({ err, channel: st.name }, "history read for repair failed; retrying");
        // The broker may be down: `state(true)` resyncs every channel; until then, retry.
        if (!st.gone) setTimeout(() => this.repair(st), this.retryMs).unref();
      },
    );
  }

  /** The node stops: every channel is forgotten, so no repair or retry runs after it. */
  clear(): void {
    for (const st of this.#map.values()) st.gone = true;
    this.#map.clear();
  }

  /** After the broker came back: every channel catches up from history (or resubscribes). */
  resyncAll(): void {
    for (const st of this.#map.values()) this.repair(st);
  }

  /** Ends every active subscription of the channel with `unsubscribe` (`resubscribe: true`). */
  resubscribeAll(st: ChannelState, reason: string): void {
    this.#stats.resubscribes += st.active.size;
    this.#log.info({ channel: st.name, subscribers: st.active.size, reason }, "channel subscribers told to resubscribe");
    for (const sub of [...st.active]) this.drop(sub, reason, true);
  }
}
