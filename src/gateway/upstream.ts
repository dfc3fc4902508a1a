import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { ServerView } from "../core/balance/types.ts";
import type { Address, ServerConfig } from "../config/types.ts";
import { createHealthRecord, effectiveWeight, isAvailable, state, type HealthRecord, type HealthState } from "../core/health/state.ts";
import { ServerStats } from "./stats.ts";
import type { TimerWheel, Expirable } from "./timer-wheel.ts";
import { attach, detach, type HandledSocket, type SocketHandler } from "./sockets.ts";

/**
 * Live state of one backend server: what policies read (`weight`, `available`,
 * `active`), its upstream keep-alive pool and its counters. Config (`ServerConfig`) and
 * live state are kept apart so health and counters survive a reload (Caddy's `Host`).
 *
 * @example
 * const conn = server.acquire(session); // a pooled connection, or a new one connecting
 * ...
 * server.release(conn); // back to the pool when the exchange ended cleanly
 */

/** Why an upstream connection could not be used. */
export type UpstreamFailure = "refused" | "timeout" | "error" | "tls";

/** Whoever waits for a connection to be ready. */
export interface UpstreamWaiter {
  onUpstreamReady(conn: UpstreamConn): void;
  onUpstreamFailed(conn: UpstreamConn, why: UpstreamFailure, err: Error | undefined): void;
}

export interface PoolOptions {
  readonly maxIdle: number;
  readonly idleTimeout: number;
  readonly connectTimeout: number;
  /** TLS to the server (`backends.*.tls`), or null for clear text. */
  readonly tls: UpstreamTls | null;
}

/** How the gateway speaks TLS to a backend's servers. */
export interface UpstreamTls {
  /** PEM CA certificates to trust; undefined: the system's roots. */
  readonly ca: string | undefined;
  readonly rejectUnauthorized: boolean;
  /** SNI and the name checked; undefined: the server's host when it is a name. */
  readonly servername: string | undefined;
}


export class UpstreamServer implements ServerView {
  index: number;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  backup: boolean;
  /** Configured weight; `weight` is the effective one (health agent, slow start). */
  configWeight: number;
  weight: number;
  readonly address: Address;
  /** Health, admin state, ejection and slow start: the pure record `refresh` reads. */
  readonly health: HealthRecord;
  /** Cached verdict of `health` (up, not ejected, not draining), set by `refresh`. */
  up = true;
  active = 0;
  maxConn = 0;
  readonly stats = new ServerStats();
  readonly idle: UpstreamConn[] = [];
  pool: PoolOptions;
  /** The last TLS session the server gave (a new connection resumes it: no full handshake). */
  tlsSession: Buffer | undefined = undefined;
  readonly #wheel: TimerWheel;

  constructor(index: number, cfg: ServerConfig, pool: PoolOptions, wheel: TimerWheel, warm = true) {
    this.index = index;
    this.name = cfg.name;
    this.host = cfg.address.host;
    this.port = cfg.address.port;
    this.backup = cfg.backup;
    this.address = cfg.address;
    this.configWeight = cfg.weight;
    this.weight = cfg.weight;
    this.pool = pool;
    this.#wheel = wheel;
    // Servers present at start are not slow-started (HAProxy does the same); a server
    // added later by a reload is (`warm: false`).
    this.health = createHealthRecord(wheel.now, { warm });
  }

  /**
   * Recomputes the cached verdict and effective weight from the health record: after a
   * check, an admin action, an ejection, and periodically (ejections expire and slow
   * start ramps with time alone).
   */
  refresh(now: number, slowStartMs: number): void {
    this.up = isAvailable(this.health, now);
    this.weight = effectiveWeight(this.health, this.configWeight, slowStartMs, now);
  }

  state(now: number): HealthState {
    return state(this.health, now);
  }

  /** Set only during a retry's pick: this request already failed on this server. */
  skip = false;

  get available(): boolean {
    return this.up && !this.skip && (this.maxConn === 0 || this.active < this.maxConn);
  }

