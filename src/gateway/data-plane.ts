import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Config, HttpListenerConfig, ListenerConfig, TcpListenerConfig } from "../config/types.ts";
import type { ConfigDiff } from "../core/plan/diff.ts";
import { countError, ERROR_CODE_LIST } from "../errors.ts";
import type { Logger } from "../log.ts";
import { subscribeAccessLog } from "./access-log.ts";
import { Backend } from "./backend.ts";
import type { ClientSession } from "./http/downstream.ts";
import type { HttpListenerContext } from "./http/context.ts";
import type { LiveEventStream } from "./http/sse.ts";
import { Router } from "./routes.ts";
import { attach, destroyOnInput } from "./sockets.ts";
import { HttpListener } from "./http/listener.ts";
import { clientKey, ConnectionLimits, LIMIT_OK } from "./limits.ts";
import { PendingSockets } from "./pending.ts";
import { ProxyAccept } from "./proxy-accept.ts";
import { TicketKeys } from "./tls/tickets.ts";
import type { ListenerCounters, PreparedTls } from "./tls/front.ts";
import { TcpRouter } from "./tcp/router.ts";
import { TcpSession, type TcpListenerContext } from "./tcp/session.ts";
import { TimerWheel } from "./timer-wheel.ts";
import type { Tunnel } from "./tunnel/tunnel.ts";

interface LiveListener {
  cfg: ListenerConfig;
  server: Server;
  ctx: HttpListenerContext | TcpListenerContext;
  /** The accept side of an http listener (TLS, PROXY header, HTTP/2); null for tcp. */
  readonly http: HttpListener | null;
  /** Open connections and refusals for the listener's `limits`. */
  readonly limits: ConnectionLimits;
}

/**
 * Process-wide counters: metrics read them; the data plane counts admission refusals,
 * the control plane reloads.
 *
 * @example
 * plane.counters.admissionRejected; // 3
 */
export interface Counters {
  reloads: number;
  reloadFailures: number;
  admissionRejected: number;
  /** Connections a tcp listener refused because no route took their TLS server name. */
  sniRefused: number;
  /** Connections refused for a missing or malformed PROXY header (`proxyProtocol: accept`). */
  proxyRefused: number;
  /** Requests and connections the gateway ended with each `HF_ERR_*` code (indexed like `ERROR_CODE_LIST`). */
  readonly errors: Float64Array;
  /** `Date.now()` when the process started serving. */
  readonly startedAt: number;
}

/**
 * A fresh set of {@link Counters}.
 *
 * @example
 * const counters = newCounters();
 */
export function newCounters(): Counters {
  return { reloads: 0, reloadFailures: 0, admissionRejected: 0, sniRefused: 0, proxyRefused: 0, errors: new Float64Array(ERROR_CODE_LIST.length), startedAt: Date.now() };
}

/**
 * How this process's data plane takes part (defaults: one process doing everything).
 *
 * @example
 * new DataPlane(config, log, { reusePort: true, share: 1 / 4 }); // one of 4 workers
 */
export interface DataPlaneOptions {
  /** Replaces the default access-log destination (stdout), e.g. in tests. */
  readonly accessLog?: Logger;
  /** Each worker binds its own listening socket (SO_REUSEPORT): the kernel spreads connections. */
  readonly reusePort?: boolean;
  /** This process's share of per-server limits (admission): 1/N with N workers. */
  readonly share?: number;
  /** Derives the TLS session ticket keys; the same in every worker (random when absent). */
  readonly ticketSecret?: Buffer;
}

/**
 * What {@link DataPlane.openListeners} bound for a reload, handed back to
 * {@link DataPlane.commit} once the backends are updated.
 *
 * @example
 * const opened = await plane.openListeners(diff); // throws: nothing changed
 */
export interface OpenedListeners {
  readonly live: readonly LiveListener[];
  /** New certificates for changed listeners, loaded before anything changed (null: TLS off). */
  readonly tls: ReadonlyMap<string, PreparedTls | null | undefined>;
}

/**
 * The data plane of one process: listeners, backends with their live servers, the
 * timer wheel, and the registries of open sessions, tunnels and event streams. It
 * moves bytes and applies what the control plane (`control/`) decides; it decides
 * nothing itself.
 *
 * @example
 * const plane = new DataPlane(config, log);
 * await plane.start();
 * plane.address("web"); // { address: "127.0.0.1", port: 8080, family: "IPv4" }
 * await plane.stop();
 */
export class DataPlane {
  config: Config;
  readonly backends = new Map<string, Backend>();
  readonly wheel = new TimerWheel(100);
  readonly sessions = new Set<ClientSession>();
  readonly tunnels = new Set<Tunnel>();
  /** Exchanges streaming an event stream (a drain ends those of its servers at an event boundary). */
  readonly streams = new Set<LiveEventStream>();
  readonly counters = newCounters();
  readonly #opts: DataPlaneOptions;
  readonly #listeners = new Map<string, LiveListener>();
  readonly #log: Logger | undefined;
  readonly #tickets: TicketKeys;
  /** Connections not yet in a session: reading a PROXY header or in the TLS handshake. */
  readonly #pending = new PendingSockets();
  #unsubscribeAccessLog: (() => void) | undefined;

