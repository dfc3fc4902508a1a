import { constants, type ServerHttp2Stream } from "node:http2";
import { Dechunker } from "../../codec/http1/dechunk.ts";
import { Head, findHeadEnd, headErrorText, parseRequest, parseResponse } from "../../codec/http1/head.ts";
import { writeRequestHead } from "../../codec/http1/write.ts";
import { countError, ERROR_CODES, type ResponseErrorCode } from "../../errors.ts";
import { events } from "../diagnostics.ts";
import type { Downstream } from "../http/downstream.ts";
import { Exchange } from "../http/exchange.ts";
import { accessRecord, classifyRequest, type RequestFacts } from "../http/request.ts";
import { REQUEST_VIEW } from "../http/request-view.ts";
import { FORBIDDEN, NO_ROUTE } from "../routes.ts";
import { attach, destroyOnInput, type HandledSocket, type SocketHandler } from "../sockets.ts";
import type { H2Session } from "./session.ts";
import { H1Request, toH1Request } from "./request.ts";
import { WEBSOCKET_200_FIELDS, h2ResponseHeaders } from "./response.ts";

/** The module's request head: built, parsed and handed on synchronously. */
const REQUEST_HEAD = new Head();
/** For the gateway's own responses (parsed back into headers for HTTP/2). */
const OWN_RESPONSE_HEAD = new Head();
const H1 = new H1Request();
const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");
/** What a stream the gateway resets is destroyed with (node:http2 sends INTERNAL_ERROR). */
const RESET = new Error("HTTP/2 stream reset by the gateway");

/**
 * One HTTP/2 stream: one request, forwarded to an HTTP/1.1 server as one
 * {@link Exchange} — the same routing, balancing, stickiness, admission, upstream pools,
 * retries and response framing as an HTTP/1.1 client's request. This is the
 * {@link Downstream} of that exchange: it turns the HTTP/2 request into an HTTP/1.1 head
 * (refusing what could smuggle, `request.ts`), counts the DATA bytes against the
 * declared length, and turns the response back into HEADERS and DATA (the chunked
 * coding taken off). Flow control is per stream: when the server or the client is
 * slower, only this stream waits (reading it is paused, its window is not reopened).
 * An extended CONNECT (RFC 8441) becomes a WebSocket upgrade; after the server's 101
 * the stream is one side of a tunnel.
 *
 * @example
 * session.on("stream", (stream, _headers, flags, raw) => new H2Stream(h2session, stream, raw, flags));
 */
export class H2Stream implements Downstream, SocketHandler {
  readonly #session: H2Session;
  readonly #stream: ServerHttp2Stream;
  #exchange: Exchange | null = null;
  #hold = 0;
  /** Declared request body length (-1: none; the body is sent chunked). */
  #declared = -1;
  #received = 0;
  #chunked = false;
  #requestBodyRead = false;
  #responded = false;
  #dechunk: Dechunker | null = null;
  #done = false;

  constructor(session: H2Session, stream: ServerHttp2Stream, raw: readonly string[], flags: number) {
    this.#session = session;
    this.#stream = stream;
    attach(stream as unknown as HandledSocket, this);
    this.#start(raw, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0);
  }

  /** Builds the HTTP/1.1 request, routes it and starts its exchange, or answers it. */
  #start(raw: readonly string[], endStream: boolean): void {
    const session = this.#session;
    this.#requestBodyRead = endStream;
    const why = toH1Request(raw, endStream, H1);
    if (why !== null) return this.#refuse("HF_ERR_BAD_REQUEST", `malformed HTTP/2 request: ${why}`);
    this.#declared = H1.contentLength;
    this.#chunked = H1.chunked;
    const buf = H1.head;
    const ctx = session.ctx;
    if (buf.length > ctx.cfg.maxHeaderSize) return this.#refuse("HF_ERR_HEAD_TOO_LARGE", "the request head is too large");
    // The same strict scanner as HTTP/1.1 clients get: what it refuses is not forwarded.
    const err = parseRequest(buf, findHeadEnd(buf, 0, buf.length), REQUEST_HEAD);
    if (err !== 0) return this.#refuse("HF_ERR_BAD_REQUEST", headErrorText[err as 1]);
    const ip = session.clientIp;
    const route = ctx.router.route(buf, REQUEST_HEAD, ip);
    if (route === FORBIDDEN) return this.#refuse("HF_ERR_FORBIDDEN", "your address is not allowed on this route");
    if (route === NO_ROUTE) return this.#refuse("HF_ERR_NO_ROUTE", "no route matches this request");
    const exchange = (this.#exchange = new Exchange(ctx, this));
    classifyRequest(buf, REQUEST_HEAD, route.config.admission !== undefined, exchange.facts);
    const end = buf.length;
    const out = writeRequestHead(buf, REQUEST_HEAD, session.forward, exchange.facts.upgrade, buf, end, end);
    const access = events.exchangeFinished.hasSubscribers || (exchange.facts.upgrade && events.tunnelClosed.hasSubscribers)
      ? accessRecord(buf, REQUEST_HEAD, ip, ctx.cfg.name, route.name)
      : null;
    exchange.start(route, REQUEST_VIEW.reset(buf, REQUEST_HEAD, ip), out, endStream, end, access);
  }

