/**
 * The hub (DESIGN §6): a realtime server with channels, broadcast, presence, history
 * and resume. One node keeps its state in memory (the default); several share it
 * through Redis, so a client may land on any node.
 *
 * @example
 * import { Hub, loadHubConfig } from "holdfast/hub";
 * const r = loadHubConfig("auth: { anonymous: true }\nchannels: [{ match: '*', anonymous: true }]\n", { env: process.env, baseDir: "." });
 * if (!r.ok) throw new Error(r.issues.map((i) => i.message).join("\n"));
 * const hub = new Hub(r.config);
 * await hub.start();            // ws://host:7000/connect, /sse + /send, /api/*, /healthz
 * await hub.publish("news", { title: "hello" });
 * await hub.stop();             // 1012 + retry-after to every client, spread over shutdown.spread
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import type { WebSocketServer } from "ws";
import { createLogger, type Logger } from "../log.ts";
import { CloseCode } from "../protocol/close.ts";
import type { ClientInfo } from "../protocol/hub.ts";
import { Pools } from "../pool/index.ts";
import { jwksFetchVia } from "./auth/jwks.ts";
import { createVerifier, type TokenVerifier } from "./auth/verify.ts";
import { createBroker, type BrokerConfig } from "./broker/registry.ts";
import type { MemoryStore } from "./broker/memory.ts";
import type { Broker, PublishResult } from "./broker/types.ts";
import type { HubConfig } from "./config/types.ts";
import { startHubAdmin, type HubAdmin } from "./admin/server.ts";
import { createHubServer } from "./server/http.ts";
import { meterBroker } from "./server/metered.ts";
import { HubNode } from "./server/node.ts";
import { SseSessions } from "./server/sse.ts";
import { HubStats } from "./server/stats.ts";
import { listenOn, urlOf } from "../admin/kit/http.ts";
import { createWsServer } from "./server/ws.ts";

/**
 * Options of {@link Hub} beyond its config.
 *
 * @example
 * new Hub(config, { log: createLogger("hub", "warn"), admin: false });
 */
export interface HubOptions {
  readonly log?: Logger;
  /** A broker to use instead of the one `config.broker` describes. */
  readonly broker?: Broker;
  /** With the memory broker: a store shared with other hubs in this process (two nodes in one test, a demo). */
  readonly store?: MemoryStore;
  /** Start the admin server on `admin.listen` (default true). */
  readonly admin?: boolean;
}

/**
 * A hub node.
 *
 * @example
 * const hub = new Hub(config);
 * await hub.start();
 * console.log(hub.url); // http://127.0.0.1:7000
 */
export class Hub {
  readonly config: HubConfig;
  readonly stats = new HubStats();
  readonly log: Logger;
  /** When `start` began (performance.now()), for the uptime. */
  startedAt = 0;
  #opts: HubOptions;
  #node: HubNode | undefined;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #sse: SseSessions | undefined;
  #admin: HubAdmin | undefined;
  #pools: Pools | undefined;
  #stopped: Promise<void> | undefined;

  constructor(config: HubConfig, opts: HubOptions = {}) {
    this.config = config;
    this.#opts = opts;
    this.log = opts.log ?? createLogger("hub");
  }