  constructor(config: Config, log?: Logger, opts: DataPlaneOptions = {}) {
    this.config = config;
    this.#log = log;
    this.#opts = opts;
    this.#tickets = new TicketKeys(opts.ticketSecret);
    for (const b of Object.values(config.backends)) this.backends.set(b.name, this.newBackend(b));
  }

  /** A backend of this process (its servers' pools and counters live here). */
  newBackend(cfg: Config["backends"][string]): Backend {
    return new Backend(cfg, this.wheel, this.#log, this.#opts.share);
  }

  /** Starts the wheel and binds every listener; rejects (and closes what was bound) if one cannot bind. */
  async start(): Promise<void> {
    this.wheel.start();
    try {
      for (const l of this.config.listeners) this.#register(await this.#bind(this.#newListener(l)));
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#syncAccessLog();
  }

  /** The bound address of a listener (useful with port 0). */
  address(listener: string): AddressInfo {
    const l = this.#listeners.get(listener);
    if (l === undefined) throw new Error(`no listener named ${listener}`);
    return l.server.address() as AddressInfo;
  }

  /** TLS handshake and protocol counters of an http listener (undefined: no such http listener). */
  listenerCounters(listener: string): ListenerCounters | undefined {
    return this.#listeners.get(listener)?.http?.tls;
  }

  /** Open connections and refusals of a listener's `limits` (undefined: no such listener). */
  listenerLimits(listener: string): ConnectionLimits | undefined {
    return this.#listeners.get(listener)?.limits;
  }

  get listenerNames(): string[] {
    return [...this.#listeners.keys()];
  }

  #newListener(l: ListenerConfig): LiveListener {
    return l.mode === "http" ? this.#httpListener(l) : this.#tcpListener(l);
  }

  #bind(live: LiveListener): Promise<LiveListener> {
    const l = live.cfg;
    const server = live.server;
    const reusePort = this.#opts.reusePort === true;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: l.listen.host, port: l.listen.port, backlog: 4096, reusePort, exclusive: reusePort }, () => {
        server.off("error", reject);
        server.on("error", (err) => this.#log?.error({ err, listener: l.name }, "listener error"));
        resolve(live);
      });
    });
  }

  #register(live: LiveListener): void {
    this.#listeners.set(live.cfg.name, live);
    const a = live.server.address() as AddressInfo;
    this.#log?.info({ listener: live.cfg.name, mode: live.cfg.mode, address: `${a.address}:${a.port}` }, "listening");
  }

  #httpListener(l: HttpListenerConfig): LiveListener {
    const ctx: HttpListenerContext = {
      cfg: l,
      router: new Router(l.routes, this.backends),
      wheel: this.wheel,
      sessions: this.sessions,
      tunnels: this.tunnels,
      streams: this.streams,
      counters: this.counters,
      plane: this,
    };
    const http = new HttpListener(ctx, { tickets: this.#tickets, pending: this.#pending, counters: this.counters, log: this.#log });
    return { cfg: l, server: http.server, ctx, http, limits: http.limits };
  }

  #tcpListener(l: TcpListenerConfig): LiveListener {
    // A TCP listener added by a reload may name a backend added by the same reload:
    // commit() points it at its backend.
    const known = l.routes.every((r) => this.backends.has(r.backend));
    const router = known ? new TcpRouter(l.routes, this.backends) : (undefined as unknown as TcpRouter);
    const ctx: TcpListenerContext = { cfg: l, router, wheel: this.wheel, tunnels: this.tunnels, counters: this.counters, plane: this };
    const limits = new ConnectionLimits();
    // Over a limit, a connection is closed at once: TCP has no way to say why.
    const errors = this.counters.errors;
    const refuse = (socket: Socket): void => {
      countError(errors, "HF_ERR_CONNECTION_LIMIT");
      socket.destroy();
    };
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      socket.setNoDelay(true);
      if (limits.accept(socket, ctx.cfg.limits) !== LIMIT_OK) return refuse(socket);
      const s = attach(socket, destroyOnInput);
      if (ctx.cfg.proxyProtocol === "accept") {
        this.#pending.hold(socket);
        new ProxyAccept(s, this.wheel, this.counters, this.#log, (sock, client, rest) => {
          if (limits.client(sock, clientKey(client.ip), ctx.cfg.limits) !== LIMIT_OK) return refuse(sock);
          this.#pending.settle(sock);
          new TcpSession(sock, ctx, client, rest);
        });
      } else if (limits.client(socket, clientKey(socket.remoteAddress), ctx.cfg.limits) !== LIMIT_OK) refuse(socket);
      else new TcpSession(s, ctx);
    });
    return { cfg: l, server, ctx, http: null, limits };
  }

  /**
   * The first half of applying a reload: a removed listener whose address an added one
   * takes (a rename, a mode change) closes first; then every added listener binds, so a
   * bind failure rejects with nothing else changed (what was bound is closed again).
   */
  async openListeners(diff: ConfigDiff): Promise<OpenedListeners> {
    for (const r of diff.listeners.removed) {
      if (diff.listeners.added.some((a) => a.listen.port === r.listen.port && a.listen.host === r.listen.host)) this.closeListener(r.name);
    }
    const live: LiveListener[] = [];
    const tls = new Map<string, PreparedTls | null | undefined>();
    try {
      // Certificates first: a broken file refuses the reload before anything changes.
      for (const c of diff.listeners.changed) {
        const l = c.after;
        const http = this.#listeners.get(l.name)?.http;
        if (l.mode === "http" && http != null) tls.set(l.name, http.prepare(l));
      }
      for (const l of diff.listeners.added) live.push(await this.#bind(this.#newListener(l)));
    } catch (err) {
      for (const a of live) (a.http ?? a.server).close();
      throw err;
    }
    return { live, tls };
  }

  /**
   * The second half, after the backends changed: removed listeners close, and every
   * listener re-reads its config and routes (routes name backends by object).
   */
  commit(next: Config, diff: ConfigDiff, opened: OpenedListeners): void {
    for (const l of diff.listeners.removed) this.closeListener(l.name);
    for (const live of opened.live) this.#register(live);
    this.config = next;
    for (const l of next.listeners) {
      const live = this.#listeners.get(l.name);
      if (live === undefined) continue;
      live.cfg = l;
      if (l.mode === "http") {
        const ctx = live.ctx as HttpListenerContext;
        ctx.cfg = l;
        ctx.router = new Router(l.routes, this.backends);
        live.http?.apply(opened.tls.get(l.name));
      } else {
        const ctx = live.ctx as TcpListenerContext;
        ctx.cfg = l;
        ctx.router = new TcpRouter(l.routes, this.backends);
      }
    }
    this.#syncAccessLog();
  }

  /**
   * Stops accepting on a listener; its idle keep-alive connections close, busy ones after
   * their exchange (HTTP/2 ones get GOAWAY), and its event streams end at their next
   * event boundary.
   */
  closeListener(name: string): void {
    const live = this.#listeners.get(name);
    if (live === undefined) return;
    this.#listeners.delete(name);
    (live.http ?? live.server).close();
    for (const s of this.sessions) if (s.listener === name) s.closeWhenIdle();
    // An HTTP/1.1 session's closeWhenIdle ended its event stream already; an HTTP/2
    // connection's GOAWAY lets its streams run on, so an event stream it carries would
    // last until the hard deadline cut it mid-event. One pass over the registry ends
    // every stream of the listener (endStream is idempotent), not one per connection.
    for (const x of this.streams) if (x.listener === name) x.endStream();
    this.#log?.info({ listener: name }, "listener closed");
  }

  /** Stops accepting on every listener (the start of a graceful stop). */
  closeListeners(): void {
    for (const name of [...this.#listeners.keys()]) this.closeListener(name);
  }

  /** Closes every pooled idle upstream connection. */
  closeIdle(): void {
    for (const b of this.backends.values()) for (const s of [...b.servers, ...b.retired]) s.closeIdle();
  }

  // The access log subscribes to the exchange and tunnel events while a listener has
  // `accessLog: true`; without it nobody listens and the data plane builds no record.
  #syncAccessLog(): void {
    const on = this.config.listeners.some((l) => l.mode === "http" && l.accessLog);
    if (on && this.#unsubscribeAccessLog === undefined) {
      this.#unsubscribeAccessLog = subscribeAccessLog(this, this.#opts.accessLog, (listener) => {
        const l = this.config.listeners.find((x) => x.name === listener);
        return l !== undefined && l.mode === "http" && l.accessLog;
      });
    } else if (!on && this.#unsubscribeAccessLog !== undefined) {
      this.#unsubscribeAccessLog();
      this.#unsubscribeAccessLog = undefined;
    }
  }

  /** Stops at once: closes listeners, sessions, tunnels and pooled connections, and the wheel. */
  async stop(): Promise<void> {
    const closing = [...this.#listeners.values()].map((l) => new Promise<void>((r) => l.server.close(() => r())));
    for (const l of this.#listeners.values()) l.http?.front?.close();
    this.#listeners.clear();
    this.#tickets.stop();
    for (const s of this.sessions) s.socket.destroy();
    this.#pending.destroyAll();
    for (const t of this.tunnels) t.close();
    this.closeIdle();
    this.wheel.stop();
    this.#unsubscribeAccessLog?.();
    this.#unsubscribeAccessLog = undefined;
    await Promise.all(closing);
  }
}
