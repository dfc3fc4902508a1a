import { BAD_CHUNK, NEED_MORE } from "../../codec/http1/body.ts";
import { Head, findHeadEnd, parseResponse } from "../../codec/http1/head.ts";
import { destroyOnInput, type HandledSocket } from "../sockets.ts";
import { trackForwardedBytes } from "../young-gc.ts";
import { HOLD_UPSTREAM } from "./downstream.ts";
import { ExchangeDispatch, T_NONE, T_SERVER, X_NONE } from "./exchange-dispatch.ts";
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BODY_UNTIL_CLOSE, ResponsePlan, planResponse } from "./response.ts";
import { LAST_CHUNK, SSE_CUT, SSE_END, SSE_HEARTBEAT, isEventStream } from "./sse.ts";
import { handOff } from "./upgrade.ts";

/** Longest response head accepted from a server. */
const MAX_RESPONSE_HEAD = 65536;

/** The module's one response head: parsed and forwarded synchronously, so one serves every exchange. */
const RESPONSE_HEAD = new Head();

/**
 * One request and its response, from the pick to the last response byte. The pick,
 * the connection and the accounting are the first half ({@link ExchangeDispatch});
 * this half owns the upstream socket's events: the response head is read and framed
 * ({@link planResponse}), the body streams back with backpressure both ways, an event
 * stream gets heartbeats and a clean end, and a `101` hands both sockets to a tunnel.
 * The client side is its {@link Downstream} (an HTTP/1.1 session or an HTTP/2 stream).
 * One per client connection (or stream), reused from request to request: nothing is
 * allocated per request.
 *
 * @example
 * exchange.start(backend, view, out, reqDone, bodyBytes, access);
 * // ... the session feeds the request body:
 * exchange.requestBody(chunk);
 */
export class Exchange extends ExchangeDispatch {
  /** How the current response is framed back to the client (filled from its head). */
  readonly #plan = new ResponsePlan();
  /** The upstream connection can go back to the pool after this response. */
  #upstreamReusable = false;
  /** The upstream socket is paused because the client's buffer is full. */
  #upstreamHeld = false;

  override endStream(): void {
    const sse = this.sse;
    if (!sse.active) return;
    if (sse.atBoundary(this.responseFramer)) this.#endEventStream();
    else sse.ending = true;
  }

  /** The client's buffer drained: resume reading the response. */
  clientDrained(): void {
    if (this.#upstreamHeld && this.upstream !== null) {
      this.#upstreamHeld = false;
      this.upstream.socket.resume();
    }
  }

  // ---------------------------------------------------------------- the upstream socket

  override onData(s: HandledSocket, chunk: Buffer): void {
    if (s === this.upstream?.socket) this.#onUpstreamData(chunk);
    else s.destroy(); // a connection this exchange gave up (after a retry)
  }

  override onDrain(): void {
    this.downstream.release(HOLD_UPSTREAM);
  }

  override onEnd(s: HandledSocket): void {
    // Events of a connection this exchange already gave up (a retry moved on) are not
    // about the current one.
    if (s === this.upstream?.socket) this.#upstreamGone(false);
  }

  override onClose(s: HandledSocket): void {
    if (s === this.upstream?.socket) this.#upstreamGone(s.errored !== null);
  }

  override onError(): void {}

  override expire(): void {
    const t = this.timer;
    this.timer = T_NONE;
    if (t === T_SERVER) {
      if (this.sse.active) return this.#eventStreamTimer();
      // Armed only while a server and its connection are the exchange's (from the request
      // sent until the response ends; a retry replaces both at once).
      const server = this.attempt.server!;
      // A client that stopped reading the response (its buffer is full, the server's side
      // paused), or that sends its body slower than the server reads it (nothing waits
      // to go out), stalled the exchange, not the server: no passive failure for the
      // server, or slow clients could eject every server.
      const slowClient = this.#upstreamHeld || (!this.requestBodyRead && this.upstream!.socket.writableLength === 0);
      if (!slowClient) this.backend!.passiveFailure(server, this.ctx.wheel.now, "response timeout");
      if (this.responseHeadSent) this.downstream.abort();
      else if (slowClient) this.fail("HF_ERR_BODY_TIMEOUT", "the request body did not arrive within the server timeout");
      else this.fail("HF_ERR_UPSTREAM_TIMEOUT", `server ${server.name} did not answer in time`);
    } else {
      // T_QUEUE: the wheel runs only armed timers, and disarming sets T_NONE.
      this.leaveQueue();
      this.fail("HF_ERR_QUEUE_TIMEOUT", `every server of backend ${this.backend!.name} is at maxConn and none freed up within queueTimeout`, 1);
    }
  }

