import { BodyFramer } from "../../codec/http1/body.ts";
import type { RequestView } from "../../core/balance/hash-key.ts";
import { jitteredRetryAfter } from "../../core/plan/token-bucket.ts";
import { countError, ERROR_CODES, type ResponseErrorCode } from "../../errors.ts";
import { CloseCode } from "../../protocol/close.ts";
import type { AccessRecord } from "../access-log.ts";
import { UpstreamAttempt } from "../attempt.ts";
import type { Backend, QueueWaiter } from "../backend.ts";
import { events } from "../diagnostics.ts";
import type { HandledSocket, SocketHandler } from "../sockets.ts";
import type { Expirable } from "../timer-wheel.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamServer, UpstreamWaiter } from "../upstream.ts";
import { trackForwardedBytes } from "../young-gc.ts";
import type { HttpListenerContext } from "./context.ts";
import { HOLD_CONNECT, HOLD_UPSTREAM, type Downstream } from "./downstream.ts";
import { REQUEST_VIEW } from "./request-view.ts";
import { RequestFacts } from "./request.ts";
import { SseStream, type LiveEventStream } from "./sse.ts";
import { acceptThenClose } from "./upgrade.ts";

// The exchange's states.
export const X_NONE = 0; // between requests
export const X_QUEUED = 1; // waiting for a server below maxConn
export const X_CONNECTING = 2; // waiting for an upstream connection
export const X_SENT = 3; // request sent or being sent; response expected or flowing

// What its one timer is for.
export const T_NONE = 0; // nothing
export const T_SERVER = 1; // the server's answer (timeouts.server); for an event stream, its next heartbeat or idle check
export const T_QUEUE = 2; // the wait in the maxConn queue (queueTimeout)

/**
 * The first half of an {@link Exchange}: its state, and everything up to the server.
 * Stickiness, hash key and policy pick the server (or the request queues for `maxConn`,
 * or admission refuses it), an {@link UpstreamAttempt} connects and retries, the
 * request bytes go out; when the exchange ends, the accounting (server counters, policy
 * feedback, the `holdfast:exchange:finished` event) and the gateway's own error answer.
 * The response half (exchange.ts) extends it, so an exchange stays one object, reused
 * from request to request.
 *
 * @example
 * class Exchange extends ExchangeDispatch { ... } // the only subclass
 */
export abstract class ExchangeDispatch implements SocketHandler, UpstreamWaiter, QueueWaiter, Expirable, LiveEventStream {
  /** What the request is (filled by the downstream before `start`). */
  readonly facts = new RequestFacts();
  /** The listener's config, timer wheel and counters, and the source of the events. */
  protected readonly ctx: HttpListenerContext;
  /** The client side: an HTTP/1.1 session or an HTTP/2 stream. */
  protected readonly downstream: Downstream;
  /** The connection attempts to the picked server and the retries (shared with TCP). */
  protected readonly attempt = new UpstreamAttempt();
  /** Frames the response body (finds its end; the bytes are forwarded as they come). */
  protected readonly responseFramer = new BodyFramer();
  /** The response is an event stream: long-lived, with heartbeats and a clean end (sse.ts). */
  protected readonly sse = new SseStream();
  /** `X_*`. */
  protected state = X_NONE;
  /** The backend the request was routed to. */
  protected backend: Backend | null = null;
  /** The upstream connection being opened (X_CONNECTING) or in use (X_SENT). */
  protected upstream: UpstreamConn | null = null;
  /** The request head and first body bytes, kept while the request may be sent again. */
  #requestBytes: Buffer | null = null;
  /** The whole request body has been read from the client. */
  protected requestBodyRead = false;
  /** The whole request is still in hand (`#requestBytes`), so a retry may send it again. */
  #replayable = false;
  /** A partial response head from the server. */
  protected partialResponseHead: Buffer | null = null;
  /** The response head went to the client: the gateway can no longer answer by itself. */
  protected responseHeadSent = false;
  /** A sticky Set-Cookie to add to the response (or the 101). */
  protected setCookie: string | undefined = undefined;
  /** The access record, built only while someone listens for finished exchanges. */
  protected access: AccessRecord | null = null;
  /** When the current connection attempt began (`wheel.clock()`, ms). */
  protected connectStartedAt = 0;
  /** When the request started, for the access record's duration (only with a record). */
  protected requestStartedAt = 0;
  /** Milliseconds from the connect to the response head: the policy's and the stats' latency. */
  protected latency = 0;
  /** The status of the server's final response; 0 while none, or when the gateway answered instead. */
  protected status = 0;
  /** Request bytes read from the client, head included. */
  protected bytesIn = 0;
  /** Response bytes sent to the client, head included. */
  protected bytesOut = 0;
  /** What the timer is armed for (`T_*`). */
  protected timer = T_NONE;
  /** When the timer fires, and its slot in the wheel (timer-wheel.ts). */
  deadline = 0;
  wheelSlot = -1;

