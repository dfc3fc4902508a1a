import type { Http2Server, ServerHttp2Session } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { HttpListenerConfig } from "../../config/types.ts";
import { countError, ERROR_CODES } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { H2Session, h2Server } from "../h2/session.ts";
import { PrefaceSniffer } from "../h2/preface.ts";
import { events } from "../diagnostics.ts";
import { clientKey, ConnectionLimits, LIMIT_LISTENER, LIMIT_OK, limitReason } from "../limits.ts";
import type { PendingSockets } from "../pending.ts";
import { ProxyAccept, type ProxyClient } from "../proxy-accept.ts";
import { attach, detach, destroyOnInput, dropInput, type HandledSocket } from "../sockets.ts";
import { newListenerCounters, TlsFront, type PreparedTls, type ListenerCounters } from "../tls/front.ts";
import type { TicketKeys } from "../tls/tickets.ts";
import type { HttpListenerContext } from "./context.ts";
import { refusalRecord } from "./request.ts";
import { errorResponse } from "./responses.ts";
import { HttpSession } from "./session.ts";

/** What an http listener shares with the rest of its data plane. */
export interface HttpListenerDeps {
  readonly tickets: TicketKeys;
  readonly pending: PendingSockets;
  readonly counters: { proxyRefused: number };
  readonly log: Logger | undefined;
}

type WithClient = { hfClient?: ProxyClient | null };

/**
 * The accept side of an http listener: what a new connection goes through before a
 * session owns it — a PROXY header (`proxyProtocol: accept`), the TLS handshake (`tls`),
 * ALPN or the h2c preface — and which session takes it: an HTTP/1.1 {@link HttpSession}
 * or an HTTP/2 {@link H2Session}. Every decision reads the listener's current config,
 * so a reload changes them for new connections and leaves established ones alone.
 *
 * @example
 * const l = new HttpListener(ctx, deps);
 * l.server.listen(8443);
 */
export class HttpListener {
  readonly ctx: HttpListenerContext;
  readonly server: Server;
  /** TLS handshakes and connections by protocol, for the dashboard and /metrics (they outlive a reload). */
  readonly tls: ListenerCounters = newListenerCounters();
  /** Open connections and refusals for `limits` (they outlive a reload). */
  readonly limits = new ConnectionLimits();
  readonly #deps: HttpListenerDeps;
  #front: TlsFront | null = null;
  #h2: Http2Server | null = null;
  /** The settings `#h2` was made with; other settings make a new one for new connections. */
  #h2Key = "";

