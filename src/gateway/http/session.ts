import { BAD_CHUNK, BodyFramer, NEED_MORE } from "../../codec/http1/body.ts";
import { Head, HeadError, findHeadEnd, headErrorText, parseRequest, skipEmptyLines } from "../../codec/http1/head.ts";
import { isTrustedProxy } from "./trust.ts";
import { ForwardInfo, writeRequestHead, writeResponseHead } from "../../codec/http1/write.ts";
import { countError, ERROR_CODES, type ResponseErrorCode } from "../../errors.ts";
import { events } from "../diagnostics.ts";
import { FORBIDDEN, NO_ROUTE } from "../routes.ts";
import { proxyHeaderFor, type ProxyClient } from "../proxy-accept.ts";
import { destroyOnInput, dropInput, type HandledSocket, type SocketHandler } from "../sockets.ts";
import type { Expirable } from "../timer-wheel.ts";
import type { HttpListenerContext } from "./context.ts";
import type { ClientSession, Downstream } from "./downstream.ts";
import { Exchange } from "./exchange.ts";
import { accessRecord, classifyRequest, refusalRecord, type RequestFacts } from "./request.ts";
import { REQUEST_VIEW } from "./request-view.ts";
import { responseExtraLines } from "./response.ts";
import { errorResponse } from "./responses.ts";

/**
 * The module's one request head. A head is parsed and handed on synchronously (routed,
 * picked, rewritten), so one serves every connection and an idle keep-alive connection
 * holds no parser memory.
 */
const REQUEST_HEAD = new Head();

// The session's states.
const S_IDLE = 0; // between requests
const S_HEAD = 1; // part of a request head received
const S_BUSY = 2; // an exchange is running (picking, queued, connecting, or sent)
const S_CLOSED = 3; // closed, or handed to a tunnel: no more events are its own

// What its one timer is for.
const T_NONE = 0; // nothing (an exchange runs, and has its own)
const T_HEADERS = 1; // the rest of a started head (timeouts.requestHeaders)
const T_IDLE = 2; // the next request on a kept-alive connection (timeouts.clientIdle)

// Why reading the client is paused (bits; reading resumes when none is left). The
// exchange adds its own: HOLD_UPSTREAM (2) and HOLD_CONNECT (4).
const HOLD_PIPELINE = 1; // a complete request is buffered behind the current one

/**
 * One client connection of an HTTP/1.1 listener: the connection's state machine (idle,
 * reading a head, running an exchange, closed), its timers (request head, idle
 * keep-alive), reading with backpressure, and the HTTP/1.1 framing of what goes back
 * to the client. Request heads are read with the strict scanner and routed here; each
 * request then runs as an {@link Exchange} (one per session, reused), which owns the
 * upstream side. Requests on a connection are handled one at a time: pipelined requests
 * wait, unread, until the response before them is complete. After a `101` the sockets
 * go to a tunnel and the session is gone.
 *
 * @example
 * new HttpSession(attach(socket, destroyOnInput), ctx); // registers itself as the socket's handler
 */
export class HttpSession implements SocketHandler, Expirable, Downstream, ClientSession {
  /** The client connection. */
  readonly socket: HandledSocket;
  /** The listener's config (read per request), router, timer wheel and counters. */
  readonly #ctx: HttpListenerContext;
  /** The client's address and the X-Forwarded-* lines made from it, built once. */
  readonly #forward: ForwardInfo;
  /** The client as a PROXY header named it (`proxyProtocol: accept`), else null. */
  readonly #client: ProxyClient | null;
  /** The connection came over TLS (sticky cookies are then `Secure`). */
  readonly secure: boolean;
  /** No request of this connection has been admitted yet (admission counts new connections). */
  fresh = true;
  /** `S_*`. */
  #state = S_IDLE;
  /** Unparsed client bytes: a partial head, or requests pipelined behind the current one. */
  #buf: Buffer | null = null;
  /** Where to resume looking for the end of a partial head in `#buf`. */
  #scanFrom = 0;
  /** Why reading the client is paused (`HOLD_*` bits); 0 = reading. */
  #hold = 0;
  /** Close the connection once the current exchange is over. */
  #closeAfter = false;
  /** The whole body of the current request has been read. */
  #requestBodyRead = false;
  /** Frames the current request's body (finds where it ends; bytes are forwarded as they come). */
  readonly #requestFramer = new BodyFramer();
  /** The exchange of the current request, created with the first one and reused. */
  #exchange: Exchange | null = null;
  /** What the session's timer is armed for (`T_*`). */
  #timer = T_NONE;
  /** When the timer fires, and its slot in the wheel (timer-wheel.ts). */
  deadline = 0;
  wheelSlot = -1;