  /** The node's engine (connections, channels, stats); after `start`. */
  get node(): HubNode {
    if (this.#node === undefined) throw new Error("hub: call start() first");
    return this.#node;
  }

  /**
   * The hub's outbound HTTP pools (the JWKS fetch of `auth.jwt.jwksUrl`); their
   * statistics are on `/metrics` as `holdfast_pool_*`. After `start`.
   */
  get pools(): Pools {
    if (this.#pools === undefined) throw new Error("hub: call start() first");
    return this.#pools;
  }

  /** The node's name (`node`, default `hostname:pid`). */
  get name(): string {
    return this.config.node ?? `${hostname()}:${process.pid}`;
  }

  /** The bound address of `listen`. */
  get address(): AddressInfo {
    if (this.#server === undefined) throw new Error("hub: call start() first");
    return this.#server.address() as AddressInfo;
  }

  /** `http://host:port` of the listener (a wildcard bind shows as loopback). */
  get url(): string {
    return urlOf(this.address);
  }

  /** The admin server's URL, when it runs. */
  get adminUrl(): string | undefined {
    return this.#admin?.url;
  }

  /** True once `stop` began. */
  get stopping(): boolean {
    return this.#node?.stopping ?? false;
  }

  /**
   * Starts the broker, binds `listen` and (unless disabled) `admin.listen`. Rejects when
   * an address cannot be bound or the broker cannot start; nothing is left running.
   */
  async start(): Promise<void> {
    this.startedAt = performance.now();
    // Few origins, rare calls (jose caches the keys): a small pool, HTTP/2 where offered.
    const pools = new Pools({ connections: 4, keepAliveTimeout: 30_000, connectTimeout: 5_000, allowH2: true });
    let node: HubNode;
    try {
      const jwt = this.config.auth.jwt;
      const verifier: TokenVerifier | undefined = jwt === undefined ? undefined : await createVerifier(jwt, { fetch: jwksFetchVia(pools) });
      const broker = meterBroker(this.#opts.broker ?? createBroker(brokerConfig(this.config), { node: this.name, store: this.#opts.store }), this.stats);
      node = new HubNode({ config: this.config, node: this.name, broker, log: this.log, verifier, stats: this.stats });
      await node.start();
    } catch (err) {
      await pools.close();
      throw err;
    }
    this.#pools = pools;
    this.#node = node;
    this.#wss = createWsServer(node);
    this.#sse = new SseSessions(node);
    const server = createHubServer(node, this.#sse, this.#wss);
    this.#server = server;
    try {
      await listenOn(server, this.config.listen);
      if (this.#opts.admin !== false) this.#admin = await startHubAdmin(this, this.config.admin);
    } catch (err) {
      server.close();
      await this.#admin?.close();
      await node.shutdown();
      await pools.close();
      throw err;
    }
    this.log.info({ url: this.url, node: this.name, broker: node.broker.type }, "hub listening");
  }

  /**
   * Publishes from the server side (like `POST /api/publish`); resolves once stored.
   * Rejects with `BrokerUnavailableError` when it was not, and with an Error for a
   * channel no rule matches.
   *
   * @example
   * const { offset, epoch } = await hub.publish("news", { title: "hi" }, { idempotencyKey: "n-1" });
   */
  async publish(channel: string, data: unknown, opts: { idempotencyKey?: string } = {}): Promise<PublishResult> {
    const node = this.node;
    const rule = node.rule(channel);
    if (rule === undefined) throw new Error(`no channel rule matches ${JSON.stringify(channel)}`);
    return node.publish(channel, rule, JSON.stringify(data), undefined, opts.idempotencyKey);
  }

  /**
   * A channel's history (like `POST /api/history`): the publications after `since`
   * (oldest first, at most `limit`, data parsed) and the channel's position.
   *
   * @example
   * const { publications, offset, epoch } = await hub.history("chat:lobby", { limit: 50 });
   */
  async history(channel: string, opts: { since?: number; limit?: number } = {}): Promise<{ offset: number; epoch: string; publications: { offset?: number; epoch?: string; data: unknown; info?: unknown }[] }> {
    const rule = this.node.rule(channel);
    if (rule === undefined) throw new Error(`no channel rule matches ${JSON.stringify(channel)}`);
    if (rule.history === null) throw new Error(`channel ${JSON.stringify(channel)} keeps no history`);
    const r = await this.node.broker.history(channel, { since: opts.since, limit: Math.min(opts.limit ?? rule.history.size, rule.history.size), history: rule.history });
    return { ...r.position, publications: r.publications.map((p) => ({ ...p, data: JSON.parse(p.data) as unknown })) };
  }

  /**
   * Who is on a channel with presence (every node's clients).
   *
   * @example
   * (await hub.presence("chat:lobby")).map((c) => c.user);
   */
  presence(channel: string): Promise<ClientInfo[]> {
    return this.node.broker.presence(channel);
  }

  /**
   * The graceful stop (SIGTERM): `/healthz` answers 503 at once and new connections are
   * refused; every client is closed with `1012` and a `retry-after=<ms>` hint, the
   * closes spread evenly over `shutdown.spread` so their reconnects do not land on the
   * other nodes at once; then the broker and the listeners close.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop(this.config.shutdown.spread);
    return this.#stopped;
  }

  /** Stops at once: every client closed with `1001`, no spread. */
  close(): Promise<void> {
    this.#stopped ??= this.#stop(0);
    return this.#stopped;
  }

  async #stop(spread: number): Promise<void> {
    const node = this.#node;
    if (node === undefined) return;
    node.stopping = true;
    this.#admin?.setStopping();
    const conns = [...node.connections];
    // Shuffle, then one close per slot: an even spread, in random order.
    for (let i = conns.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [conns[i], conns[j]] = [conns[j]!, conns[i]!];
    }
    const start = performance.now();
    const code = spread > 0 ? CloseCode.SERVICE_RESTART : CloseCode.GOING_AWAY;
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = spread === 0 ? conns.length : Math.min(conns.length, Math.floor(((performance.now() - start) / spread) * conns.length) + 1);
        for (; next < due; next++) node.close(conns[next]!, code, `retry-after=${Math.floor(Math.random() * 1000)}; hub node stopping`);
        if (next >= conns.length) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, Math.max(10, Math.min(100, spread / 20)));
      tick();
    });
    // Closes that complete the handshake go at once; a client that never answers is
    // dropped by the sweep after its grace, or here.
    const deadline = performance.now() + 2_000;
    while (node.connections.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const conn of node.connections) conn.transport.terminate();
    this.#sse?.closeAll();
    await new Promise<void>((resolve) => {
      this.#server!.close(() => resolve());
      this.#server!.closeAllConnections();
    });
    this.#wss?.close();
    await node.shutdown();
    await this.#admin?.close();
    await this.#pools?.close();
    this.log.info({ node: this.name }, "hub stopped");
  }
}

function brokerConfig(config: HubConfig): BrokerConfig {
  const b = config.broker;
  if (b.type === "memory") return b;
  return b.prefix === undefined ? { type: "redis", url: b.url } : { type: "redis", url: b.url, prefix: b.prefix };
}

