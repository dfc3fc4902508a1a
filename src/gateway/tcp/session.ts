import type { TcpListenerConfig } from "../../config/types.ts";
import type { Backend } from "../backend.ts";
import type { TimerWheel } from "../timer-wheel.ts";
import { VIEW } from "../http/request-view.ts";
import { UpstreamAttempt } from "../attempt.ts";
import { type HfSocket, type SocketHandler } from "../sockets.ts";
import { Tunnel, type TunnelOwner } from "../tunnel/tunnel.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamServer, UpstreamWaiter } from "../upstream.ts";
import { events } from "../diagnostics.ts";

/**
 * L4 mode: one accepted TCP connection is tunnelled to a picked server. Refused or
 * timed-out connects are retried on another server (nothing was sent yet); bytes the
 * client sends meanwhile are held (reading paused) and delivered first.
 *
 * @example
 * new TcpSession(socket, { cfg, backend, wheel, tunnels });
 */
export interface TcpListenerContext {
  cfg: TcpListenerConfig;
  backend: Backend;
  readonly wheel: TimerWheel;
  readonly tunnels: Set<Tunnel>;
  readonly counters: { admissionRejected: number };
  /** The data plane, named as the source of the events published here. */
  readonly plane: object;
}

export class TcpSession implements SocketHandler, UpstreamWaiter, TunnelOwner {
  readonly socket: HfSocket;
  readonly #ctx: TcpListenerContext;
  /** The server the tunnel goes to (kept for the accounting when it closes). */
  #server: UpstreamServer | null = null;
  readonly #attempt = new UpstreamAttempt();
  #early: Buffer[] | null = null;
  #clientEnded = false;
  #ip = "";
  #done = false;

  constructor(socket: HfSocket, ctx: TcpListenerContext) {
    this.socket = socket;
    this.#ctx = ctx;
    socket.hf = this;
    let ip = socket.remoteAddress ?? "";
    if (ip.startsWith("::ffff:")) ip = ip.slice(7);
    this.#ip = ip;
    const server = ctx.backend.select(VIEW.reset(null, null, ip), false, ctx.wheel.now);
    if (server === undefined || ctx.backend.admit(server, ctx.wheel.now) > 0) {
      // No server, or admission over its rate: TCP has no way to say why.
      if (server !== undefined) {
        server.stats.admissionRejected++;
        ctx.counters.admissionRejected++;
        if (events.admissionRefused.hasSubscribers) {
          events.admissionRefused.publish({ plane: ctx.plane, listener: ctx.cfg.name, backend: ctx.backend, server, websocket: false });
        }
      }
      socket.destroy();
      this.#done = true;
      return;
    }
    this.#attempt.reset(ctx.backend);
    this.#connect(server);
  }

  #connect(server: UpstreamServer): void {
    this.#server = server;
    this.socket.pause();
    // L4 connections are never pooled: each client gets its own server connection.
    this.#attempt.connect(server, this, false);
  }

  onUpstreamReady(conn: UpstreamConn): void {
    if (this.#done || conn !== this.#attempt.conn) {
      conn.socket.destroy();
      return;
    }
    const early = this.#early;
    this.#early = null;
    const backend = this.#ctx.backend;
    const server = this.#server!;
    this.#attempt.done();
    const t = new Tunnel(this.socket, conn.socket, this.#ctx.wheel, backend.config.timeouts.tunnel, this, server, backend);
    t.listener = this.#ctx.cfg.name;
    this.#ctx.tunnels.add(t);
    if (events.tunnelOpened.hasSubscribers) events.tunnelOpened.publish({ plane: this.#ctx.plane, tunnel: t, record: null });
    t.start(early === null ? null : Buffer.concat(early), null);
    if (this.#clientEnded) conn.socket.end();
    server.stats.tunnelsOpened++;
    backend.passiveSuccess(server);
  }

  tunnelClosed(t: Tunnel): void {
    this.#ctx.tunnels.delete(t);
    const server = this.#server!;
    this.#ctx.backend.end(server, 0, true, this.#ctx.wheel.now);
    server.stats.bytesIn += t.bytesIn;
    server.stats.bytesOut += t.bytesOut;
    if (events.tunnelClosed.hasSubscribers) events.tunnelClosed.publish({ plane: this.#ctx.plane, tunnel: t, record: null });
  }

  onUpstreamFailed(conn: UpstreamConn, why: UpstreamFailure): void {
    const attempt = this.#attempt;
    if (conn !== attempt.conn || this.#done) return;
    const now = this.#ctx.wheel.now;
    const failed = attempt.connectFailed(why, now);
    const next = attempt.next(failed, "connect", false, false, this.#ip, false, now);
    if (next !== undefined) return this.#connect(next);
    this.#server = null;
    this.#done = true;
    this.socket.destroy();
  }

  // Until the tunnel exists the session owns the client socket.
  onData(_s: HfSocket, chunk: Buffer): void {
    (this.#early ??= []).push(chunk);
  }
  onEnd(): void {
    this.#clientEnded = true;
  }
  onClose(): void {
    if (this.#done) return;
    this.#done = true;
    const conn = this.#attempt.conn;
    if (conn !== null) conn.socket.destroy();
    this.#ctx.backend.end(this.#server!, 0, false, this.#ctx.wheel.now);
  }
  onDrain(): void {}
  onError(): void {}
}