  /** `client`: what a PROXY header said (default: the socket's peer). */
  constructor(socket: HandledSocket, ctx: HttpListenerContext, client?: ProxyClient) {
    this.socket = socket;
    this.#ctx = ctx;
    this.#client = client ?? null;
    let ip = client?.ip ?? socket.remoteAddress ?? "";
    if (ip.startsWith("::ffff:")) ip = ip.slice(7);
    // The connection's own transport, not the listener's current config: a reload that
    // turns TLS on or off leaves established connections as they were.
    this.secure = (socket as { encrypted?: boolean }).encrypted === true;
    this.#forward = new ForwardInfo(ip, this.secure ? "https" : "http", isTrustedProxy(ctx.cfg, ip));
    socket.handler = this;
    ctx.sessions.add(this);
    this.#arm(T_IDLE, ctx.cfg.timeouts.clientIdle);
  }

  /** Name of the listener that accepted the connection. */
  get listener(): string {
    return this.#ctx.cfg.name;
  }

  get clientIp(): string {
    return this.#forward.ip;
  }

  admitted(): void {
    this.fresh = false;
  }

  proxyHeader(version: "v1" | "v2"): Buffer {
    return proxyHeaderFor(version, this.socket, this.#client);
  }

  /** True between requests: a graceful stop may close it at once. */
  get idle(): boolean {
    return this.#state === S_IDLE && this.#buf === null;
  }

  /** Ask the session to close after the current exchange (graceful stop, drain). */
  closeWhenIdle(): void {
    this.#closeAfter = true;
    if (this.idle) this.#close();
    else this.#exchange?.endStream(); // an event stream ends at its next event boundary
  }

  // ---------------------------------------------------------------- client socket events

  onData(s: HandledSocket, chunk: Buffer): void {
    if (s !== this.socket) {
      s.destroy(); // not ours
      return;
    }
    const st = this.#state;
    if (st === S_IDLE || st === S_HEAD) {
      this.#buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#readHead();
    } else if (st === S_BUSY) {
      // The next request, sent before this one's response is over: it waits, unread.
      if (this.#requestBodyRead) return this.#keep(chunk);
      const body = this.#takeBody(chunk);
      if (body === null) return;
      const hold = this.#exchange!.requestBody(body);
      if (hold !== 0) this.hold(hold);
    }
  }

  onDrain(): void {
    this.#exchange?.clientDrained();
  }

  onEnd(): void {
    // The client half-closed: between requests the connection closes now, else once the
    // current exchange is over (a request read after this one is never answered).
    if (this.#state === S_IDLE || this.#state === S_HEAD) this.#close();
    else this.#closeAfter = true;
  }

  onClose(): void {
    this.abort();
  }

  onError(): void {}

  expire(): void {
    const t = this.#timer;
    this.#timer = T_NONE;
    if (t === T_HEADERS) this.#refuse("HF_ERR_HEAD_TIMEOUT", "the request head did not arrive in time", false);
    else if (t === T_IDLE) this.#close();
  }

  // ---------------------------------------------------------------- requests

  /** Splits a chunk at the end of the request body; bytes after it wait (pipelining). */
  #takeBody(chunk: Buffer): Buffer | null {
    const r = this.#requestFramer.scan(chunk, 0, chunk.length);
    if (r === BAD_CHUNK) {
      // The head and the first chunks are already on their way: the server's connection
      // is closed before the message completes, and a client that has no response yet
      // gets a 400 rather than a bare reset.
      const exchange = this.#exchange!;
      if (exchange.responseStarted) this.abort();
      else {
        exchange.cancel("HF_ERR_BAD_REQUEST");
        this.reject("HF_ERR_BAD_REQUEST", "malformed chunked body");
      }
      return null;
    }
    if (r === NEED_MORE) return chunk;
    this.#requestBodyRead = true;
    this.#exchange!.requestDone();
    if (r < chunk.length) this.#keep(chunk.subarray(r));
    return chunk.subarray(0, r);
  }

  #keep(rest: Buffer): void {
    this.#buf = this.#buf === null ? rest : Buffer.concat([this.#buf, rest]);
    this.hold(HOLD_PIPELINE);
  }

  #readHead(): void {
    let buf = this.#buf!;
    const cfg = this.#ctx.cfg;
    if (buf[0] === 0x0d) {
      // Empty lines before a request line are skipped (RFC 9112 §2.2): they do not start
      // the head timer, and the idle one still ends a connection that sends only them.
      const skip = skipEmptyLines(buf, 0);
      if (skip === buf.length) {
        this.#buf = null;
        return;
      }
      if (skip === buf.length - 1 && buf[skip] === 0x0d) {
        this.#buf = buf.subarray(skip); // a CR that may start one more empty line
        return;
      }
      if (skip > 0) this.#buf = buf = buf.subarray(skip);
    }
    const end = findHeadEnd(buf, this.#scanFrom, buf.length);
    if (end === -1) {
      if (buf.length > cfg.maxHeaderSize) return this.#refuse("HF_ERR_HEAD_TOO_LARGE", "the request head is too large", false);
      if (this.#state === S_IDLE) {
        this.#state = S_HEAD;
        this.#arm(T_HEADERS, cfg.timeouts.requestHeaders);
      }
      this.#scanFrom = Math.max(0, buf.length - 3);
      return;
    }
    if (end < 0) return this.#refuse("HF_ERR_BAD_REQUEST", headErrorText[HeadError.BARE_LF], false);
    if (end > cfg.maxHeaderSize) return this.#refuse("HF_ERR_HEAD_TOO_LARGE", "the request head is too large", false);
    this.#scanFrom = 0;
    const err = parseRequest(buf, end, REQUEST_HEAD);
    if (err !== 0) {
      return this.#refuse(err === HeadError.UNSUPPORTED_CODING && REQUEST_HEAD.version === 11 ? "HF_ERR_UNSUPPORTED_CODING" : "HF_ERR_BAD_REQUEST", headErrorText[err as 1], false);
    }
    this.#startExchange(buf, end);
  }

  /** Routes the request in `REQUEST_HEAD`, frames its body, rewrites its head and starts its exchange. */
  #startExchange(buf: Buffer, end: number): void {
    const route = this.#ctx.router.route(buf, REQUEST_HEAD, this.#forward.ip);
    if (route === FORBIDDEN) return this.#refuse("HF_ERR_FORBIDDEN", "your address is not allowed on this route", true);
    if (route === NO_ROUTE) return this.#refuse("HF_ERR_NO_ROUTE", "no route matches this request", true);
    const backend = route;
    const exchange = (this.#exchange ??= new Exchange(this.#ctx, this));
    const facts = exchange.facts;
    classifyRequest(buf, REQUEST_HEAD, backend.config.admission !== undefined, facts);
    if (facts.closeClient) this.#closeAfter = true;
    const framer = this.#requestFramer;
    if (REQUEST_HEAD.chunked) framer.startChunked();
    else if (REQUEST_HEAD.contentLength > 0) framer.startLength(REQUEST_HEAD.contentLength);
    else framer.none();
    let bodyEnd = end;
    if (!framer.done) {
      const r = framer.scan(buf, end, buf.length);
      if (r === BAD_CHUNK) return this.#refuse("HF_ERR_BAD_REQUEST", "malformed chunked body", true);
      bodyEnd = r === NEED_MORE ? buf.length : r;
    }
    this.#requestBodyRead = framer.done;
    // Bytes after the request wait; after an upgrade request they belong to the new
    // protocol and go through the tunnel.
    this.#buf = null;
    if (bodyEnd < buf.length) this.#keep(buf.subarray(bodyEnd));
    const out = writeRequestHead(buf, REQUEST_HEAD, this.#forward, facts.upgrade, buf, end, bodyEnd);
    // The access record is built only while someone listens (the access log, when on).
    const access = events.exchangeFinished.hasSubscribers || (facts.upgrade && events.tunnelClosed.hasSubscribers)
      ? accessRecord(buf, REQUEST_HEAD, this.#forward.ip, this.#ctx.cfg.name, backend.name)
      : null;
    this.#disarm();
    this.#state = S_BUSY;
    exchange.start(backend, REQUEST_VIEW.reset(buf, REQUEST_HEAD, this.#forward.ip), out, this.#requestBodyRead, bodyEnd, access);
  }

  // ---------------------------------------------------------------- Downstream: what the exchange asks

  hold(reason: number): void {
    if (this.#hold === 0) this.socket.pause();
    this.#hold |= reason;
  }

  release(reason: number): void {
    if (this.#hold === 0) return;
    this.#hold &= ~reason;
    if (this.#hold === 0) this.socket.resume();
  }

  interim(buf: Buffer, res: Head): void {
    this.socket.write(writeResponseHead(buf, res, "", null, 0, 0));
  }

  responseHead(buf: Buffer, res: Head, end: number, bodyEnd: number, facts: RequestFacts, setCookie: string | undefined): boolean {
    const extra = responseExtraLines(this.#closeAfter, facts.version, setCookie);
    return this.socket.write(writeResponseHead(buf, res, extra, buf, end, bodyEnd));
  }

  responseBody(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  closeAfterExchange(): void {
    this.#closeAfter = true;
  }

  exchangeDone(): void {
    if (this.#closeAfter) return this.#close();
    this.#state = S_IDLE;
    this.#arm(T_IDLE, this.#ctx.cfg.timeouts.clientIdle);
    this.release(HOLD_PIPELINE);
    if (this.#buf !== null) this.#readHead();
  }

  takeOver(buf: Buffer, res: Head, setCookie: string | undefined): { socket: HandledSocket; rest: Buffer | null } {
    // Connection is hop-by-hop and was dropped; a 101 needs its own (RFC 9110 §7.8).
    const cookie = setCookie === undefined ? "" : `Set-Cookie: ${setCookie}\r\n`;
    this.socket.write(writeResponseHead(buf, res, `Connection: upgrade\r\n${cookie}`, null, 0, 0));
    this.#disarm();
    this.#state = S_CLOSED;
    this.#ctx.sessions.delete(this);
    const rest = this.#buf;
    this.#buf = null;
    return { socket: this.socket, rest };
  }

  // ---------------------------------------------------------------- endings

  /** Answers with the gateway's own error response and closes, forwarding nothing (more). */
  reject(code: ResponseErrorCode, message: string, retryAfter?: number): void {
    this.#buf = null;
    this.respondAndClose(errorResponse(ERROR_CODES[code].status, message, retryAfter));
  }

  /**
   * A refusal of the session's own, before any backend: answered, closed, and logged
   * with its reason. `parsed`: REQUEST_HEAD holds this request's head (else it may hold another's).
   */
  #refuse(code: ResponseErrorCode, message: string, parsed: boolean): void {
    countError(this.#ctx.counters.errors, code);
    const response = errorResponse(ERROR_CODES[code].status, message);
    if (events.exchangeFinished.hasSubscribers) {
      const buf = this.#buf;
      const ms = code === "HF_ERR_HEAD_TIMEOUT" ? this.#ctx.cfg.timeouts.requestHeaders : 0;
      const record = refusalRecord(parsed ? buf : null, parsed ? REQUEST_HEAD : null, this.#forward.ip, this.#ctx.cfg.name, code,
        ERROR_CODES[code].status, message, buf?.length ?? 0, response.length, ms);
      events.exchangeFinished.publish({ plane: this.#ctx.plane, record });
    }
    this.#buf = null;
    this.respondAndClose(response);
  }

  respondAndClose(response: Buffer): void {
    this.#disarm();
    this.#state = S_CLOSED;
    this.#ctx.sessions.delete(this);
    const s = this.socket;
    s.handler = dropInput;
    s.end(response);
    // Read and drop whatever else the client sends until it closes, for a short while.
    s.setTimeout(5000, s.destroy);
    s.resume();
  }

  #close(): void {
    if (this.#state === S_CLOSED) return;
    this.#disarm();
    this.#state = S_CLOSED;
    this.#ctx.sessions.delete(this);
    this.socket.handler = destroyOnInput;
    this.socket.end();
  }

  /** Tears everything down now (client gone, broken framing, truncated response). */
  abort(): void {
    this.#exchange?.abort();
    this.#disarm();
    this.#state = S_CLOSED;
    this.#ctx.sessions.delete(this);
    this.socket.handler = destroyOnInput;
    this.socket.destroy();
  }

  #arm(kind: number, ms: number): void {
    this.#timer = kind;
    const wheel = this.#ctx.wheel;
    wheel.arm(this, wheel.now + ms);
  }

  #disarm(): void {
    this.#timer = T_NONE;
    this.#ctx.wheel.disarm(this);
  }
}