  #onUpstreamData(chunk: Buffer): void {
    const sse = this.sse;
    if (sse.active) {
      sse.lastData = this.ctx.wheel.now; // the stream's timer reads it when it fires
      sse.started = true;
    } else if (this.deadline !== 0) this.deadline = this.ctx.wheel.now + this.backend!.config.timeouts.server;
    if (this.responseHeadSent) {
      trackForwardedBytes(chunk.length);
      this.bytesOut += chunk.length;
      const r = this.responseFramer.scan(chunk, 0, chunk.length);
      if (r === BAD_CHUNK) return this.downstream.abort();
      if (r === NEED_MORE) {
        if (!this.downstream.responseBody(chunk)) this.#holdUpstream();
        if (sse.ending && sse.atBoundary(this.responseFramer)) this.#endEventStream();
        return;
      }
      if (r < chunk.length) this.#upstreamReusable = false; // bytes after the response: out of sync
      this.downstream.responseBody(r === chunk.length ? chunk : chunk.subarray(0, r));
      return this.#responseDone();
    }
    let buf = this.partialResponseHead === null ? chunk : Buffer.concat([this.partialResponseHead, chunk]);
    for (;;) {
      const end = findHeadEnd(buf, 0, buf.length);
      // Over the limit whether it came in pieces or in one read (a whole head found in
      // one buffer was once let through).
      if (end === -1 ? buf.length > MAX_RESPONSE_HEAD : end > MAX_RESPONSE_HEAD) return this.fail("HF_ERR_BAD_RESPONSE", "the server sent an oversized response head");
      if (end === -1) {
        this.partialResponseHead = buf;
        return;
      }
      if (end < 0 || parseResponse(buf, end, RESPONSE_HEAD) !== 0) {
        return this.fail("HF_ERR_BAD_RESPONSE", `server ${this.attempt.server!.name} sent a malformed response`);
      }
      const status = RESPONSE_HEAD.status;
      if (status >= 200 || status === 101) return this.#responseHead(buf, end);
      // 1xx (100 Continue, 103 Early Hints): forward and wait for the final response.
      this.downstream.interim(buf, RESPONSE_HEAD);
      buf = buf.subarray(end);
      if (buf.length === 0) {
        this.partialResponseHead = null;
        return;
      }
    }
  }

  #responseHead(buf: Buffer, end: number): void {
    this.partialResponseHead = null;
    this.latency = this.ctx.wheel.clock() - this.connectStartedAt;
    if (RESPONSE_HEAD.status === 101) {
      if (!this.facts.upgrade) return this.fail("HF_ERR_BAD_RESPONSE", "the server switched protocols without being asked");
      return this.#becomeTunnel(buf, end);
    }
    const status = RESPONSE_HEAD.status;
    this.status = status;
    const server = this.attempt.server!;
    const backend = this.backend!;
    if (status >= 500 && backend.config.passive?.on5xx === true) backend.passiveFailure(server, this.ctx.wheel.now, `status ${status}`);
    else backend.passiveSuccess(server);
    const plan = this.#plan;
    planResponse(RESPONSE_HEAD, this.facts.isHead, plan);
    const framer = this.responseFramer;
    if (plan.body === BODY_NONE) framer.none();
    else if (plan.body === BODY_CHUNKED) framer.startChunked();
    else if (plan.body === BODY_LENGTH) framer.startLength(RESPONSE_HEAD.contentLength);
    else framer.startUntilClose();
    this.#upstreamReusable = plan.upstreamReusable;
    const stream = (plan.body === BODY_CHUNKED || plan.body === BODY_UNTIL_CLOSE) && isEventStream(buf, RESPONSE_HEAD);
    // (No event stream of an earlier response is still active: every end of an exchange stops it.)
    if (stream) this.beginEventStream(this.ctx.wheel.now, buf.length > end);
    // A response before the whole request body (Expect: 100-continue refused, 413...)
    // ends the client's connection: say so in its head (#responseDone closes it).
    if (plan.closeClient || !this.requestBodyRead) this.downstream.closeAfterExchange();
    // A framer that is done already (no body) finds its end at `end`.
    const r = framer.scan(buf, end, buf.length);
    if (r === BAD_CHUNK) return this.fail("HF_ERR_BAD_RESPONSE", `server ${server.name} sent a malformed chunked body`);
    const bodyEnd = r >= 0 ? r : buf.length;
    if (bodyEnd < buf.length) this.#upstreamReusable = false;
    this.bytesOut += buf.length;
    this.responseHeadSent = true;
    if (!this.downstream.responseHead(buf, RESPONSE_HEAD, end, bodyEnd, this.facts, this.setCookie)) this.#holdUpstream();
    if (framer.done) this.#responseDone();
    // Its head is out: an event stream now lives under the tunnel's idle limit.
    else if (stream) this.arm(T_SERVER, backend.config.sse?.heartbeat ?? backend.config.timeouts.tunnel);
  }

  /** The event stream's timer: a heartbeat, the end of a stream idle past timeouts.tunnel, or more waiting. */
  #eventStreamTimer(): void {
    const cfg = this.backend!.config;
    const sse = this.sse;
    const v = sse.check(this.responseFramer, { idleMs: cfg.timeouts.tunnel, heartbeatMs: cfg.sse?.heartbeat }, this.ctx.wheel.now);
    if (v === SSE_END) return this.#endEventStream();
    if (v === SSE_CUT) return this.downstream.abort();
    // A client that does not read gets no heartbeat piled on (its buffer is full).
    if (v === SSE_HEARTBEAT && !this.#upstreamHeld) {
      const beat = sse.heartbeat(this.responseFramer);
      this.bytesOut += beat.length;
      this.downstream.responseBody(beat);
    }
    this.arm(T_SERVER, sse.next);
  }

  /** Ends an event stream at an event boundary: the last chunk (when chunked), then both connections close. */
  #endEventStream(): void {
    const framer = this.responseFramer;
    if (!framer.untilClose) this.downstream.responseBody(LAST_CHUNK);
    this.stopEventStream();
    this.#upstreamReusable = false;
    this.downstream.closeAfterExchange();
    this.#responseDone();
  }

  #responseDone(): void {
    if (!this.requestBodyRead) {
      // The server answered before reading the whole request body (413, redirect...):
      // neither connection is in a known state any more.
      this.#upstreamReusable = false;
      this.downstream.closeAfterExchange();
    }
    const up = this.upstream!;
    this.upstream = null;
    if (this.#upstreamReusable && this.backend!.config.proxyProtocol === undefined) {
      if (this.#upstreamHeld) up.socket.resume();
      up.server.release(up);
    } else up.socket.destroy();
    this.#upstreamHeld = false;
    this.end(true);
    this.downstream.exchangeDone();
  }

  /** The upstream connection ended or broke during an exchange. */
  #upstreamGone(errored: boolean): void {
    // Its callers checked the socket is the current upstream's, which the exchange holds
    // (as the socket's handler) only from the request sent (X_SENT) until it lets go.
    const up = this.upstream!;
    if (this.responseHeadSent) {
      // (A body framed by close was planned not reusable.)
      if (this.responseFramer.untilClose && !errored) return this.#responseDone();
      return this.downstream.abort(); // truncated response: the client must see a broken connection
    }
    this.upstream = null;
    const reused = up.reused;
    up.socket.handler = destroyOnInput;
    up.socket.destroy();
    const server = this.attempt.server!;
    const backend = this.backend!;
    backend.end(server, 0, false, this.ctx.wheel.now);
    this.attempt.server = null;
    if (this.retry(server, "reset-before-response", reused)) return;
    backend.passiveFailure(server, this.ctx.wheel.now, "closed before answering");
    this.fail("HF_ERR_UPSTREAM_RESET", `server ${server.name} closed the connection before answering`);
  }

  #becomeTunnel(buf: Buffer, end: number): void {
    const up = this.upstream!;
    const server = this.attempt.server!;
    const backend = this.backend!;
    this.upstream = null;
    this.disarm();
    this.state = X_NONE;
    const access = this.access;
    this.access = null;
    if (access !== null) {
      access.status = 101;
      access.server = server.name;
      access.durationMs = Math.round((this.ctx.wheel.clock() - this.requestStartedAt) * 1000) / 1000;
      access.retries = this.attempt.retries;
    }
    const setCookie = this.setCookie;
    this.setCookie = undefined;
    this.attempt.done();
    const { socket, rest } = this.downstream.takeOver(buf, RESPONSE_HEAD, setCookie);
    handOff(this.ctx, socket, up.socket, server, backend, this.facts, this.latency, access, rest, buf, end);
  }

  /** Called while a response flows: its upstream is the current one. */
  #holdUpstream(): void {
    if (!this.#upstreamHeld) {
      this.#upstreamHeld = true;
      this.upstream!.socket.pause();
    }
  }
}
