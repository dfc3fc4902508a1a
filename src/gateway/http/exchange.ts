import { BAD_CHUNK, BodyFramer, NEED_MORE } from "../../codec/http1/body.ts";
import { Head, findHeadEnd, parseResponse } from "../../codec/http1/head.ts";
import type { RequestView } from "../../core/balance/hash-key.ts";
import { jitteredRetryAfter } from "../../core/plan/token-bucket.ts";
import { ERROR_CODES, type ResponseErrorCode } from "../../errors.ts";
import { CloseCode } from "../../protocol/close.ts";
import type { AccessRecord } from "../access-log.ts";
import { UpstreamAttempt } from "../attempt.ts";
import type { Backend, QueueWaiter } from "../backend.ts";
import { events } from "../diagnostics.ts";
import { destroyOnInput, type HandledSocket, type SocketHandler } from "../sockets.ts";
import type { Expirable } from "../timer-wheel.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamServer, UpstreamWaiter } from "../upstream.ts";
import { trackForwardedBytes } from "../young-gc.ts";
import { REQUEST_VIEW } from "./request-view.ts";
import { RequestFacts } from "./request.ts";
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BODY_UNTIL_CLOSE, ResponsePlan, planResponse } from "./response.ts";
import type { HttpListenerContext } from "./session.ts";
import { LAST_CHUNK, SSE_CUT, SSE_END, SSE_HEARTBEAT, SseStream, isEventStream } from "./sse.ts";
import { acceptThenClose, handOff } from "./upgrade.ts";
import { HOLD_CONNECT, HOLD_UPSTREAM, type Downstream } from "./downstream.ts";

const X_NONE = 0; // between requests
const X_QUEUED = 1; // waiting for a server below maxConn
const X_CONNECTING = 2; // waiting for an upstream connection
const X_SENT = 3; // request sent or being sent; response expected or flowing

const T_NONE = 0, T_SERVER = 1, T_QUEUE = 2;

/** Longest response head accepted from a server. */
const MAX_RESPONSE_HEAD = 65536;

/** The module's one response head: parsed and forwarded synchronously, so one serves every exchange. */
const RESPONSE_HEAD = new Head();

/**
 * One request and its response, from the pick to the last response byte: stickiness,
 * hash key and policy pick the server (or the request queues for `maxConn`, or
 * admission refuses it), an {@link UpstreamAttempt} connects and retries, the request
 * bytes go out, the response head is read and framed ({@link planResponse}) and the
 * body streams back with backpressure both ways, then the accounting (server counters,
 * policy feedback, the `holdfast:exchange:finished` event). It owns the upstream
 * socket's events; the client side is its {@link Downstream}. One per client
 * connection, reused from request to request: nothing is allocated per request.
 *
 * @example
 * exchange.start(backend, view, out, reqDone, bodyBytes, access);
 * // ... the session feeds the request body:
 * exchange.requestBody(chunk);
 */
export class Exchange implements SocketHandler, UpstreamWaiter, QueueWaiter, Expirable {
  /** What the request is (filled by the session before `start`). */
  readonly facts = new RequestFacts();
  readonly #ctx: HttpListenerContext;
  readonly #downstream: Downstream;
  readonly #attempt = new UpstreamAttempt();
  readonly #plan = new ResponsePlan();
  /** Frames the response body (finds its end; the bytes are forwarded as they come). */
  readonly #responseFramer = new BodyFramer();
  #state = X_NONE;
  #backend: Backend | null = null;
  /** The upstream connection in use during X_SENT (the attempt's, once ready). */
  #upstream: UpstreamConn | null = null;
  /** The request head and first body bytes, kept while the request may be sent again. */
  #requestBytes: Buffer | null = null;
  /** Request body bytes that arrived before the upstream connection was ready. */
  #early: Buffer[] | null = null;
  /** The whole request body has been read from the client. */
  #requestBodyRead = false;
  /** The whole request is still in hand (`#requestBytes`), so a retry may send it again. */
  #replayable = false;
  /** A partial response head from the server. */
  #partialResponseHead: Buffer | null = null;
  #responseHeadSent = false;
  /** The upstream connection can go back to the pool after this response. */
  #upstreamReusable = false;
  /** The upstream socket is paused because the client's buffer is full. */
  #upstreamHeld = false;
  /** A sticky Set-Cookie to add to the response. */
  #setCookie: string | undefined = undefined;
  #access: AccessRecord | null = null;
  #connectStartedAt = 0;
  #requestStartedAt = 0;
  #latency = 0;
  #status = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #timer = T_NONE;
  /** The response is an event stream: long-lived, with heartbeats and a clean end (sse.ts). */
  readonly #sse = new SseStream();
  deadline = 0;
  wheelSlot = -1;

