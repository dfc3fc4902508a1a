import type { TcpListenerConfig } from "../../config/types.ts";
import type { Backend } from "../backend.ts";
import type { TimerWheel, Expirable } from "../timer-wheel.ts";
import { ClientHello, HELLO_NEED_MORE, peekClientHello } from "../../codec/tls/client-hello.ts";
import { UNRECOGNIZED_NAME_ALERT } from "../../codec/tls/server-name.ts";
import { proxyHeaderFor, type ProxyClient } from "../proxy-accept.ts";
import { REQUEST_VIEW } from "../http/request-view.ts";
import { UpstreamAttempt } from "../attempt.ts";
import { events } from "../diagnostics.ts";
import { type HandledSocket, type SocketHandler } from "../sockets.ts";
import { Tunnel, type TunnelOwner } from "../tunnel/tunnel.ts";
import type { TcpRouter } from "./router.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamServer, UpstreamWaiter } from "../upstream.ts";

/**
 * L4 mode: one accepted TCP connection is tunnelled to a picked server. Refused or
 * timed-out connects are retried on another server (nothing was sent yet); bytes the
 * client sends meanwhile are held (reading paused) and delivered first.
 *
 * When a route matches on the TLS server name, the session first reads the client's
 * ClientHello (without terminating TLS; the bytes are forwarded untouched) within
 * `timeouts.requestHeaders`. A name no route takes gets a TLS `unrecognized_name` alert.
 *
 * @example
 * new TcpSession(socket, { cfg, router, wheel, tunnels, counters, plane });
 */
export interface TcpListenerContext {
  cfg: TcpListenerConfig;
  router: TcpRouter;
  readonly wheel: TimerWheel;
  readonly tunnels: Set<Tunnel>;
  readonly counters: { admissionRejected: number; sniRefused: number };
  /** The data plane, named as the source of the events published here. */
  readonly plane: object;
}

// One for the process: a ClientHello is read synchronously.
const HELLO = new ClientHello();

export class TcpSession implements SocketHandler, UpstreamWaiter, TunnelOwner, Expirable {
  /** The client connection. */
  readonly socket: HandledSocket;
  /** The listener's config, router, timer wheel and counters. */
  readonly #ctx: TcpListenerContext;
  /** The backend the connection was routed to (by SNI or the default). */
  #backend: Backend | null = null;
  /** The server the tunnel goes to (kept for the accounting when it closes). */
  #server: UpstreamServer | null = null;
  /** The connection attempts to the picked server and the retries (shared with HTTP). */
  readonly #attempt = new UpstreamAttempt();
  /** Client bytes that arrived before the tunnel exists (the ClientHello among them). */
  #early: Buffer | null = null;
  /** The ClientHello is being read for its SNI (the `sni` router). */
  #peeking = false;
  /** The client half-closed its side before the tunnel existed. */
  #clientEnded = false;
  /** The client's address (a PROXY header's, else the peer's): the source hash key. */
  #ip = "";
  /** The client as a PROXY header named it, else null. */
  #client: ProxyClient | null;
  /** The session is over before a tunnel: the connects failed or the client closed (late events are ignored). */
  #done = false;
  /** When the timer fires, and its slot in the wheel (timer-wheel.ts). */
  deadline = 0;
  wheelSlot = -1;

  /** `client` is what a PROXY header said when the listener accepts one; `early` the bytes that came after it. */
  constructor(socket: HandledSocket, ctx: TcpListenerContext, client?: ProxyClient, early?: Buffer | null) {
    this.socket = socket;
    this.#ctx = ctx;
    socket.handler = this;
    this.#client = client ?? null;
    let ip = client?.ip ?? socket.remoteAddress ?? "";
    if (ip.startsWith("::ffff:")) ip = ip.slice(7);
    this.#ip = ip;
    if (!ctx.router.peek) {
      if (early != null && early.length > 0) this.#early = early;
      // Without a route by name the listener has its default route (the config says so).
      this.#begin(ctx.router.pick(undefined)!);
      return;
    }
    this.#peeking = true;
    ctx.wheel.arm(this, ctx.wheel.now + ctx.cfg.timeouts.requestHeaders);
    if (early != null && early.length > 0) this.onData(socket, early);
  }

