import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Config, HttpListenerConfig, ListenerConfig, TcpListenerConfig } from "../config/types.ts";
import { diffConfig, isEmptyDiff, type ConfigDiff } from "../core/plan/diff.ts";
import { drain, enable, maintenance, setWeight, type HealthRecord } from "../core/health/state.ts";
import type { Logger } from "../log.ts";
import { createAccessLog } from "./access-log.ts";
import { Backend } from "./backend.ts";
import { Deadlines } from "./timer-wheel.ts";
import { Drainer } from "../control/drainer.ts";
import { HealthRunner } from "../control/health-runner.ts";
import { HttpSession, type HttpListenerContext } from "./http/session.ts";
import { RebalanceRunner } from "../control/rebalancer.ts";
import { Router } from "./routes.ts";
import { attach, discard } from "./sockets.ts";
import { TcpSession, type TcpListenerContext } from "./tcp/session.ts";
import type { Tunnel } from "./tunnel/tunnel.ts";
import type { UpstreamServer } from "./upstream.ts";

interface LiveListener {
  cfg: ListenerConfig;
  server: Server;
  ctx: HttpListenerContext | TcpListenerContext;
}

/**
 * Live gauges summed from the workers (set on the primary's model gateway only): the
 * admin reads them instead of walking sockets, which live in the workers.
 */
export interface MirrorState {
  servers: Map<UpstreamServer, { active: number; idle: number; tunnels: number; tunnelBytesIn: number; tunnelBytesOut: number; queue: number }>;
  listeners: Map<string, { connections: number; tunnels: number }>;
  sessions: number;
  tunnels: number;
}

/** How this process takes part (defaults: one process doing everything). */
export interface GatewayOptions {
  /** Replaces the default access-log destination (stdout), e.g. in tests. */
  readonly accessLog?: Logger;
  /** Each worker binds its own listening socket (SO_REUSEPORT): the kernel spreads connections. */
  readonly reusePort?: boolean;
  /** The primary's model: no listeners are bound, no connections are handled. */
  readonly headless?: boolean;
  /** Run active health checks here (false in workers: the primary runs them). */
  readonly activeChecks?: boolean;
  /** This process's share of per-server limits (admission): 1/N with N workers. */
  readonly share?: number;
}

/** What a reload did, for logs and the admin API. */
export interface ReloadReport {
  readonly changed: boolean;
  readonly diff: ConfigDiff;
  /** Top-level settings that only take effect on restart (`workers`, `admin`, `cluster`). */
  readonly needsRestart: readonly string[];
}

/**
 * The data plane of one process: listeners, backends with their live servers, and the
 * registries of open sessions and tunnels (the seams for drain, reload and stop).
 *
 * @example
 * const gw = new Gateway(config, logger);
 * await gw.start();
 * gw.address("web"); // { address: "127.0.0.1", port: 8080, family: "IPv4" }
 * await gw.reload(newConfig); // applied in place; established connections untouched
 * await gw.shutdown();        // graceful: finish requests, spread tunnel closes
 */
export class Gateway {
  config: Config;
  readonly backends = new Map<string, Backend>();
  readonly wheel = new Deadlines(100);
  readonly sessions = new Set<HttpSession>();
  readonly tunnels = new Set<Tunnel>();
  readonly health: HealthRunner;
  readonly drainer: Drainer;
  readonly rebalancer: RebalanceRunner;
  /** Process-wide counters (metrics read them; the lifecycle features increment them). */
  readonly counters = { reloads: 0, reloadFailures: 0, admissionRejected: 0, startedAt: Date.now() };
  /** True from the start of a graceful stop (`/healthz` answers 503). */
  stopping = false;
  /** Told after every successful admin action (the primary forwards it to the workers). */
  onAction: ((backend: string, server: string, action: "drain" | "enable" | "maintenance" | "weight", weight?: number) => void) | undefined;
  /** Set on the primary's model when workers serve: see {@link MirrorState}. */
  mirror: MirrorState | null = null;
  readonly #opts: GatewayOptions;
  readonly #listeners = new Map<string, LiveListener>();
  readonly #log: Logger | undefined;
  #accessLog: Logger | undefined;