  constructor(ctx: HttpListenerContext, deps: HttpListenerDeps) {
    this.ctx = ctx;
    this.#deps = deps;
    if (ctx.cfg.tls !== undefined) this.#front = this.#newFront();
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      // The server's noDelay option does not reach accepted sockets on every Node version.
      socket.setNoDelay(true);
      const s = attach(socket, destroyOnInput);
      const cfg = this.ctx.cfg;
      if (this.limits.accept(socket, cfg.limits) !== LIMIT_OK) return this.#refuse(s, clientKey(socket.remoteAddress), LIMIT_LISTENER);
      if (cfg.proxyProtocol === "accept") {
        deps.pending.hold(socket);
        new ProxyAccept(s, ctx.wheel, deps.counters, deps.log, (sock, client, rest) => {
          const ip = clientKey(client.ip);
          const limit = this.limits.client(sock, ip, this.ctx.cfg.limits);
          if (limit !== LIMIT_OK) this.#refuse(sock, ip, limit);
          else this.#serve(sock, client, rest);
        });
      } else {
        const ip = clientKey(socket.remoteAddress);
        const limit = this.limits.client(socket, ip, cfg.limits);
        if (limit !== LIMIT_OK) this.#refuse(s, ip, limit);
        else this.#serve(s, null, null);
      }
    });
  }

  get front(): TlsFront | null {
    return this.#front;
  }

  /** New certificates for `cfg` (undefined: they did not change; null: TLS is off). Throws on a broken file. */
  prepare(cfg: HttpListenerConfig): PreparedTls | null | undefined {
    if (cfg.tls === undefined) return this.#front === null ? undefined : null;
    if (this.#front !== null && !this.#front.differs(cfg.tls)) return undefined;
    return TlsFront.prepare(cfg.tls);
  }

  /** Applies a reload (after `ctx.cfg` was replaced): certificates, ALPN, HTTP/2 settings. */
  apply(prepared: PreparedTls | null | undefined): void {
    if (prepared === null) {
      // TLS turned off: established TLS connections go on; new ones are plain.
      this.#front?.close();
      this.#front = null;
    } else if (this.#front === null) {
      if (this.ctx.cfg.tls !== undefined) this.#front = this.#newFront();
    } else this.#front.apply(prepared ?? null, this.ctx.cfg, this.#deps.tickets);
  }

  close(): void {
    this.server.close();
    this.#front?.close();
  }

  /**
   * A connection over `limits`, refused before anything is read: in clear text a `503`
   * with `Retry-After` and `Connection: close` (what the client sends is read and dropped
   * for up to a second, so that it reads the answer rather than a reset); under TLS a
   * plain close, since a handshake is what a flood would have us spend. Logged like any
   * refusal (`status` 0 when nothing could be answered).
   */
  #refuse(s: HandledSocket, ip: string, limit: number): void {
    const reason = limitReason(limit, ip);
    countError(this.ctx.counters.errors, "HF_ERR_CONNECTION_LIMIT");
    const status = ERROR_CODES.HF_ERR_CONNECTION_LIMIT.status;
    const response = this.#front === null ? errorResponse(status, reason, 1) : null;
    if (events.exchangeFinished.hasSubscribers) {
      const record = refusalRecord(null, null, ip, this.ctx.cfg.name, "HF_ERR_CONNECTION_LIMIT", response === null ? 0 : status,
        reason, 0, response?.length ?? 0, 0);
      events.exchangeFinished.publish({ plane: this.ctx.plane, record });
    }
    if (response === null) {
      s.destroy();
      return;
    }
    s.handler = dropInput;
    s.end(response);
    s.setTimeout(1000, s.destroy);
  }

  #serve(s: HandledSocket, client: ProxyClient | null, rest: Buffer | null): void {
    const cfg = this.ctx.cfg;
    const front = this.#front;
    if (front !== null) {
      // The TLS socket takes the connection over: bytes already read go back first.
      detach(s);
      if (rest !== null) s.unshift(rest);
      (s as WithClient).hfClient = client;
      // A half-open raw socket leaves a TLS handshake hanging when the client goes away
      // mid-handshake (node:tls); half-close is allowed again once a session starts.
      s.allowHalfOpen = false;
      this.#deps.pending.hold(s);
      front.accept(s);
    } else if (cfg.protocols.includes("h2c")) {
      this.#deps.pending.hold(s);
      const sniff = new PrefaceSniffer(s, this.ctx.wheel, cfg.timeouts.clientIdle, (sock, h2, bytes) => {
        if (h2) this.#toH2(sock, client, bytes);
        else if (this.ctx.cfg.protocols.includes("http1")) this.#toH1(sock, client, bytes);
        else sock.destroy();
      });
      if (rest !== null) sniff.onData(s, rest);
    } else this.#toH1(s, client, rest);
  }

  #toH1(s: HandledSocket, client: ProxyClient | null, bytes: Buffer | null): void {
    this.#deps.pending.settle(s);
    this.tls.h1++;
    const session = new HttpSession(s, this.ctx, client ?? undefined);
    if (bytes !== null) session.onData(s, bytes);
  }

  #toH2(s: Socket, client: ProxyClient | null, bytes: Buffer): void {
    this.#deps.pending.settle(s);
    detach(s as HandledSocket);
    s.unshift(bytes);
    (s as WithClient).hfClient = client;
    this.tls.h2++;
    this.#h2Server().emit("connection", s);
  }

  #newFront(): TlsFront {
    return new TlsFront(this.ctx.cfg, this.#deps.tickets, this.tls, (tls: TLSSocket) => {
      const raw = (tls as TLSSocket & { _parent?: Socket & WithClient })._parent;
      if (raw !== undefined) this.#deps.pending.settle(raw);
      const client = raw?.hfClient ?? null;
      if (tls.alpnProtocol === "h2") {
        (tls as WithClient).hfClient = client;
        this.tls.h2++;
        this.#h2Server().emit("connection", tls);
      } else if (this.ctx.cfg.protocols.includes("http1")) {
        this.tls.h1++;
        tls.allowHalfOpen = true;
        new HttpSession(attach(tls, destroyOnInput), this.ctx, client ?? undefined);
      } else tls.destroy();
    }, this.#deps.log);
  }

  #h2Server(): Http2Server {
    const cfg = this.ctx.cfg;
    const key = `${cfg.maxConcurrentStreams} ${cfg.maxHeaderSize}`;
    if (this.#h2 === null || key !== this.#h2Key) {
      const server = h2Server(cfg, this.#deps.log);
      server.on("session", (session: ServerHttp2Session) => {
        const transport = session.socket as Socket & WithClient;
        new H2Session(session, this.ctx, transport, transport.hfClient ?? null);
      });
      this.#h2 = server;
      this.#h2Key = key;
    }
    return this.#h2;
  }
}