  constructor(ctx: HttpListenerContext, downstream: Downstream) {
    this.ctx = ctx;
    this.downstream = downstream;
  }

  // The upstream socket's events and the timer are the response half's (exchange.ts).
  abstract onData(s: HandledSocket, chunk: Buffer): void;
  abstract onEnd(s: HandledSocket): void;
  abstract onClose(s: HandledSocket): void;
  abstract onDrain(s: HandledSocket): void;
  abstract onError(s: HandledSocket, err: Error): void;
  abstract expire(): void;

  /**
   * Ends an event stream at its next event boundary (now when it rests at one), for a
   * graceful stop or a drain of its server; nothing when the current response is no
   * event stream.
   */
  abstract endStream(): void;

  /** Name of the listener the request came in on. */
  get listener(): string {
    return this.ctx.cfg.name;
  }

  /** The server the current response's event stream comes from; null when it is none. */
  get streamServer(): UpstreamServer | null {
    return this.sse.active ? this.attempt.server : null;
  }

  /** The response head went to the client: the gateway can no longer answer by itself. */
  get responseStarted(): boolean {
    return this.responseHeadSent;
  }

  /**
   * Starts the exchange of a request (facts filled): `out` is the head to send and the
   * body bytes read with it, `reqDone` whether that is the whole body, `view` the
   * request's facts for stickiness and hash keys (read synchronously, here).
   */
  start(backend: Backend, view: RequestView, out: Buffer, reqDone: boolean, bytesIn: number, access: AccessRecord | null): void {
    this.backend = backend;
    this.attempt.reset(backend);
    this.status = 0;
    this.#requestBytes = out;
    this.requestBodyRead = reqDone;
    this.#replayable = reqDone;
    this.responseHeadSent = false;
    this.partialResponseHead = null;
    this.bytesIn = bytesIn;
    this.bytesOut = 0;
    this.access = access;
    if (access !== null) this.requestStartedAt = this.ctx.wheel.clock();
    this.#pick(view);
  }

  /** The request body is complete (its last bytes were passed to `requestBody`). */
  requestDone(): void {
    this.requestBodyRead = true;
  }

  /**
   * Request body bytes from the client; returns the `HOLD_*` reason to pause the client
   * for, or 0. Only while the request is being sent (`X_SENT`): the downstream is held
   * from the pick until then, and feeds no exchange that is over.
   */
  requestBody(body: Buffer): number {
    trackForwardedBytes(body.length);
    this.bytesIn += body.length;
    return this.upstream!.socket.write(body) ? 0 : HOLD_UPSTREAM;
  }


  // ---------------------------------------------------------------- pick

