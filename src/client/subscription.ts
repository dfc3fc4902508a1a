import type { ClientInfo, JoinPush, LeavePush, PubPush, StreamPosition, SubscribedReply } from "../protocol/hub.ts";
import { Cursor } from "./cursor.ts";
import { Emitter } from "./emitter.ts";

/**
 * A channel subscription (DESIGN §7): returned by `client.subscribe(channel)` at once,
 * it subscribes on every connection the client makes, resuming from the last
 * publication it delivered. Every publication reaches `message` exactly once and in
 * offset order; when the hub cannot replay what was missed, `subscribed` says
 * `recovered: false` so the app can reload from its source of truth.
 *
 * @example
 * const sub = client.subscribe("chat:1");
 * sub.on("subscribed", ({ recovered, wasRecovering }) => { if (wasRecovering && !recovered) reloadChat(); });
 * sub.on("message", ({ data, offset }) => render(data, offset));
 * sub.on("join", (p) => showOnline(p.user));
 * const who = await sub.presence();
 * sub.unsubscribe();
 */

/**
 * What `subscribed` carries, on the first subscribe and on every resubscribe.
 *
 * @example
 * sub.on("subscribed", ({ recovered, wasRecovering }) => { if (wasRecovering && !recovered) reload(); });
 */
export interface SubscribedInfo {
  /** True when `since` was given and every missed publication follows as `message` events. */
  recovered: boolean;
  /** True when this subscribe resumed from a previous position. */
  wasRecovering: boolean;
  /** True when the channel keeps history (offsets and epochs mean something). */
  recoverable: boolean;
  /** The channel's epoch; offsets from another epoch mean nothing. */
  epoch: string;
  /** The position once the recovered publications are delivered. */
  offset: number;
}

/**
 * One publication as the app sees it. `offset`/`epoch` are absent on channels without history.
 *
 * @example
 * sub.on("message", ({ data, offset, epoch, info }) => console.log(offset, data, info?.user));
 */
export interface ChannelMessage {
  channel: string;
  data: unknown;
  offset?: number;
  epoch?: string;
  /** The publisher, when it was a client connection. */
  info?: ClientInfo;
}

/** Why a subscription ended. */
export interface UnsubscribedInfo {
  /** `unsubscribe()`, the hub's reason, or the error that refused it. */
  reason: string;
}

export interface SubscriptionEvents {
  subscribed: [SubscribedInfo];
  message: [ChannelMessage];
  join: [ClientInfo];
  leave: [ClientInfo];
  unsubscribed: [UnsubscribedInfo];
  /** A refused subscribe (`forbidden`, `unknown_channel`) or other trouble on this channel. */
  error: [Error];
}

export type SubscriptionState = "subscribing" | "subscribed" | "unsubscribed";

/** What a subscription asks of its client. */
export interface SubscriptionHost {
  presence(channel: string): Promise<ClientInfo[]>;
  unsubscribe(channel: string): void;
}

/**
 * The client's side of a subscription: its state, cursor and the replies it gets. Not
 * exported from the package; the app holds the `Subscription` facade.
 *
 * @example
 * const core = new SubscriptionCore("chat:1", host);
 * core.subscribed(reply); // emits "subscribed", then the recovered messages
 * if (!core.pub(push)) resubscribe(core.cursor.position);
 */
export class SubscriptionCore {
  readonly channel: string;
  readonly cursor = new Cursor();
  readonly facade: Subscription;
  state: SubscriptionState = "subscribing";
  /** The id of the subscribe in flight on the current connection, if any. */
  pendingId = 0;
  /** Consecutive temporary refusals, for the retry backoff. */
  failures = 0;

  constructor(channel: string, host: SubscriptionHost) {
    this.channel = channel;
    this.facade = new Subscription(this, host);
  }

  /** Applies a `subscribed` reply: the event first, then the recovered publications in order. */
  subscribed(r: SubscribedReply): void {
    this.state = "subscribed";
    this.pendingId = 0;
    this.failures = 0;
    const missed = this.cursor.subscribed(r);
    this.facade.emit("subscribed", { recovered: r.recovered, wasRecovering: r.wasRecovering, recoverable: r.recoverable, epoch: r.epoch, offset: r.offset });
    for (const p of missed) this.#deliver(p);
  }

  /**
   * A live publication: delivered when it is the next one. Returns false when the
   * stream has a hole or changed epoch: the caller resubscribes from `cursor.position`.
   */
  pub(p: PubPush): boolean {
    if (this.state !== "subscribed") return true; // the (re)subscribe's replay will carry it
    const v = this.cursor.accept(p);
    if (v === "deliver") this.#deliver(p);
    return v === "deliver" || v === "duplicate";
  }

  presence(p: JoinPush | LeavePush): void {
    if (this.state === "unsubscribed") return;
    const who: ClientInfo = { client: p.client, user: p.user };
    if (p.info !== undefined) who.info = p.info;
    this.facade.emit(p.type, who);
  }

  /** Ends the subscription for good and tells the app why. */
  end(reason: string, error?: Error): void {
    if (this.state === "unsubscribed") return;
    this.state = "unsubscribed";
    if (error) this.facade.emit("error", error);
    this.facade.emit("unsubscribed", { reason });
  }

  #deliver(p: { channel: string; data: unknown; offset?: number; epoch?: string; info?: ClientInfo }): void {
    const m: ChannelMessage = { channel: this.channel, data: p.data };
    if (p.offset !== undefined) m.offset = p.offset;
    if (p.epoch !== undefined) m.epoch = p.epoch;
    if (p.info !== undefined) m.info = p.info;
    this.facade.emit("message", m);
  }
}

/**
 * A channel subscription; see the module comment. Get one from `client.subscribe()`.
 *
 * @example
 * const sub = client.subscribe("chat:1");
 * sub.on("message", ({ data }) => render(data));
 * sub.position; // { offset: 42, epoch: "xYz" } once something was delivered
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly #core: SubscriptionCore;
  readonly #host: SubscriptionHost;

  constructor(core: SubscriptionCore, host: SubscriptionHost) {
    super();
    this.#core = core;
    this.#host = host;
  }

  get channel(): string {
    return this.#core.channel;
  }

  /** `subscribing` until the hub confirms (again after each reconnect), `unsubscribed` once ended. */
  get state(): SubscriptionState {
    return this.#core.state;
  }

  /** The last publication delivered (what the next resubscribe resumes from), or null. */
  get position(): StreamPosition | null {
    return this.#core.cursor.position;
  }

  /**
   * Who is on the channel now. Waits for the connection (up to the client's
   * `timeout`).
   *
   * @example
   * const clients = await sub.presence(); // [{ client: "c1", user: "alice" }]
   */
  presence(): Promise<ClientInfo[]> {
    return this.#host.presence(this.#core.channel);
  }

  /** Stops the subscription; `subscribe()` the channel again to start over. */
  unsubscribe(): void {
    this.#host.unsubscribe(this.#core.channel);
  }
}