  get clientIp(): string {
    return this.#session.clientIp;
  }

  get secure(): boolean {
    return this.#session.secure;
  }

  get fresh(): boolean {
    return this.#session.fresh;
  }

  admitted(): void {
    this.#session.fresh = false;
  }

  proxyHeader(version: "v1" | "v2"): Buffer {
    return this.#session.proxyHeader(version);
  }

  // ---------------------------------------------------------------- request body (stream events)

  onData(_s: HandledSocket, chunk: Buffer): void {
    const exchange = this.#exchange;
    // Once the exchange is over (answered before the body was through, or cut), the rest
    // of the body, and its end, which the stream's close brings, are dropped.
    if (exchange === null || this.#requestBodyRead || this.#done) return;
    this.#received += chunk.length;
    // More DATA than content-length said: the server would read the rest as another
    // request (RFC 9113 §8.1.1: malformed).
    if (this.#declared >= 0 && this.#received > this.#declared) return this.#malformed();
    const body = this.#chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, "latin1"), chunk, CRLF]) : chunk;
    const hold = exchange.requestBody(body);
    if (hold !== 0) this.hold(hold);
  }

  onEnd(): void {
    const exchange = this.#exchange;
    if (exchange === null || this.#requestBodyRead || this.#done) return;
    if (this.#declared >= 0 && this.#received !== this.#declared) return this.#malformed();
    this.#requestBodyRead = true;
    if (this.#chunked) {
      const hold = exchange.requestBody(LAST_CHUNK);
      if (hold !== 0) this.hold(hold);
    }
    exchange.requestDone();
  }

  onDrain(): void {
    this.#exchange?.clientDrained();
  }

  onClose(): void {
    // Reset by the client, or the session went away: the exchange stops too.
    if (!this.#done) {
      this.#done = true;
      this.#exchange?.abort();
    }
    this.#session.streamClosed();
  }

  onError(): void {}

  #malformed(): void {
    this.#done = true;
    this.#exchange?.abort();
    this.#stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
  }

  // ---------------------------------------------------------------- Downstream

  hold(reason: number): void {
    if (this.#hold === 0) this.#stream.pause();
    this.#hold |= reason;
  }

  release(reason: number): void {
    if (this.#hold === 0) return;
    this.#hold &= ~reason;
    if (this.#hold === 0) this.#stream.resume();
  }

  interim(buf: Buffer, res: Head): void {
    if (this.#stream.headersSent || this.#stream.destroyed) return;
    try {
      this.#stream.additionalHeaders(h2ResponseHeaders(buf, res, res.status, undefined, null));
    } catch {
      // A field Node will not send (HTTP2-Settings...): the interim response is dropped,
      // the final one still goes (it threw out of the exchange's read, a process crash).
    }
  }

  responseHead(buf: Buffer, res: Head, end: number, bodyEnd: number, facts: RequestFacts, setCookie: string | undefined): boolean {
    const s = this.#stream;
    if (s.destroyed) return true;
    const empty = facts.isHead || res.status === 204 || res.status === 304 || (res.contentLength === 0 && !res.chunked);
    try {
      s.respond(h2ResponseHeaders(buf, res, res.status, setCookie, null), { endStream: empty });
    } catch {
      // A field Node will not send (HTTP2-Settings, a value with bytes HTTP/2 refuses): the
      // server's fault. Only the stream is reset here: the exchange is in the middle of its
      // response head (aborting it under its feet threw), the stream's close aborts it.
      this.#reset();
      return true;
    }
    this.#responded = true;
    this.#dechunk = res.chunked ? (this.#dechunk ?? new Dechunker()) : null;
    this.#dechunk?.reset();
    if (empty || bodyEnd <= end) return true;
    return this.responseBody(buf.subarray(end, bodyEnd));
  }

  responseBody(chunk: Buffer): boolean {
    const s = this.#stream;
    if (s.destroyed || s.writableEnded) return true;
    const d = this.#dechunk;
    if (d === null) return s.write(chunk);
    let ok = true;
    for (let p = 0; p < chunk.length && !d.done; ) {
      p = d.next(chunk, p, chunk.length);
      if (d.dataEnd > d.dataStart) ok = s.write(chunk.subarray(d.dataStart, d.dataEnd));
    }
    return ok;
  }

  closeAfterExchange(): void {
    // The client connection goes on: only this stream ends with the exchange.
  }

  exchangeDone(): void {
    this.#done = true;
    const s = this.#stream;
    if (!s.writableEnded && !s.destroyed) s.end();
    // The server answered before the request body was through: the client may stop
    // sending it (RFC 9113 §8.1).
    if (!this.#requestBodyRead && !s.destroyed) s.close(constants.NGHTTP2_NO_ERROR);
  }

  respondAndClose(response: Buffer): void {
    // The gateway's own HTTP/1.1 answer, read back into HTTP/2 headers and a body.
    const end = findHeadEnd(response, 0, response.length);
    if (end < 0 || parseResponse(response, end, OWN_RESPONSE_HEAD) !== 0) return this.abort();
    // A WebSocket refused by admission gets a 101 and a close frame: over HTTP/2 the 101
    // is a 200 (RFC 8441 §5; `respond` throws on a 101), the close frame its DATA.
    const ws = OWN_RESPONSE_HEAD.status === 101;
    this.#sendOwn(h2ResponseHeaders(response, OWN_RESPONSE_HEAD, ws ? 200 : OWN_RESPONSE_HEAD.status, undefined, ws ? WEBSOCKET_200_FIELDS : null), response.subarray(end));
  }

  /** A refusal of the stream's own, before any exchange: counted, then answered. */
  #refuse(code: ResponseErrorCode, message: string): void {
    countError(this.#session.ctx.counters.errors, code);
    this.reject(code, message);
  }

  reject(code: ResponseErrorCode, message: string, retryAfter?: number): void {
    const headers: Record<string, string | number> = { ":status": ERROR_CODES[code].status ?? 500, "content-type": "text/plain; charset=utf-8", "x-holdfast-error": code };
    if (retryAfter !== undefined) headers["retry-after"] = retryAfter;
    this.#sendOwn(headers, Buffer.from(`${message}\n`));
  }

  #sendOwn(headers: Record<string, unknown>, body: Buffer): void {
    this.#done = true;
    const s = this.#stream;
    if (this.#responded || s.headersSent) return this.abort();
    if (s.destroyed) return;
    this.#responded = true;
    s.respond(headers as never, { endStream: body.length === 0 });
    if (body.length > 0) s.end(body);
    if (!this.#requestBodyRead) s.close(constants.NGHTTP2_NO_ERROR);
  }

  abort(): void {
    this.#done = true;
    this.#exchange?.abort();
    this.#reset();
  }

  /**
   * RST_STREAM INTERNAL_ERROR. Not `close(code)`: it ends the writable side first, and a
   * stream with DATA out reached the client as ended (END_STREAM before the reset), so a
   * body cut by its server looked whole. Destroyed with an error, it goes as a reset.
   */
  #reset(): void {
    if (!this.#stream.destroyed) this.#stream.destroy(RESET);
  }

  takeOver(buf: Buffer, res: Head, setCookie: string | undefined): { socket: HandledSocket; rest: Buffer | null } {
    this.#done = true;
    const s = this.#stream;
    // RFC 8441 §5: the 101 becomes a 200; the stream carries the WebSocket bytes.
    s.respond(h2ResponseHeaders(buf, res, 200, setCookie, WEBSOCKET_200_FIELDS));
    const socket = s as unknown as HandledSocket;
    socket.handler = destroyOnInput;
    this.#session.streamClosed();
    return { socket, rest: null };
  }
}