  /** Picks a server (stickiness, hash key, policy) and connects, or queues, or answers 503. */
  #pick(view: RequestView): void {
    const backend = this.backend!;
    const wheel = this.ctx.wheel;
    const server = backend.select(view, this.downstream.secure, wheel.now);
    this.setCookie = backend.setCookie;
    if (server !== undefined) {
      if ((this.downstream.fresh || this.facts.upgrade) && backend.config.admission !== undefined) {
        const wait = backend.admit(server, wheel.now);
        if (wait > 0) return this.#refuseAdmission(backend, server, wait);
      }
      this.downstream.admitted();
      return this.#connect(server);
    }
    if (backend.saturated) {
      this.state = X_QUEUED;
      this.downstream.hold(HOLD_CONNECT);
      this.arm(T_QUEUE, backend.config.queueTimeout);
      backend.queue.push(this);
      return;
    }
    this.fail("HF_ERR_NO_SERVER", `no server is available for backend ${backend.name}`, 1);
  }

  /** Admission over its rate: HTTP gets 503 + Retry-After, a WebSocket 101 then 1013. */
  #refuseAdmission(backend: Backend, server: UpstreamServer, waitMs: number): void {
    const hint = jitteredRetryAfter(Math.max(waitMs, 250), Math.random);
    server.stats.admissionRejected++;
    this.ctx.counters.admissionRejected++;
    const websocket = this.facts.websocket;
    if (events.admissionRefused.hasSubscribers) {
      events.admissionRefused.publish({ plane: this.ctx.plane, listener: this.ctx.cfg.name, backend, server, websocket });
    }
    if (websocket) {
      const res = acceptThenClose(this.facts.wsKey, CloseCode.TRY_AGAIN_LATER, hint.ms);
      if (res !== null) {
        countError(this.ctx.counters.errors, "HF_ERR_ADMISSION");
        this.end(false);
        return this.downstream.respondAndClose(res);
      }
    }
    this.fail("HF_ERR_ADMISSION", `server ${server.name} of backend ${backend.name} is admitting no more new connections right now`, hint.seconds);
  }

  onQueueReady(): void {
    if (this.state !== X_QUEUED) return;
    // Stickiness and hash keys were decided on the head, which is gone by now: a queued
    // request takes whichever server frees up first.
    const backend = this.backend!;
    const server = backend.select(REQUEST_VIEW.reset(null, null, this.downstream.clientIp), this.downstream.secure, this.ctx.wheel.now);
    if (server === undefined) {
      backend.queue.push(this);
      return;
    }
    this.disarm();
    this.#connect(server);
  }

  /** Takes a queued exchange (its backend set) out of the queue. */
  leaveQueue(): void {
    const q = this.backend!.queue;
    const i = q.indexOf(this);
    if (i >= 0) q.splice(i, 1);
  }

  // ---------------------------------------------------------------- connect and retry

  #connect(server: UpstreamServer): void {
    this.state = X_CONNECTING;
    this.connectStartedAt = this.ctx.wheel.clock();
    // A server that reads a PROXY header gets a connection of this client's own: the
    // header names one client, so such connections are never pooled.
    const pp = this.backend!.config.proxyProtocol;
    const conn = this.attempt.connect(server, this, pp === undefined, pp === undefined ? null : this.downstream.proxyHeader(pp));
    this.upstream = conn;
    if (conn.reused) this.onUpstreamReady(conn);
    else this.downstream.hold(HOLD_CONNECT);
  }

  onUpstreamReady(conn: UpstreamConn): void {
    if (this.state !== X_CONNECTING || this.upstream !== conn) {
      conn.server.release(conn);
      return;
    }
    conn.socket.handler = this;
    this.state = X_SENT;
    if (this.access !== null) this.access.upstreamReused = conn.reused;
    const s = conn.socket;
    const out = this.#requestBytes!;
    if (!this.#replayable) this.#requestBytes = null;
    const ok = s.write(out);
    this.downstream.release(HOLD_CONNECT);
    if (!ok) this.downstream.hold(HOLD_UPSTREAM);
    this.arm(T_SERVER, this.backend!.config.timeouts.server);
  }

  onUpstreamFailed(conn: UpstreamConn, why: UpstreamFailure): void {
    if (this.upstream !== conn) return;
    this.upstream = null;
    const server = this.attempt.connectFailed(why, this.ctx.wheel.now);
    if (this.retry(server, "connect", false)) return;
    if (why === "timeout") this.fail("HF_ERR_CONNECT_TIMEOUT", `connecting to server ${server.name} timed out`);
    else this.fail("HF_ERR_CONNECT_REFUSED", `server ${server.name} could not be reached (${why === "refused" ? "connection refused" : why === "tls" ? "TLS handshake failed" : "connection error"})`);
  }

  /** `reused`: the broken connection came from the keep-alive pool (not counted against `retries`). */
  retry(failed: UpstreamServer, kind: "connect" | "reset-before-response", reused: boolean): boolean {
    const backend = this.backend!;
    const replayable = this.#replayable && this.#requestBytes !== null;
    const next = this.attempt.next(failed, kind, this.facts.idempotent, replayable, this.downstream.clientIp, this.downstream.secure, this.ctx.wheel.now, reused);
    if (next === undefined) return false;
    // Stickiness re-issues its cookie for the server the retry moved to.
    if (next !== failed && backend.setCookie !== undefined) this.setCookie = backend.setCookie;
    this.#connect(next);
    return true;
  }


  /** The response is an event stream from here on (its head is in): a drain can reach it. */
  protected beginEventStream(now: number, started: boolean): void {
    this.sse.begin(this.responseFramer, now, started);
    this.ctx.streams.add(this);
  }

  /** The event stream is over (ended, cut, or the exchange is): out of the drain's reach. */
  protected stopEventStream(): void {
    this.sse.stop(this.responseFramer);
    this.ctx.streams.delete(this);
  }

  arm(kind: number, ms: number): void {
    this.timer = kind;
    const wheel = this.ctx.wheel;
    wheel.arm(this, wheel.now + ms);
  }

  disarm(): void {
    this.timer = T_NONE;
    this.ctx.wheel.disarm(this);
  }

  // ---------------------------------------------------------------- endings

  /** The accounting of an exchange that ends: server counters, policy feedback, the event. */
  end(ok: boolean): void {
    this.disarm();
    this.state = X_NONE;
    if (this.sse.active) this.stopEventStream();
    const server = this.attempt.server;
    if (server !== null) {
      this.backend!.end(server, this.latency, ok, this.ctx.wheel.now);
      server.stats.response(this.facts.method, this.status, this.latency, this.bytesIn, this.bytesOut);
    }
    const a = this.access;
    if (a !== null) {
      this.access = null;
      // No response from the server (0): the record keeps the gateway's own answer (fail, cancel), or 0.
      if (this.status !== 0) a.status = this.status;
      a.bytesIn = this.bytesIn;
      a.bytesOut = this.bytesOut;
      a.durationMs = Math.round((this.ctx.wheel.clock() - this.requestStartedAt) * 1000) / 1000;
      a.server = server?.name ?? "";
      a.retries = this.attempt.retries;
      if (events.exchangeFinished.hasSubscribers) events.exchangeFinished.publish({ plane: this.ctx.plane, record: a });
    }
    this.setCookie = undefined;
    this.attempt.done();
    this.#requestBytes = null;
  }

  /**
   * The gateway could not complete the exchange before any response head went to the
   * client (its callers cut a client that has a head instead): it answers by itself.
   */
  fail(code: ResponseErrorCode, message: string, retryAfter?: number): void {
    countError(this.ctx.counters.errors, code);
    // The log shows what the client got and why; per-server stats keep "no response" (status 0).
    if (this.access !== null) {
      this.access.error = code;
      this.access.status = ERROR_CODES[code].status;
    }
    // A head read but refused (its chunked body is malformed): nothing of it reached the
    // client, whose log line says what it got instead.
    this.status = 0;
    const up = this.upstream;
    this.upstream = null;
    if (up !== null) up.socket.destroy();
    this.end(false);
    this.downstream.reject(code, message, retryAfter);
  }

  /**
   * The session refuses the rest of the request (malformed body) before any response:
   * the upstream side is torn down and the access record says `code`. The session
   * answers the client.
   */
  cancel(code: ResponseErrorCode): void {
    countError(this.ctx.counters.errors, code);
    if (this.access !== null) {
      this.access.error = code;
      this.access.status = ERROR_CODES[code].status;
    }
    this.abort();
  }

  /**
   * The client went away or broke the framing: tear the upstream side down now, and end
   * the exchange (a queued one too: its record says the client left, status 0, as NGINX
   * logs a 499 and HAProxy a client abort while queued). Nothing for an exchange that
   * is over (its record went out then).
   */
  abort(): void {
    if (this.state === X_QUEUED) this.leaveQueue();
    const up = this.upstream;
    this.upstream = null;
    if (up !== null) up.socket.destroy();
    this.end(false);
  }
}