  /** The ClientHello did not arrive in time (or the client ended first). */
  expire(): void {
    if (!this.#peeking) return;
    this.#peeking = false;
    this.#route(undefined, false);
  }

  #peek(chunk: Buffer): void {
    const buf = this.#early === null ? chunk : Buffer.concat([this.#early, chunk]);
    this.#early = buf;
    const r = peekClientHello(buf, buf.length, HELLO);
    if (r === HELLO_NEED_MORE) return;
    this.#peeking = false;
    this.#ctx.wheel.disarm(this);
    // Not TLS, or malformed: only the default route takes it (the server's TLS stack,
    // if any, will say what is wrong).
    this.#route(r > 0 ? HELLO.serverName : undefined, r > 0);
  }

  #route(serverName: string | undefined, tls: boolean): void {
    const backend = this.#ctx.router.pick(serverName);
    if (backend !== undefined) return this.#begin(backend);
    this.#ctx.counters.sniRefused++;
    // A TLS client is told why (unrecognized_name); anything else is just closed.
    if (tls) this.socket.end(UNRECOGNIZED_NAME_ALERT);
    else this.socket.destroy();
  }

  #begin(backend: Backend): void {
    const ctx = this.#ctx;
    this.#backend = backend;
    const server = backend.select(REQUEST_VIEW.reset(null, null, this.#ip), false, ctx.wheel.now);
    if (server === undefined || backend.admit(server, ctx.wheel.now) > 0) {
      // No server, or admission over its rate: TCP has no way to say why.
      if (server !== undefined) {
        server.stats.admissionRejected++;
        ctx.counters.admissionRejected++;
        if (events.admissionRefused.hasSubscribers) {
          events.admissionRefused.publish({ plane: ctx.plane, listener: ctx.cfg.name, backend, server, websocket: false });
        }
      }
      this.socket.destroy();
      return;
    }
    this.#attempt.reset(backend);
    this.#connect(server);
  }

  #connect(server: UpstreamServer): void {
    this.#server = server;
    this.socket.pause();
    // L4 connections are never pooled: each client gets its own server connection.
    const pp = this.#backend!.config.proxyProtocol;
    this.#attempt.connect(server, this, false, pp === undefined ? null : proxyHeaderFor(pp, this.socket, this.#client));
  }

  onUpstreamReady(conn: UpstreamConn): void {
    if (this.#done || conn !== this.#attempt.conn) {
      conn.socket.destroy();
      return;
    }
    const early = this.#early;
    this.#early = null;
    const backend = this.#backend!;
    const server = this.#server!;
    this.#attempt.done();
    const t = new Tunnel(this.socket, conn.socket, this.#ctx.wheel, backend.config.timeouts.tunnel, this, server, backend);
    t.listener = this.#ctx.cfg.name;
    this.#ctx.tunnels.add(t);
    if (events.tunnelOpened.hasSubscribers) events.tunnelOpened.publish({ plane: this.#ctx.plane, tunnel: t, record: null });
    t.start(early, null);
    if (this.#clientEnded) conn.socket.end();
    server.stats.tunnelsOpened++;
    backend.passiveSuccess(server);
  }

  tunnelClosed(t: Tunnel): void {
    this.#ctx.tunnels.delete(t);
    const server = this.#server!;
    this.#backend!.end(server, 0, true, this.#ctx.wheel.now);
    server.stats.bytesIn += t.bytesIn;
    server.stats.bytesOut += t.bytesOut;
    if (events.tunnelClosed.hasSubscribers) events.tunnelClosed.publish({ plane: this.#ctx.plane, tunnel: t, record: null });
  }

  onUpstreamFailed(conn: UpstreamConn, why: UpstreamFailure): void {
    const attempt = this.#attempt;
    if (conn !== attempt.conn || this.#done) return;
    const now = this.#ctx.wheel.now;
    const failed = attempt.connectFailed(why, now);
    const next = attempt.next(failed, "connect", false, false, this.#ip, false, now, false);
    if (next !== undefined) return this.#connect(next);
    this.#server = null;
    this.#done = true;
    this.socket.destroy();
  }

  // Until the tunnel exists the session owns the client socket. Data and the end come
  // only while the ClientHello is read: from the pick on the socket is paused (or ended
  // with an alert, and what a refused client sends then is dropped).
  onData(_s: HandledSocket, chunk: Buffer): void {
    if (this.#peeking) this.#peek(chunk);
  }
  onEnd(): void {
    this.#clientEnded = true;
    // A client that stops sending before its ClientHello is complete gets the default route.
    this.expire();
  }
  onClose(): void {
    if (this.#done) return;
    this.#done = true;
    this.#ctx.wheel.disarm(this);
    const conn = this.#attempt.conn;
    if (conn !== null) conn.socket.destroy();
    if (this.#server !== null) this.#backend!.end(this.#server, 0, false, this.#ctx.wheel.now);
  }
  onDrain(): void {}
  onError(): void {}
}