  constructor(config: Config, log?: Logger, opts: GatewayOptions = {}) {
    this.config = config;
    this.#log = log;
    this.#opts = opts;
    this.#accessLog = opts.accessLog;
    for (const [name, b] of Object.entries(config.backends)) this.backends.set(name, new Backend(b, this.wheel, log, opts.share));
    this.health = new HealthRunner(this.backends, log, 250, opts.activeChecks ?? true);
    this.drainer = new Drainer(this.tunnels, this.wheel, log);
    this.rebalancer = new RebalanceRunner(this.backends, this.tunnels, this.drainer, this.wheel, log);
  }

  /** Binds every listener; rejects (and closes what was bound) if one cannot bind. */
  async start(): Promise<void> {
    this.wheel.start();
    this.health.start();
    if (this.#opts.headless === true) return;
    this.rebalancer.start();
    try {
      for (const l of this.config.listeners) await this.#listen(l);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The bound address of a listener (useful with port 0). */
  address(listener: string): AddressInfo {
    const l = this.#listeners.get(listener);
    if (l === undefined && this.#opts.headless === true) {
      const cfg = this.config.listeners.find((x) => x.name === listener);
      if (cfg !== undefined) return { address: cfg.listen.host, port: cfg.listen.port, family: cfg.listen.host.includes(":") ? "IPv6" : "IPv4" };
    }
    if (l === undefined) throw new Error(`no listener named ${listener}`);
    return l.server.address() as AddressInfo;
  }

  get listenerNames(): string[] {
    return [...this.#listeners.keys()];
  }

  #listen(l: ListenerConfig): Promise<void> {
    const live = l.mode === "http" ? this.#httpListener(l) : this.#tcpListener(l);
    const server = live.server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#listenOptions(l), () => {
        server.off("error", reject);
        server.on("error", (err) => this.#log?.error({ err, listener: l.name }, "listener error"));
        this.#listeners.set(l.name, live);
        const a = server.address() as AddressInfo;
        this.#log?.info({ listener: l.name, mode: l.mode, address: `${a.address}:${a.port}` }, "listening");
        resolve();
      });
    });
  }

