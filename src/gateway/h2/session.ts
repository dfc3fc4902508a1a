import { createServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import { ForwardInfo } from "../../codec/http1/write.ts";
import type { HttpListenerConfig } from "../../config/types.ts";
import type { Logger } from "../../log.ts";
import type { HttpListenerContext } from "../http/context.ts";
import { isTrustedProxy } from "../http/trust.ts";
import { proxyHeaderFor, type ProxyClient } from "../proxy-accept.ts";
import { H2Stream } from "./stream.ts";

/**
 * One HTTP/2 client connection (`node:http2`, nghttp2 underneath), by ALPN `h2` over
 * TLS or with prior knowledge in clear text (`h2c`). Each stream is an {@link H2Stream}:
 * one exchange with an HTTP/1.1 server. The connection is registered with the
 * listener's sessions like an HTTP/1.1 one, so a drain, a reload that removes the
 * listener and a graceful stop reach it: {@link H2Session.closeWhenIdle} sends GOAWAY,
 * the streams in flight finish, new ones go to another connection (the event streams
 * among them end at their next event boundary: `DataPlane.closeListener` ends them).
 *
 * @example
 * const h2 = h2Server(cfg, log);
 * h2.on("session", (s) => new H2Session(s, ctx, socket, client));
 * h2.emit("connection", tlsSocket); // after ALPN chose h2
 */
export class H2Session {
  readonly ctx: HttpListenerContext;
  /** The client's address and the X-Forwarded-* lines made from it, built once. */
  readonly forward: ForwardInfo;
  readonly secure: boolean;
  /** No stream of this connection has been admitted yet (admission counts connections). */
  fresh = true;
  readonly #session: ServerHttp2Session;
  readonly #transport: Socket;
  readonly #client: ProxyClient | null;
  #streams = 0;

  constructor(session: ServerHttp2Session, ctx: HttpListenerContext, transport: Socket, client: ProxyClient | null) {
    this.#session = session;
    this.ctx = ctx;
    this.#transport = transport;
    this.#client = client;
    let ip = client?.ip ?? transport.remoteAddress ?? "";
    if (ip.startsWith("::ffff:")) ip = ip.slice(7);
    this.secure = (transport as { encrypted?: boolean }).encrypted === true;
    this.forward = new ForwardInfo(ip, this.secure ? "https" : "http", isTrustedProxy(ctx.cfg, ip));
    ctx.sessions.add(this);
    session.on("stream", (stream: ServerHttp2Stream, _headers: unknown, flags: number, raw: string[]) => {
      this.#streams++;
      new H2Stream(this, stream, raw, flags);
    });
    session.on("close", () => ctx.sessions.delete(this));
    // Idle: no stream for timeouts.clientIdle (node:http2 resets it on activity).
    session.setTimeout(ctx.cfg.timeouts.clientIdle, () => {
      if (this.#streams === 0) this.closeWhenIdle();
    });
  }

  /** Name of the listener that accepted the connection. */
  get listener(): string {
    return this.ctx.cfg.name;
  }

  get clientIp(): string {
    return this.forward.ip;
  }

  /** The transport, for an immediate stop. */
  get socket(): { destroy(): void } {
    return this.#session;
  }

  proxyHeader(version: "v1" | "v2"): Buffer {
    return proxyHeaderFor(version, this.#transport, this.#client);
  }

  streamClosed(): void {
    this.#streams--;
  }

  /**
   * GOAWAY: no new streams; those in flight finish, then the connection closes (a
   * drain, the listener's removal, a graceful stop). Clients open a new connection for
   * their next requests. Again, or once the session is closed or destroyed, it does
   * nothing (`Http2Session.close` returns at once then).
   */
  closeWhenIdle(): void {
    this.#session.close();
  }
}

/**
 * The `node:http2` server that makes the HTTP/2 sessions of one listener (it never
 * listens itself: sockets are handed to it once ALPN or the h2c preface said HTTP/2).
 * Extended CONNECT is advertised, for WebSocket over HTTP/2 (RFC 8441).
 *
 * @example
 * const h2 = h2Server(listenerConfig, log);
 */
export function h2Server(cfg: HttpListenerConfig, log: Logger | undefined): Http2Server {
  const server = createServer({
    settings: {
      maxConcurrentStreams: cfg.maxConcurrentStreams,
      enableConnectProtocol: true,
      maxHeaderListSize: cfg.maxHeaderSize,
    },
    maxHeaderListPairs: 128,
    // MiB a session may hold (headers, queued frames) before new streams are refused:
    // the default 10 is too tight for many concurrent streams with large responses.
    maxSessionMemory: 64,
  });
  server.on("sessionError", (err: Error) => log?.debug({ err: err.message, listener: cfg.name }, "HTTP/2 session error"));
  return server;
}
