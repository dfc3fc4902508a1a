import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Config, HttpListenerConfig, ListenerConfig, TcpListenerConfig } from "../config/types.ts";
import type { Logger } from "../log.ts";
import { drain, enable, maintenance, setWeight } from "../health/state.ts";
import { createAccessLog } from "./access-log.ts";
import { Backend } from "./backend.ts";
import { HealthRunner } from "./health-runner.ts";
import { Deadlines } from "./deadlines.ts";
import { HttpSession, type HttpListenerContext } from "./http-session.ts";
import { Router } from "./routes.ts";
import { attach, discard } from "./sockets.ts";
import { TcpSession, type TcpListenerContext } from "./tcp-session.ts";
import type { Tunnel } from "./tunnel.ts";

/**
 * The data plane of one process: listeners, backends with their live servers, and the
 * registries of open sessions and tunnels (the seams for drain, reload and stop).
 *
 * @example
 * const gw = new Gateway(config, logger);
 * await gw.start();
 * gw.address("web"); // { address: "127.0.0.1", port: 8080, family: "IPv4" }
 * await gw.stop();
 */
export class Gateway {
  readonly config: Config;
  readonly backends = new Map<string, Backend>();
  readonly wheel = new Deadlines(100);
  readonly sessions = new Set<HttpSession>();
  readonly tunnels = new Set<Tunnel>();
  readonly health: HealthRunner;
  /** Process-wide counters (metrics read them; the lifecycle features increment them). */
  readonly counters = { reloads: 0, reloadFailures: 0, admissionRejected: 0, startedAt: Date.now() };
  readonly #servers = new Map<string, Server>();
  readonly #log: Logger | undefined;
  #accessLog: Logger | undefined;

  /** `accessLog` replaces the default access-log destination (stdout), e.g. in tests. */
  constructor(config: Config, log?: Logger, opts: { accessLog?: Logger } = {}) {
    this.config = config;
    this.#log = log;
    this.#accessLog = opts.accessLog;
    for (const [name, b] of Object.entries(config.backends)) this.backends.set(name, new Backend(b, this.wheel, log));
    this.health = new HealthRunner(this.backends, log);
  }

  /** Binds every listener; rejects (and closes what was bound) if one cannot bind. */
  async start(): Promise<void> {
    this.wheel.start();
    this.health.start();
    try {
      for (const l of this.config.listeners) await this.#listen(l);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The bound address of a listener (useful with port 0). */
  address(listener: string): AddressInfo {
    const srv = this.#servers.get(listener);
    if (srv === undefined) throw new Error(`no listener named ${listener}`);
    return srv.address() as AddressInfo;
  }

  #listen(l: ListenerConfig): Promise<void> {
    const server = l.mode === "http" ? this.#httpServer(l) : this.#tcpServer(l);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: l.listen.host, port: l.listen.port, backlog: 4096 }, () => {
        server.off("error", reject);
        server.on("error", (err) => this.#log?.error({ err, listener: l.name }, "listener error"));
        this.#servers.set(l.name, server);
        const a = server.address() as AddressInfo;
        this.#log?.info({ listener: l.name, mode: l.mode, address: `${a.address}:${a.port}` }, "listening");
        resolve();
      });
    });
  }

  #httpServer(l: HttpListenerConfig): Server {
    const ctx: HttpListenerContext = {
      cfg: l,
      router: new Router(l.routes, this.backends),
      wheel: this.wheel,
      proto: l.tls === undefined ? "http" : "https",
      sessions: this.sessions,
      tunnels: this.tunnels,
      accessLog: l.accessLog ? (this.#accessLog ??= createAccessLog()) : undefined,
    };
    return createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      // The server's noDelay option does not reach accepted sockets on every Node version.
      socket.setNoDelay(true);
      new HttpSession(attach(socket, discard), ctx);
    });
  }

  #tcpServer(l: TcpListenerConfig): Server {
    const backend = this.backends.get(l.backend);
    if (backend === undefined) throw new Error(`listener ${l.name}: unknown backend ${l.backend}`);
    const ctx: TcpListenerContext = { cfg: l, backend, wheel: this.wheel, tunnels: this.tunnels };
    return createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      new TcpSession(attach(socket, discard), ctx);
    });
  }

  /**
   * Admin actions on a server (the admin API calls these): `drain` (no new requests or
   * tunnels), `maintenance` (out of rotation), `enable` (back to what the checks say),
   * `weight` (0–256; `undefined` restores the configured weight). Returns false when the
   * backend or server does not exist; throws RangeError on a bad weight.
   */
  serverAction(backend: string, server: string, action: "drain" | "enable" | "maintenance" | "weight", weight?: number): boolean {
    const b = this.backends.get(backend);
    const s = b?.servers.find((x) => x.name === server);
    if (b === undefined || s === undefined) return false;
    const now = this.wheel.clock();
    if (action === "drain") drain(s.health, now);
    else if (action === "maintenance") maintenance(s.health, now);
    else if (action === "enable") enable(s.health, now);
    else setWeight(s.health, weight);
    s.refresh(now, b.config.slowStart);
    if (action === "drain" || action === "maintenance") s.closeIdle();
    b.refresh(now);
    this.#log?.info({ backend, server, action, weight }, "admin action");
    return true;
  }

  /** Stops at once: closes listeners, sessions, tunnels and pooled connections. */
  async stop(): Promise<void> {
    const closing = [...this.#servers.values()].map((s) => new Promise<void>((r) => s.close(() => r())));
    this.#servers.clear();
    for (const s of this.sessions) s.socket.destroy();
    for (const t of this.tunnels) t.close();
    for (const b of this.backends.values()) for (const s of b.servers) s.closeIdle();
    this.health.stop();
    this.wheel.stop();
    await Promise.all(closing);
  }
}
