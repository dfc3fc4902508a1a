import { CloseCode } from "../protocol/close.ts";
import type { ClientInfo, ConnectedReply, ErrorReply, HubMessage, HubReply } from "../protocol/hub.ts";
import { backoffDelay, backoffOptions, type BackoffOptions } from "./backoff.ts";
import { Emitter } from "./emitter.ts";
import { ClientClosedError, HubError } from "./errors.ts";
import type { Link } from "./link.ts";
import { clientOptions, type ClientOptions, type ResolvedOptions } from "./options.ts";
import { Outbox } from "./outbox.ts";
import type { ConnectionState } from "./policy.ts";
import type { PublishResult } from "./queue.ts";
import { Reconnector, type StateInfo } from "./reconnector.ts";
import { Requests } from "./requests.ts";
import { openSse, sseUrls } from "./sse.ts";
import { SubscriptionCore, type Subscription } from "./subscription.ts";
import { systemTimers } from "./timers.ts";
import { TokenSource } from "./token.ts";
import { openWebSocket, type Transport, type TransportName } from "./transport.ts";

/**
 * The hub client (DESIGN §7): one logical connection to a holdfast hub that survives
 * deploys, drains and dead nodes. It reconnects with full-jitter backoff (obeying the
 * `retry-after` hints of `1012`/`1013`), watches the hub's heartbeat, resubscribes every
 * subscription from its last offset, and queues publishes while offline, each with an
 * idempotency key so a publish re-sent after a reconnect is stored once.
 *
 * @example
 * import { connect } from "holdfast/client";
 * const client = connect("wss://example.com/connect", { token: () => fetchToken() });
 * client.on("state", (state, info) => console.log(state, info));
 * const sub = client.subscribe("chat:1");
 * sub.on("message", ({ data, offset }) => render(data, offset));
 * const { offset } = await client.publish("chat:1", { text: "hi" });
 * client.close();
 */

/**
 * Who the hub says this connection is, while open.
 *
 * @example
 * client.session; // { client: "c7f…", user: "alice", node: "hub-2", transport: "websocket" }
 */
export interface SessionInfo {
  client: string;
  user: string;
  node: string;
  transport: TransportName;
}

/**
 * The events of a {@link Client}.
 *
 * @example
 * client.on("state", (state, info) => { if (state === "closed") console.log("gave up:", info.code, info.reason); });
 * client.on("error", (e) => console.warn(e.message));
 */
export interface ClientEvents {
  /** `connecting` → `open` → `reconnecting` → … → `closed`; `info.reason` says why, `info.session` who (when open). */
  state: [ConnectionState, StateInfo & { session?: SessionInfo }];
  /** Trouble that does not end the client: a token provider that failed, a refresh the hub refused. */
  error: [Error];
}

/**
 * One logical connection to a hub; see the module comment. Create it with {@link connect}.
 *
 * @example
 * const client = new Client("wss://example.com/connect", { token: "…" }); // same as connect()
 */
export class Client extends Emitter<ClientEvents> {
  readonly #url: string;
  readonly #o: ResolvedOptions;
  readonly #sse: { stream: string; send: string } | null;
  readonly #backoff: BackoffOptions;
  readonly #timers = systemTimers();
  readonly #r: Reconnector;
  readonly #token: TokenSource;
  readonly #outbox: Outbox;
  readonly #requests: Requests;
  readonly #subs = new Map<string, SubscriptionCore>();
  /** Reply handlers of the current connection, by command id. */
  #sent = new Map<number, (m: HubReply) => void>();
  #nextId = 1;
  #transport: Transport | null = null;
  #tIndex = 0;
  #worked = false;
  /** Consecutive attempts on the current transport that failed before `connected`. */
  #failures = 0;
  #gen = 0;
  #session: SessionInfo | null = null;
  #heartbeat = 0;
  #retryTimer: unknown = null;
  #refreshing: Promise<void> | null = null;
  /** Ends a refresh waiting for its reply when the connection is lost (the next connect carries the token). */
  #refreshWait: (() => void) | null = null;
  #started = false;