  constructor(ctx: HttpListenerContext, down: Downstream) {
    this.#ctx = ctx;
    this.#downstream = down;
  }

  /** True from `start` until the exchange ends. */
  get busy(): boolean {
    return this.#state !== X_NONE;
  }

  /**
   * Ends an event stream at its next event boundary (now when it rests at one), for a
   * graceful stop; false when the current response is no event stream.
   */
  endStream(): boolean {
    const sse = this.#sse;
    if (!sse.active) return false;
    if (sse.atBoundary(this.#responseFramer)) this.#endEventStream();
    else sse.ending = true;
    return true;
  }

  /** The response head went to the client: the gateway can no longer answer by itself. */
  get responseStarted(): boolean {
    return this.#responseHeadSent;
  }

  /**
   * Starts the exchange of a request (facts filled): `out` is the head to send and the
   * body bytes read with it, `reqDone` whether that is the whole body, `view` the
   * request's facts for stickiness and hash keys (read synchronously, here).
   */
  start(backend: Backend, view: RequestView, out: Buffer, reqDone: boolean, bytesIn: number, access: AccessRecord | null): void {
    this.#backend = backend;
    this.#attempt.reset(backend);
    this.#status = 0;
    this.#requestBytes = out;
    this.#requestBodyRead = reqDone;
    this.#replayable = reqDone;
    this.#responseHeadSent = false;
    this.#partialResponseHead = null;
    this.#bytesIn = bytesIn;
    this.#bytesOut = 0;
    this.#access = access;
    if (access !== null) this.#requestStartedAt = this.#ctx.wheel.clock();
    this.#pick(view);
  }

  /** The request body is complete (its last bytes were passed to `requestBody`). */
  requestDone(): void {
    this.#requestBodyRead = true;
  }

  /** Request body bytes from the client; returns the `HOLD_*` reason to pause the client for, or 0. */
  requestBody(body: Buffer): number {
    trackForwardedBytes(body.length);
    this.#bytesIn += body.length;
    const up = this.#upstream;
    if (this.#state !== X_SENT || up === null) {
      (this.#early ??= []).push(body);
      return HOLD_CONNECT;
    }
    return up.socket.write(body) ? 0 : HOLD_UPSTREAM;
  }

  /** The client's buffer drained: resume reading the response. */
  clientDrained(): void {
    if (this.#upstreamHeld && this.#upstream !== null) {
      this.#upstreamHeld = false;
      this.#upstream.socket.resume();
    }
  }

  // ---------------------------------------------------------------- pick

  /** Picks a server (stickiness, hash key, policy) and connects, or queues, or answers 503. */
  #pick(view: RequestView): void {
    const backend = this.#backend!;
    const wheel = this.#ctx.wheel;
    const server = backend.select(view, this.#downstream.secure, wheel.now);
    this.#setCookie = backend.setCookie;
    if (server !== undefined) {
      if ((this.#downstream.fresh || this.facts.upgrade) && backend.config.admission !== undefined) {
        const wait = backend.admit(server, wheel.now);
        if (wait > 0) return this.#refuseAdmission(backend, server, wait);
      }
      this.#downstream.admitted();
      return this.#connect(server);
    }
    if (backend.saturated) {
      this.#state = X_QUEUED;
      this.#downstream.hold(HOLD_CONNECT);
      this.#arm(T_QUEUE, backend.config.queueTimeout);
      backend.queue.push(this);
      return;
    }
    this.#fail("HF_ERR_NO_SERVER", `no server is available for backend ${backend.name}`, 1);
  }

  /** Admission over its rate: HTTP gets 503 + Retry-After, a WebSocket 101 then 1013. */
  #refuseAdmission(backend: Backend, server: UpstreamServer, waitMs: number): void {
    const hint = jitteredRetryAfter(Math.max(waitMs, 250), Math.random);
    server.stats.admissionRejected++;
    this.#ctx.counters.admissionRejected++;
    const websocket = this.facts.websocket;
    if (events.admissionRefused.hasSubscribers) {
      events.admissionRefused.publish({ plane: this.#ctx.plane, listener: this.#ctx.cfg.name, backend, server, websocket });
    }
    if (websocket) {
      const res = acceptThenClose(this.facts.wsKey, CloseCode.TRY_AGAIN_LATER, hint.ms);
      if (res !== null) {
        this.#end(false);
        return this.#downstream.respondAndClose(res);
      }
    }
    this.#fail("HF_ERR_ADMISSION", `server ${server.name} of backend ${backend.name} is admitting no more new connections right now`, hint.seconds);
  }

  onQueueReady(): void {
    if (this.#state !== X_QUEUED) return;
    // Stickiness and hash keys were decided on the head, which is gone by now: a queued
    // request takes whichever server frees up first.
    const backend = this.#backend!;
    const server = backend.select(REQUEST_VIEW.reset(null, null, this.#downstream.clientIp), this.#downstream.secure, this.#ctx.wheel.now);
    if (server === undefined) {
      backend.queue.push(this);
      return;
    }
    this.#disarm();
    this.#connect(server);
  }

  #leaveQueue(): void {
    const q = this.#backend?.queue;
    if (q === undefined) return;
    const i = q.indexOf(this);
    if (i >= 0) q.splice(i, 1);
  }

  // ---------------------------------------------------------------- connect and retry

  #connect(server: UpstreamServer): void {
    this.#state = X_CONNECTING;
    this.#connectStartedAt = this.#ctx.wheel.clock();
    // A server that reads a PROXY header gets a connection of this client's own: the
    // header names one client, so such connections are never pooled.
    const pp = this.#backend!.config.proxyProtocol;
    const conn = this.#attempt.connect(server, this, pp === undefined, pp === undefined ? null : this.#downstream.proxyHeader(pp));
    this.#upstream = conn;
    if (conn.reused) this.onUpstreamReady(conn);
    else this.#downstream.hold(HOLD_CONNECT);
  }

  onUpstreamReady(conn: UpstreamConn): void {
    if (this.#state !== X_CONNECTING || this.#upstream !== conn) {
      conn.server.release(conn);
      return;
    }
    conn.socket.handler = this;
    this.#state = X_SENT;
    if (this.#access !== null) this.#access.upstreamReused = conn.reused;
    const s = conn.socket;
    const out = this.#requestBytes!;
    if (!this.#replayable) this.#requestBytes = null;
    let ok = s.write(out);
    const early = this.#early;
    if (early !== null) {
      this.#early = null;
      for (const b of early) ok = s.write(b);
    }
    this.#downstream.release(HOLD_CONNECT);
    if (!ok) this.#downstream.hold(HOLD_UPSTREAM);
    this.#arm(T_SERVER, this.#backend!.config.timeouts.server);
  }

  onUpstreamFailed(conn: UpstreamConn, why: UpstreamFailure): void {
    if (this.#upstream !== conn) return;
    this.#upstream = null;
    const server = this.#attempt.connectFailed(why, this.#ctx.wheel.now);
    if (this.#retry(server, "connect")) return;
    if (why === "timeout") this.#fail("HF_ERR_CONNECT_TIMEOUT", `connecting to server ${server.name} timed out`);
    else this.#fail("HF_ERR_CONNECT_REFUSED", `server ${server.name} could not be reached (${why === "refused" ? "connection refused" : why === "tls" ? "TLS handshake failed" : "connection error"})`);
  }

  #retry(failed: UpstreamServer, kind: "connect" | "reset-before-response"): boolean {
    const backend = this.#backend!;
    const replayable = this.#replayable && this.#requestBytes !== null;
    const next = this.#attempt.next(failed, kind, this.facts.idempotent, replayable, this.#downstream.clientIp, this.#downstream.secure, this.#ctx.wheel.now);
    if (next === undefined) return false;
    // Stickiness re-issues its cookie for the server the retry moved to.
    if (next !== failed && backend.setCookie !== undefined) this.#setCookie = backend.setCookie;
    this.#connect(next);
    return true;
  }

  // ---------------------------------------------------------------- the upstream socket

  onData(s: HandledSocket, chunk: Buffer): void {
    if (s === this.#upstream?.socket) this.#onUpstreamData(chunk);
    else s.destroy(); // a connection this exchange gave up (after a retry)
  }

  onDrain(): void {
    this.#downstream.release(HOLD_UPSTREAM);
  }

  onEnd(s: HandledSocket): void {
    // Events of a connection this exchange already gave up (a retry moved on) are not
    // about the current one.
    if (s === this.#upstream?.socket) this.#upstreamGone(false);
  }

  onClose(s: HandledSocket): void {
    if (s === this.#upstream?.socket) this.#upstreamGone(s.errored !== null);
  }

  onError(): void {}

  expire(): void {
    const t = this.#timer;
    this.#timer = T_NONE;
    if (t === T_SERVER) {
      if (this.#sse.active) return this.#eventStreamTimer();
      const server = this.#attempt.server;
      if (server !== null) this.#backend!.passiveFailure(server, this.#ctx.wheel.now, "response timeout");
      if (!this.#responseHeadSent) this.#fail("HF_ERR_UPSTREAM_TIMEOUT", `server ${server?.name ?? "?"} did not answer in time`);
      else this.#downstream.abort();
    } else if (t === T_QUEUE) {
      this.#leaveQueue();
      this.#fail("HF_ERR_QUEUE_TIMEOUT", `every server of backend ${this.#backend!.name} is at maxConn and none freed up within queueTimeout`, 1);
    }
  }

  #onUpstreamData(chunk: Buffer): void {
    const sse = this.#sse;
    if (sse.active) {
      sse.lastData = this.#ctx.wheel.now; // the stream's timer reads it when it fires
      sse.started = true;
    } else if (this.deadline !== 0) this.deadline = this.#ctx.wheel.now + this.#backend!.config.timeouts.server;
    if (this.#responseHeadSent) {
      trackForwardedBytes(chunk.length);
      this.#bytesOut += chunk.length;
      const r = this.#responseFramer.scan(chunk, 0, chunk.length);
      if (r === BAD_CHUNK) return this.#downstream.abort();
      if (r === NEED_MORE) {
        if (!this.#downstream.responseBody(chunk)) this.#holdUpstream();
        if (sse.ending && sse.atBoundary(this.#responseFramer)) this.#endEventStream();
        return;
      }
      if (r < chunk.length) this.#upstreamReusable = false; // bytes after the response: out of sync
      this.#downstream.responseBody(r === chunk.length ? chunk : chunk.subarray(0, r));
      return this.#responseDone();
    }
    let buf = this.#partialResponseHead === null ? chunk : Buffer.concat([this.#partialResponseHead, chunk]);
    for (;;) {
      const end = findHeadEnd(buf, 0, buf.length);
      if (end === -1) {
        if (buf.length > MAX_RESPONSE_HEAD) return this.#fail("HF_ERR_BAD_RESPONSE", "the server sent an oversized response head");
        this.#partialResponseHead = buf;
        return;
      }
      if (end < 0 || parseResponse(buf, end, RESPONSE_HEAD) !== 0) {
        return this.#fail("HF_ERR_BAD_RESPONSE", `server ${this.#attempt.server!.name} sent a malformed response`);
      }
      const status = RESPONSE_HEAD.status;
      if (status >= 200 || status === 101) return this.#responseHead(buf, end);
      // 1xx (100 Continue, 103 Early Hints): forward and wait for the final response.
      this.#downstream.interim(buf, RESPONSE_HEAD);
      buf = buf.subarray(end);
      if (buf.length === 0) {
        this.#partialResponseHead = null;
        return;
      }
    }
  }

  #responseHead(buf: Buffer, end: number): void {
    this.#partialResponseHead = null;
    this.#latency = this.#ctx.wheel.clock() - this.#connectStartedAt;
    if (RESPONSE_HEAD.status === 101) {
      if (!this.facts.upgrade) return this.#fail("HF_ERR_BAD_RESPONSE", "the server switched protocols without being asked");
      return this.#becomeTunnel(buf, end);
    }
    const status = RESPONSE_HEAD.status;
    this.#status = status;
    const server = this.#attempt.server!;
    const backend = this.#backend!;
    if (status >= 500 && backend.config.passive?.on5xx === true) backend.passiveFailure(server, this.#ctx.wheel.now, `status ${status}`);
    else backend.passiveSuccess(server);
    const plan = this.#plan;
    planResponse(RESPONSE_HEAD, this.facts.isHead, plan);
    const framer = this.#responseFramer;
    if (plan.body === BODY_NONE) framer.none();
    else if (plan.body === BODY_CHUNKED) framer.startChunked();
    else if (plan.body === BODY_LENGTH) framer.startLength(RESPONSE_HEAD.contentLength);
    else framer.startUntilClose();
    this.#upstreamReusable = plan.upstreamReusable;
    const stream = (plan.body === BODY_CHUNKED || plan.body === BODY_UNTIL_CLOSE) && isEventStream(buf, RESPONSE_HEAD);
    if (stream) this.#sse.begin(framer, this.#ctx.wheel.now, buf.length > end);
    else if (this.#sse.active) this.#sse.stop(framer);
    // A response before the whole request body (Expect: 100-continue refused, 413...)
    // ends the client's connection: say so in its head (#responseDone closes it).
    if (plan.closeClient || !this.#requestBodyRead) this.#downstream.closeAfterExchange();
    this.facts.upgrade = false;
    let bodyEnd = buf.length;
    if (!framer.done || plan.body === BODY_UNTIL_CLOSE) {
      const r = framer.scan(buf, end, buf.length);
      if (r === BAD_CHUNK) return this.#fail("HF_ERR_BAD_RESPONSE", `server ${server.name} sent a malformed chunked body`);
      if (r >= 0) bodyEnd = r;
    } else bodyEnd = end;
    if (bodyEnd < buf.length) this.#upstreamReusable = false;
    this.#bytesOut += buf.length;
    this.#responseHeadSent = true;
    if (!this.#downstream.responseHead(buf, RESPONSE_HEAD, end, bodyEnd, this.facts, this.#setCookie)) this.#holdUpstream();
    if (framer.done) this.#responseDone();
    // Its head is out: an event stream now lives under the tunnel's idle limit.
    else if (stream) this.#arm(T_SERVER, backend.config.sse?.heartbeat ?? backend.config.timeouts.tunnel);
  }

  /** The event stream's timer: a heartbeat, the end of a stream idle past timeouts.tunnel, or more waiting. */
  #eventStreamTimer(): void {
    const cfg = this.#backend!.config;
    const sse = this.#sse;
    const v = sse.check(this.#responseFramer, { idleMs: cfg.timeouts.tunnel, heartbeatMs: cfg.sse?.heartbeat }, this.#ctx.wheel.now);
    if (v === SSE_END) return this.#endEventStream();
    if (v === SSE_CUT) return this.#downstream.abort();
    // A client that does not read gets no heartbeat piled on (its buffer is full).
    if (v === SSE_HEARTBEAT && !this.#upstreamHeld) {
      const beat = sse.heartbeat(this.#responseFramer);
      this.#bytesOut += beat.length;
      this.#downstream.responseBody(beat);
    }
    this.#arm(T_SERVER, sse.next);
  }

  /** Ends an event stream at an event boundary: the last chunk (when chunked), then both connections close. */
  #endEventStream(): void {
    const framer = this.#responseFramer;
    if (!framer.untilClose) this.#downstream.responseBody(LAST_CHUNK);
    this.#sse.stop(framer);
    this.#upstreamReusable = false;
    this.#downstream.closeAfterExchange();
    this.#responseDone();
  }

  #responseDone(): void {
    if (!this.#requestBodyRead) {
      // The server answered before reading the whole request body (413, redirect...):
      // neither connection is in a known state any more.
      this.#upstreamReusable = false;
      this.#downstream.closeAfterExchange();
    }
    const up = this.#upstream!;
    this.#upstream = null;
    if (this.#upstreamReusable && this.#backend!.config.proxyProtocol === undefined) {
      if (this.#upstreamHeld) up.socket.resume();
      up.server.release(up);
    } else up.socket.destroy();
    this.#upstreamHeld = false;
    this.#end(true);
    this.#downstream.exchangeDone();
  }

  /** The upstream connection ended or broke during an exchange. */
  #upstreamGone(errored: boolean): void {
    const up = this.#upstream;
    if (up === null || this.#state !== X_SENT) return;
    if (this.#responseHeadSent) {
      if (this.#responseFramer.untilClose && !errored) {
        this.#upstreamReusable = false;
        return this.#responseDone();
      }
      return this.#downstream.abort(); // truncated response: the client must see a broken connection
    }
    this.#upstream = null;
    up.socket.handler = destroyOnInput;
    up.socket.destroy();
    const server = this.#attempt.server!;
    const backend = this.#backend!;
    backend.end(server, 0, false, this.#ctx.wheel.now);
    this.#attempt.server = null;
    if (this.#retry(server, "reset-before-response")) return;
    backend.passiveFailure(server, this.#ctx.wheel.now, "closed before answering");
    this.#fail("HF_ERR_UPSTREAM_RESET", `server ${server.name} closed the connection before answering`);
  }

  #becomeTunnel(buf: Buffer, end: number): void {
    const up = this.#upstream!;
    const server = this.#attempt.server!;
    const backend = this.#backend!;
    this.#upstream = null;
    this.#disarm();
    this.#state = X_NONE;
    const access = this.#access;
    this.#access = null;
    if (access !== null) {
      access.status = 101;
      access.server = server.name;
      access.durationMs = Math.round((this.#ctx.wheel.clock() - this.#requestStartedAt) * 1000) / 1000;
      access.retries = this.#attempt.retries;
    }
    const setCookie = this.#setCookie;
    this.#setCookie = undefined;
    this.#attempt.done();
    const { socket, rest } = this.#downstream.takeOver(buf, RESPONSE_HEAD, setCookie);
    handOff(this.#ctx, socket, up.socket, server, backend, this.facts, this.#latency, access, rest, buf, end);
  }

  #holdUpstream(): void {
    if (this.#upstream !== null && !this.#upstreamHeld) {
      this.#upstreamHeld = true;
      this.#upstream.socket.pause();
    }
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

  // ---------------------------------------------------------------- endings

  /** The accounting of an exchange that ends: server counters, policy feedback, the event. */
  #end(ok: boolean): void {
    this.#disarm();
    this.#state = X_NONE;
    if (this.#sse.active) this.#sse.stop(this.#responseFramer);
    const server = this.#attempt.server;
    if (server !== null) {
      this.#backend!.end(server, this.#latency, ok, this.#ctx.wheel.now);
      server.stats.response(this.facts.method, this.#status, this.#latency, this.#bytesIn, this.#bytesOut);
    }
    const a = this.#access;
    if (a !== null) {
      this.#access = null;
      if (this.#status !== 0 || a.status === 0) a.status = this.#status;
      a.bytesIn = this.#bytesIn;
      a.bytesOut = this.#bytesOut;
      a.durationMs = Math.round((this.#ctx.wheel.clock() - this.#requestStartedAt) * 1000) / 1000;
      a.server = server?.name ?? "";
      a.retries = this.#attempt.retries;
      if (events.exchangeFinished.hasSubscribers) events.exchangeFinished.publish({ plane: this.#ctx.plane, record: a });
    }
    this.#setCookie = undefined;
    this.#attempt.done();
    this.#requestBytes = null;
    this.#early = null;
  }

  /** The gateway could not complete the exchange: answer if nothing was sent yet. */
  #fail(code: ResponseErrorCode, message: string, retryAfter?: number): void {
    // The log shows what the client got and why; per-server stats keep "no response" (status 0).
    if (this.#access !== null) {
      this.#access.error = code;
      if (!this.#responseHeadSent) this.#access.status = ERROR_CODES[code].status;
    }
    // A head read but refused (its chunked body is malformed): nothing of it reached the
    // client, whose log line says what it got instead.
    if (!this.#responseHeadSent) this.#status = 0;
    const up = this.#upstream;
    this.#upstream = null;
    if (up !== null) up.socket.destroy();
    this.#end(false);
    if (this.#responseHeadSent) return this.#downstream.abort();
    this.#downstream.reject(code, message, retryAfter);
  }

  /**
   * The session refuses the rest of the request (malformed body) before any response:
   * the upstream side is torn down and the access record says `code`. The session
   * answers the client.
   */
  cancel(code: ResponseErrorCode): void {
    if (this.#access !== null) {
      this.#access.error = code;
      this.#access.status = ERROR_CODES[code].status;
    }
    this.abort();
  }

  /** The client went away or broke the framing: tear the upstream side down now. */
  abort(): void {
    if (this.#state === X_QUEUED) this.#leaveQueue();
    this.#disarm();
    if (this.#sse.active) this.#sse.stop(this.#responseFramer);
    const up = this.#upstream;
    this.#upstream = null;
    if (up !== null) up.socket.destroy();
    if (this.#attempt.server !== null) this.#end(false);
    this.#state = X_NONE;
  }
}