  /**
   * A ready pooled connection (then `waiter` is NOT called: the caller uses the return
   * value at once, `conn.reused` is true), or a new connection whose readiness is
   * reported to `waiter`.
   */
  acquire(waiter: UpstreamWaiter): UpstreamConn {
    // Every pooled connection is live: one that ends, errs, closes, speaks out of turn or
    // expires leaves the pool at once (`forget`), so the newest can be used as it is.
    const conn = this.idle.pop();
    if (conn !== undefined) {
      this.#wheel.disarm(conn);
      conn.reused = true;
      conn.waiter = null;
      this.stats.connectionsReused++;
      return conn;
    }
    this.stats.connectionsCreated++;
    return new UpstreamConn(this, waiter, this.#wheel);
  }

  /**
   * A new connection that never enters the pool (L4 tunnels); `preface` (a PROXY header)
   * is written first, before TLS if any.
   */
  acquireFresh(waiter: UpstreamWaiter, preface: Buffer | null = null): UpstreamConn {
    return new UpstreamConn(this, waiter, this.#wheel, preface);
  }

  /** Returns a connection whose last exchange ended cleanly to the pool (LIFO). */
  release(conn: UpstreamConn): void {
    const s = conn.socket;
    // A draining, removed or down server keeps no idle connections: nothing would reuse
    // them, and a removed server's pool is no longer swept by stop().
    if (!this.up || this.idle.length >= this.pool.maxIdle || s.destroyed || !s.writable) {
      s.destroy();
      return;
    }
    s.handler = conn;
    conn.waiter = null;
    this.idle.push(conn);
    this.#wheel.arm(conn, this.#wheel.now + this.pool.idleTimeout);
  }

  /** Drops `conn` from the idle list (it closed or misbehaved while idle). */
  forget(conn: UpstreamConn): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes every idle pooled connection (reload, drain, stop). */
  closeIdle(): void {
    for (const c of this.idle.splice(0)) {
      this.#wheel.disarm(c);
      c.socket.destroy();
    }
  }
}

function onConnect(this: HandledSocket): void {
  (this.handler as UpstreamConn).connected();
}

function onPlainConnect(this: HandledSocket): void {
  (this.handler as UpstreamConn).plainConnected();
}

function onSession(this: TLSSocket & { hfServer: UpstreamServer }, session: Buffer): void {
  this.hfServer.tlsSession = session;
}

/**
 * One TCP connection to a server. While connecting or idle in the pool it handles its
 * own socket events; during an exchange the session owns them (`socket.handler = session`).
 */
export class UpstreamConn implements SocketHandler, Expirable {
  readonly server: UpstreamServer;
  /** The connection (a TLS socket with `backends.*.tls`). */
  socket: HandledSocket;
  waiter: UpstreamWaiter | null;
  reused = false;
  isConnected = false;
  deadline = 0;
  wheelSlot = -1;
  readonly #wheel: TimerWheel;
  #preface: Buffer | null;

  constructor(server: UpstreamServer, waiter: UpstreamWaiter, wheel: TimerWheel, preface: Buffer | null = null) {
    this.server = server;
    this.waiter = waiter;
    this.#wheel = wheel;
    this.#preface = preface;
    const tls = server.pool.tls;
    if (tls !== null && preface === null) {
      this.socket = attach(this.#tls(tls, null), this);
      this.socket.once("secureConnect", onConnect);
    } else {
      const s = connect({ host: server.host, port: server.port, allowHalfOpen: true });
      s.setNoDelay(true);
      this.socket = attach(s, this);
      s.once("connect", onPlainConnect);
    }
    wheel.arm(this, wheel.now + server.pool.connectTimeout);
  }

  #tls(tls: UpstreamTls, socket: Socket | null): TLSSocket {
    const server = this.server;
    const servername = tls.servername ?? defaultServername(server.host);
    const opts: ConnectionOptions = socket === null ? { host: server.host, port: server.port } : { socket };
    opts.rejectUnauthorized = tls.rejectUnauthorized;
    opts.ALPNProtocols = ["http/1.1"];
    if (servername !== undefined) opts.servername = servername;
    if (tls.ca !== undefined) opts.ca = tls.ca;
    if (server.tlsSession !== undefined) opts.session = server.tlsSession;
    const s = tlsConnect(opts) as TLSSocket & { hfServer: UpstreamServer };
    // Half-close passes through, as on clear-text connections.
    s.allowHalfOpen = true;
    if (socket === null) s.setNoDelay(true);
    s.hfServer = server;
    s.on("session", onSession);
    return s;
  }

  /** TCP is up: write the PROXY header, then start TLS if the backend wants it. */
  plainConnected(): void {
    const raw = this.socket;
    if (this.#preface !== null) raw.write(this.#preface);
    this.#preface = null;
    const tls = this.server.pool.tls;
    if (tls === null) return this.connected();
    detach(raw);
    raw.resume();
    this.socket = attach(this.#tls(tls, raw), this);
    this.socket.once("secureConnect", onConnect);
  }

  connected(): void {
    this.isConnected = true;
    this.#wheel.disarm(this);
    const w = this.waiter;
    if (w !== null) w.onUpstreamReady(this);
  }

  /** Connect timeout, or idle timeout while pooled. */
  expire(): void {
    if (!this.isConnected) {
      this.server.stats.connectFailures++;
      this.socket.destroy();
      const w = this.waiter;
      this.waiter = null;
      if (w !== null) w.onUpstreamFailed(this, "timeout", undefined);
      return;
    }
    this.server.forget(this);
    this.socket.destroy();
  }

  onData(s: HandledSocket): void {
    // Bytes on an idle connection: the server is out of sync; never reuse it.
    this.server.forget(this);
    s.destroy();
  }

  onEnd(s: HandledSocket): void {
    this.server.forget(this);
    s.destroy();
  }

  onClose(): void {
    this.#wheel.disarm(this);
    this.server.forget(this);
    const w = this.waiter;
    if (w !== null && !this.isConnected) {
      this.waiter = null;
      w.onUpstreamFailed(this, "error", undefined);
    }
  }

  onDrain(): void {}

  onError(_s: HandledSocket, err: Error): void {
    if (!this.isConnected) {
      this.server.stats.connectFailures++;
      const w = this.waiter;
      this.waiter = null;
      this.#wheel.disarm(this);
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ECONNREFUSED" ? "refused" : this.server.pool.tls !== null && isTlsError(err) ? "tls" : "error";
      if (w !== null) w.onUpstreamFailed(this, why, err);
    }
    this.server.forget(this);
  }
}

/**
 * Whether a connect error is a TLS failure (a certificate that does not verify, a
 * handshake alert) rather than a network one, from its `code`.
 *
 * @example
 * isTlsError(Object.assign(new Error(), { code: "CERT_HAS_EXPIRED" })); // true
 */
export function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  return code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(code);
}

/**
 * The SNI name sent to a server when `tls.servername` is not set: its host when that is
 * a name, none for an IPv4 or IPv6 address (RFC 6066 allows only names).
 *
 * @example
 * defaultServername("api.internal"); // "api.internal"
 * defaultServername("10.0.0.7");     // undefined
 */
export function defaultServername(host: string): string | undefined {
  return /^[\d.]+$|:/.test(host) ? undefined : host;
}