  constructor(url: string, options: ClientOptions = {}) {
    super();
    const u = new URL(url);
    if (u.protocol === "http:" || u.protocol === "https:") u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new TypeError(`the hub URL must be ws:, wss:, http: or https:, got ${url}`);
    this.#url = u.toString();
    this.#o = clientOptions(options);
    this.#sse = this.#o.transports.includes("sse") ? (options.sse ?? sseUrls(this.#url)) : null;
    this.#backoff = backoffOptions(options.backoff);
    this.#token = new TokenSource(options.token);
    const link: Link = {
      register: (onReply) => {
        const id = this.#nextId++;
        this.#sent.set(id, onReply);
        return id;
      },
      unregister: (id) => void this.#sent.delete(id),
      send: (json) => this.#transport?.send(json),
      open: () => this.#r.state === "open",
      refresh: () => this.#refreshToken(),
      retrySoon: (attempt) => this.#retrySoon(attempt),
    };
    this.#outbox = new Outbox(this.#o.queueMax, link);
    this.#requests = new Requests(link, this.#timers, this.#o.timeout);
    this.#r = new Reconnector(options, {
      dial: () => void this.#dial(),
      hangUp: () => this.#hangUp(),
      state: (s, info) => this.#onState(s, info),
    }, { timers: this.#timers, random: Math.random });
    // Start after the caller's synchronous code, so its `state` listener sees `connecting`.
    queueMicrotask(() => {
      if (!this.#started) {
        this.#started = true;
        this.#r.start();
      }
    });
  }

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.#started ? this.#r.state : "connecting";
  }

  /** Who the hub says this connection is, while open; null otherwise. */
  get session(): SessionInfo | null {
    return this.#session;
  }

  /** Publishes waiting for the hub (queued offline or awaiting their confirmation). */
  get queued(): number {
    return this.#outbox.size;
  }

  /**
   * Subscribes to a channel, now and after every reconnect (resuming from the last
   * publication delivered). Throws if the channel is already subscribed or the client closed.
   */
  subscribe(channel: string): Subscription {
    if (typeof channel !== "string" || channel === "") throw new TypeError("subscribe() needs a channel name");
    if (this.state === "closed") throw new ClientClosedError(`subscribe("${channel}") on a closed client`);
    if (this.#subs.has(channel)) throw new Error(`already subscribed to "${channel}": use getSubscription("${channel}"), or unsubscribe() first`);
    const core = new SubscriptionCore(channel, { presence: (ch) => this.#presence(ch), unsubscribe: (ch) => this.#unsubscribe(ch) });
    this.#subs.set(channel, core);
    if (this.#r.state === "open") this.#sendSubscribe(core);
    return core.facade;
  }

  /** The live subscription to `channel`, if any. */
  getSubscription(channel: string): Subscription | undefined {
    return this.#subs.get(channel)?.facade;
  }

  /**
   * Publishes `data` (anything JSON can encode) on `channel`; resolves with its `offset`
   * and `epoch` once the hub stored it. While offline it waits in the queue (rejected
   * with `QueueFullError` once `queue.max` are waiting) and is sent, in order, after
   * the next connect. The idempotency key (random unless given) makes a re-sent publish
   * apply once.
   */
  publish(channel: string, data: unknown, opts: { idempotencyKey?: string } = {}): Promise<PublishResult> {
    if (this.state === "closed") return Promise.reject(new ClientClosedError(`publish("${channel}") on a closed client: not sent`));
    return this.#outbox.publish(channel, data, opts.idempotencyKey);
  }

  /** Closes for good: no more reconnects; waiting publishes and requests are rejected. */
  close(): void {
    this.#started = true;
    this.#r.close(CloseCode.NORMAL, "client closed");
  }

  // ------------------------------------------------------------ connection

  async #dial(): Promise<void> {
    const gen = ++this.#gen;
    let token: string | undefined;
    try {
      token = await this.#token.get();
    } catch (e) {
      this.emit("error", e as Error);
      if (gen === this.#gen) this.#r.dropped(1006, `token provider failed: ${(e as Error)?.message ?? String(e)}`);
      return;
    }
    if (gen !== this.#gen || this.#r.state !== "connecting") return;
    const name = this.#o.transports[this.#tIndex]!;
    const handlers = {
      open: () => gen === this.#gen && this.#hello(token),
      message: (m: HubMessage) => gen === this.#gen && this.#onMessage(m),
      close: (code: number, reason: string) => {
        if (gen !== this.#gen) return;
        this.#lost(code);
        this.#r.dropped(code, reason);
      },
    };
    this.#transport = name === "sse" ? openSse(this.#sse!, handlers, this.#o.fetch!) : openWebSocket(this.#url, handlers, this.#o.WebSocket!);
  }

  #hello(token: string | undefined): void {
    this.#call({ type: "connect", ...(token !== undefined && { token }), name: this.#o.name }, (m) => {
      if (m.type === "connected") return this.#connected(m);
      if (m.type !== "error") return;
      if (m.code === "token_expired") {
        this.#token.stale();
        if (!this.#token.refreshable) return this.#r.close(CloseCode.TOKEN_EXPIRED, "the token expired and the token option is a fixed string: pass a function to refresh it");
        return this.#r.reconnect(CloseCode.TOKEN_EXPIRED, `connect refused: ${m.message}`);
      }
      if (m.code === "unauthorized" || m.code === "forbidden") return this.#r.close(m.code === "forbidden" ? CloseCode.FORBIDDEN : CloseCode.UNAUTHORIZED, `connect refused: ${m.code}: ${m.message}`);
      this.#r.reconnect(CloseCode.PROTOCOL_ERROR, `connect refused: ${m.code}: ${m.message}`);
    });
  }

  #connected(m: ConnectedReply): void {
    this.#worked = true;
    this.#session = { client: m.client, user: m.user, node: m.node, transport: this.#transport!.name };
    this.#outbox.maxBytes = m.maxMessageBytes ?? Infinity;
    this.#heartbeat = m.ping > 0 && m.pong > 0 ? m.ping + m.pong : 0;
    this.#r.opened();
  }

  /** The connection is gone (closed, lost, or abandoned): what was in flight goes again on the next one. */
  #lost(code: number): void {
    this.#transport = null;
    this.#sent = new Map();
    this.#refreshWait?.();
    // Until a transport has worked, two failures in a row move to the next one (one
    // could be a glitch: a gateway with no server up for a moment); once one has
    // worked, the client keeps it (a proxy that blocks WebSockets may make every
    // WebSocket attempt hang until the connect timeout).
    if (this.#session === null && !this.#worked && ++this.#failures >= 2) {
      this.#tIndex = (this.#tIndex + 1) % this.#o.transports.length;
      this.#failures = 0;
    }
    this.#session = null;
    if (code === CloseCode.TOKEN_EXPIRED) this.#token.stale();
    this.#outbox.lost();
    this.#requests.lost();
    for (const core of this.#subs.values()) {
      core.pendingId = 0;
      if (core.state === "subscribed") core.state = "subscribing";
    }
  }

  #hangUp(): void {
    this.#gen++;
    this.#transport?.close();
    this.#lost(0);
  }

  #onState(state: ConnectionState, info: StateInfo): void {
    if (state === "open") {
      const s = this.#session!;
      if (this.#heartbeat > 0) this.#r.heartbeat(this.#heartbeat);
      this.emit("state", "open", { ...info, session: { ...s } });
      this.#flush();
      return;
    }
    if (state === "closed") this.#shutdown(info.reason ?? "");
    this.emit("state", state, info);
  }

  #shutdown(reason: string): void {
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#outbox.failAll(reason);
    this.#requests.failAll(reason);
    for (const core of this.#subs.values()) core.state = "unsubscribed";
  }

  // ------------------------------------------------------------ messages

  #send(json: string): void {
    this.#transport?.send(json);
  }

  #call(cmd: Record<string, unknown>, onReply: (m: HubReply) => void): number {
    const id = this.#nextId++;
    this.#sent.set(id, onReply);
    this.#send(JSON.stringify({ id, ...cmd }));
    return id;
  }

  #onMessage(m: HubMessage): void {
    this.#r.alive();
    const id = (m as { id?: number }).id;
    if (id !== undefined) {
      const h = this.#sent.get(id);
      if (h === undefined) return;
      this.#sent.delete(id);
      return h(m as HubReply);
    }
    switch (m.type) {
      case "ping":
        return this.#send('{"type":"pong"}');
      case "pub": {
        const core = this.#subs.get(m.channel);
        if (core !== undefined && !core.pub(m)) this.#resubscribe(core);
        return;
      }
      case "join":
      case "leave":
        return this.#subs.get(m.channel)?.presence(m);
      case "unsubscribe": {
        const core = this.#subs.get(m.channel);
        if (core === undefined) return;
        if (m.resubscribe) return this.#resubscribe(core, false);
        this.#subs.delete(m.channel);
        return core.end(m.reason);
      }
      case "expired":
        return void this.#refreshToken();
      case "error":
        return this.emit("error", new HubError(m.code, m.message, m.temporary === true));
    }
  }

  #flush(): void {
    for (const core of this.#subs.values()) if (core.state !== "unsubscribed" && core.pendingId === 0) this.#sendSubscribe(core);
    this.#outbox.flush();
    this.#requests.flush();
  }

  // ------------------------------------------------------------ subscriptions

  #sendSubscribe(core: SubscriptionCore): void {
    const since = core.cursor.position;
    const id = this.#call({ type: "subscribe", channel: core.channel, ...(since !== null && { since }) }, (m) => {
      if (core.pendingId !== id || this.#subs.get(core.channel) !== core) return;
      if (m.type === "subscribed") return core.subscribed(m);
      if (m.type === "error") this.#subscribeRefused(core, m);
    });
    core.pendingId = id;
  }

  /** Resubscribe from the cursor (a hole in offsets, another epoch, or the hub asked). */
  #resubscribe(core: SubscriptionCore, unsubscribeFirst = true): void {
    core.state = "subscribing";
    if (this.#r.state !== "open") return;
    if (unsubscribeFirst) this.#call({ type: "unsubscribe", channel: core.channel }, () => {});
    this.#sendSubscribe(core);
  }

  #subscribeRefused(core: SubscriptionCore, m: ErrorReply): void {
    core.pendingId = 0;
    if (m.code === "token_expired") return void this.#refreshToken().then(() => this.#flush());
    if (m.code === "already_subscribed") {
      this.#call({ type: "unsubscribe", channel: core.channel }, () => {});
      return this.#retrySoon(core.failures++);
    }
    if (m.temporary === true) return this.#retrySoon(core.failures++);
    this.#subs.delete(core.channel);
    core.end(`${m.code}: ${m.message}`, new HubError(m.code, m.message, false));
  }

  #unsubscribe(channel: string): void {
    const core = this.#subs.get(channel);
    if (core === undefined) return;
    this.#subs.delete(channel);
    if (this.#r.state === "open") this.#call({ type: "unsubscribe", channel }, () => {});
    core.end("unsubscribe()");
  }

  /** Sends what is waiting again after a backoff (temporary refusals). One timer for all. */
  #retrySoon(attempt: number): void {
    if (this.#retryTimer !== null) return;
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#r.state === "open") this.#flush();
    }, backoffDelay(attempt, this.#backoff, Math.random));
  }

  #presence(channel: string): Promise<ClientInfo[]> {
    if (this.state === "closed") return Promise.reject(new ClientClosedError(`presence("${channel}") on a closed client`));
    return this.#requests.request({ type: "presence", channel }, (m) => (m.type === "presence" ? m.clients : []));
  }

  // ------------------------------------------------------------ token

  /** Gets a fresh token and sends `refresh` on this connection; one at a time. */
  #refreshToken(): Promise<void> {
    if (this.#refreshing !== null) return this.#refreshing;
    this.#token.stale();
    const p = (async () => {
      try {
        if (!this.#token.refreshable) throw new Error("the hub says the token expired and the token option is a fixed string: pass a function to refresh it");
        const token = await this.#token.get();
        if (this.#r.state !== "open") return; // the next connect sends it
        await new Promise<void>((resolve) => {
          this.#refreshWait = resolve;
          this.#call({ type: "refresh", token }, (m) => {
            if (m.type === "error") this.emit("error", new HubError(m.code, `token refresh refused: ${m.message}`, m.temporary === true));
            resolve();
          });
        });
      } catch (e) {
        this.emit("error", e as Error);
      } finally {
        this.#refreshing = null;
        this.#refreshWait = null;
      }
    })();
    this.#refreshing = p;
    return p;
  }
}

/**
 * Connects to a hub (DESIGN §7). See {@link Client}.
 *
 * @example
 * const client = connect("wss://example.com/connect", {
 *   token: () => fetchToken(),
 *   backoff: { min: 250, max: 30_000, factor: 2, jitter: "full" },
 *   minUptime: 5_000,
 *   transports: ["websocket", "sse"],
 *   queue: { max: 1_000 },
 * });
 */
export function connect(url: string, options?: ClientOptions): Client {
  return new Client(url, options);
}