  #listenOptions(l: ListenerConfig) {
    const reusePort = this.#opts.reusePort === true;
    return { host: l.listen.host, port: l.listen.port, backlog: 4096, reusePort, exclusive: reusePort };
  }

  /**
   * Applies what the primary's checks and admin actions decided (in a worker). Passive
   * ejection stays this worker's own; the record's times come from the primary's clock
   * and are shifted by `clockOffset` (primary time − this process's time).
   */
  applyHealth(backend: string, server: string, record: HealthRecord, clockOffset: number): void {
    const found = this.#find(backend, server);
    if (found === undefined) return;
    const h = found.s.health;
    h.admin = record.admin;
    h.checkUp = record.checkUp;
    h.passes = record.passes;
    h.fails = record.fails;
    h.agentWeight = record.agentWeight;
    h.adminWeight = record.adminWeight;
    h.rampStart = record.rampStart - clockOffset;
    h.changedAt = record.changedAt - clockOffset;
    found.s.refresh(this.wheel.clock(), found.b.config.slowStart);
    found.b.refresh(this.wheel.now);
  }

  #httpListener(l: HttpListenerConfig): LiveListener {
    const ctx: HttpListenerContext = {
      cfg: l,
      router: new Router(l.routes, this.backends),
      wheel: this.wheel,
      // The listener does not terminate TLS yet even with `tls` set: it must not claim
      // to (no X-Forwarded-Proto: https, no Secure cookie) until it does (issue 13).
      proto: "http",
      sessions: this.sessions,
      tunnels: this.tunnels,
      counters: this.counters,
      accessLog: l.accessLog ? (this.#accessLog ??= createAccessLog()) : undefined,
    };
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      // The server's noDelay option does not reach accepted sockets on every Node version.
      socket.setNoDelay(true);
      new HttpSession(attach(socket, discard), ctx);
    });
    return { cfg: l, server, ctx };
  }

  #tcpListener(l: TcpListenerConfig): LiveListener {
    const ctx: TcpListenerContext = { cfg: l, backend: this.#backend(l.backend), wheel: this.wheel, tunnels: this.tunnels, counters: this.counters };
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      socket.setNoDelay(true);
      new TcpSession(attach(socket, discard), ctx);
    });
    return { cfg: l, server, ctx };
  }

  #backend(name: string): Backend {
    const b = this.backends.get(name);
    if (b === undefined) throw new Error(`unknown backend ${name}`);
    return b;
  }

  #find(backend: string, server: string): { b: Backend; s: UpstreamServer } | undefined {
    const b = this.backends.get(backend);
    const s = b?.servers.find((x) => x.name === server);
    return b === undefined || s === undefined ? undefined : { b, s };
  }

  /**
   * Admin actions on a server (the admin API calls these): `drain` (no new requests or
   * tunnels; its tunnels close with 1012 after `drainTimeout`, spread over `drainSpread`),
   * `maintenance` (out of rotation at once), `enable` (back to what the checks say),
   * `weight` (0–256; `undefined` restores the configured weight). Returns false when the
   * backend or server does not exist; throws RangeError on a bad weight.
   */
  serverAction(backend: string, server: string, action: "drain" | "enable" | "maintenance" | "weight", weight?: number): boolean {
    const found = this.#find(backend, server);
    if (found === undefined) return false;
    const { b, s } = found;
    const now = this.wheel.clock();
    if (action === "drain") drain(s.health, now);
    else if (action === "maintenance") maintenance(s.health, now);
    else if (action === "enable") enable(s.health, now);
    else setWeight(s.health, weight);
    s.refresh(now, b.config.slowStart);
    if (action === "drain" || action === "maintenance") s.closeIdle();
    if (action === "drain") this.drainer.drain(b, [s]);
    if (action === "enable") this.drainer.cancel(s);
    b.refresh(now);
    this.#log?.info({ backend, server, action, weight }, "admin action");
    this.onAction?.(backend, server, action, weight);
    return true;
  }

  /**
   * Applies a new, already validated config in place (DESIGN §4 "Reload"): added
   * listeners bind, removed ones stop accepting and their connections close when idle;
   * backends and servers are added, updated or drained; established connections on
   * kept servers are untouched. Rejects (leaving the old config serving) only if an
   * added listener cannot bind.
   */
  async reload(next: Config): Promise<ReloadReport> {
    const diff = diffConfig(this.config, next);
    const needsRestart = diff.global.filter((g) => g !== "shutdown");
    if (isEmptyDiff(diff)) return { changed: false, diff, needsRestart };
    const now = this.wheel.clock();
    // A removed listener whose address an added one takes (a rename, a mode change)
    // closes first; other new listeners bind before anything else changes, so a bind
    // failure leaves the old config serving.
    for (const r of diff.listeners.removed) {
      if (diff.listeners.added.some((a) => a.listen.port === r.listen.port && a.listen.host === r.listen.host)) this.#closeListener(r.name);
    }
    const added: LiveListener[] = [];
    for (const l of this.#opts.headless === true ? [] : diff.listeners.added) {
      try {
        const live = l.mode === "http" ? this.#httpListener(l) : this.#tcpListenerDeferred(l);
        await this.#bind(live);
        added.push(live);
      } catch (err) {
        for (const a of added) a.server.close();
        throw err;
      }
    }
    for (const b of diff.backends.added) this.backends.set(b.name, new Backend(b, this.wheel, this.#log, this.#opts.share));
    for (const c of diff.backends.changed) {
      const b = this.#backend(c.after.name);
      const removed = b.update(c, now);
      if (removed.length > 0) this.drainer.drain(b, removed);
    }
    for (const r of diff.backends.removed) {
      const b = this.#backend(r.name);
      this.drainer.drain(b, b.retireAll(now));
      this.backends.delete(r.name);
    }
    for (const l of diff.listeners.removed) this.#closeListener(l.name);
    this.config = next;
    // Every listener re-reads its config and routes (routes name backends by object).
    for (const l of next.listeners) {
      const live = this.#listeners.get(l.name) ?? added.find((a) => a.cfg.name === l.name);
      if (live === undefined) continue;
      live.cfg = l;
      if (l.mode === "http") {
        const ctx = live.ctx as HttpListenerContext;
        ctx.cfg = l;
        ctx.router = new Router(l.routes, this.backends);
      } else {
        const ctx = live.ctx as TcpListenerContext;
        ctx.cfg = l;
        ctx.backend = this.#backend(l.backend);
      }
      this.#listeners.set(l.name, live);
    }
    this.health.sync();
    this.counters.reloads++;
    this.#log?.info({ listeners: summarize(diff.listeners), backends: summarize(diff.backends), needsRestart }, "config reloaded");
    return { changed: true, diff, needsRestart };
  }

  // A TCP listener added by a reload may name a backend added by the same reload.
  #tcpListenerDeferred(l: TcpListenerConfig): LiveListener {
    const ctx: TcpListenerContext = { cfg: l, backend: undefined as unknown as Backend, wheel: this.wheel, tunnels: this.tunnels, counters: this.counters };
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      socket.setNoDelay(true);
      new TcpSession(attach(socket, discard), ctx);
    });
    return { cfg: l, server, ctx };
  }

  #bind(live: LiveListener): Promise<void> {
    const l = live.cfg;
    return new Promise((resolve, reject) => {
      live.server.once("error", reject);
      live.server.listen(this.#listenOptions(l), () => {
        live.server.off("error", reject);
        resolve();
      });
    });
  }

  #closeListener(name: string): void {
    const live = this.#listeners.get(name);
    if (live === undefined) return;
    this.#listeners.delete(name);
    live.server.close();
    for (const s of this.sessions) if (s.listener === name) s.closeWhenIdle();
    this.#log?.info({ listener: name }, "listener closed");
  }

  /**
   * Graceful stop (DESIGN §4 "Stop the gateway"): `stopping` at once (healthz 503);
   * after `delay` the listeners stop accepting; idle keep-alive connections close, busy
   * ones get `Connection: close` on their last response; tunnels close with 1001 spread
   * over the window; resolves when everything is closed or at `timeout` (then the rest
   * is cut).
   */
  async shutdown(delay = this.config.shutdown.delay, timeout = this.config.shutdown.timeout): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const t0 = performance.now();
    this.#log?.info({ delay, timeout }, "graceful stop");
    await sleep(delay);
    for (const name of [...this.#listeners.keys()]) this.#closeListener(name);
    for (const b of this.backends.values()) for (const s of [...b.servers, ...b.retired]) s.closeIdle();
    const window = Math.max(0, timeout - (performance.now() - t0));
    // Spread tunnel closes over half of what is left, so clients reconnect (elsewhere)
    // in a trickle and the last closes still finish before the deadline.
    this.drainer.stopAll(window / 2);
    while (this.sessions.size + this.tunnels.size > 0 && performance.now() - t0 < timeout) await sleep(50);
    await this.stop();
  }

  /** Stops at once: closes listeners, sessions, tunnels and pooled connections. */
  async stop(): Promise<void> {
    const closing = [...this.#listeners.values()].map((l) => new Promise<void>((r) => l.server.close(() => r())));
    this.#listeners.clear();
    for (const s of this.sessions) s.socket.destroy();
    for (const t of this.tunnels) t.close();
    for (const b of this.backends.values()) for (const s of [...b.servers, ...b.retired]) s.closeIdle();
    this.drainer.stop();
    this.rebalancer.stop();
    this.health.stop();
    this.wheel.stop();
    await Promise.all(closing);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function summarize(c: { added: readonly { name: string }[]; removed: readonly { name: string }[]; changed: readonly { after: { name: string } }[] }) {
  return { added: c.added.map((x) => x.name), removed: c.removed.map((x) => x.name), changed: c.changed.map((x) => x.after.name) };
}
