import type { HttpListenerConfig } from "../../config/types.ts";
import type { AccessRecord } from "../access-log.ts";
import type { Backend, QueueWaiter } from "../backend.ts";
import type { TimerWheel, Expirable } from "../timer-wheel.ts";
import { BAD_CHUNK, BodyFramer, NEED_MORE } from "../../codec/http1/body.ts";
import { Head, HeadError, findHeadEnd, findHeader as findHeaderIndex, headErrorText, parseRequest, parseResponse } from "../../codec/http1/head.ts";
import { ForwardInfo, writeRequestHead, writeResponseHead } from "../../codec/http1/write.ts";
import { errorResponse } from "./responses.ts";
import { streamed } from "../young-gc.ts";
import { shouldRetry } from "../../core/plan/retry.ts";
import { VIEW } from "./request-view.ts";
import { FORBIDDEN, NO_ROUTE, type Router } from "../routes.ts";
import { discard, ignore, type HfSocket, type SocketHandler } from "../sockets.ts";
import { Tunnel, type TunnelOwner } from "../tunnel/tunnel.ts";
import { WsTracking } from "../tunnel/ws-tracking.ts";
import { acceptThenClose } from "./ws-refuse.ts";
import { jitteredRetryAfter } from "../../core/plan/token-bucket.ts";
import { CloseCode } from "../../protocol/close.ts";
import { ERROR_CODES, type ResponseErrorCode } from "../../errors.ts";
import { events } from "../diagnostics.ts";
import { equalsLower } from "../../codec/http1/chars.ts";
import type { UpstreamConn, UpstreamFailure, UpstreamServer, UpstreamWaiter } from "../upstream.ts";

/**
 * One client connection of an HTTP listener: reads request heads with the strict
 * scanner, forwards the original bytes (hop-by-hop lines removed, X-Forwarded-* added)
 * to a pooled upstream connection, streams bodies both ways with backpressure, and
 * hands the two sockets to a {@link Tunnel} after a `101`. Requests on a connection are
 * handled one at a time; pipelined requests wait, unread, until the response before
 * them is complete.
 *
 * Heads are parsed into two module-level {@link Head} objects: a head is parsed and
 * forwarded synchronously, so one of each serves every connection and an idle
 * keep-alive connection holds no parser memory.
 */

const REQ = new Head();
const RES = new Head();

/** What a session needs from its listener. */
export interface HttpListenerContext {
  /** Replaced in place by a reload (sessions read it per request). */
  cfg: HttpListenerConfig;
  router: Router;
  readonly wheel: TimerWheel;
  readonly proto: "http" | "https";
  readonly sessions: Set<HttpSession>;
  readonly tunnels: Set<Tunnel>;
  readonly counters: { admissionRejected: number };
  /** Ends the accounting of the listener's tunnels (created with the first one). */
  tunnelOwner?: HttpTunnelOwner;
  /** The data plane, named as the source of the events published here. */
  readonly plane: object;
}

const ST_IDLE = 0; // between requests
const ST_HEAD = 1; // part of a request head received
const ST_CONNECTING = 2; // waiting for an upstream connection
const ST_EXCHANGE = 3; // request sent or being sent; response expected or flowing
const ST_CLOSED = 4;
const ST_QUEUED = 5; // waiting for a server below maxConn

const T_NONE = 0, T_HEADERS = 1, T_IDLE = 2, T_SERVER = 3, T_QUEUE = 4;

const HOLD_PIPELINE = 1; // a complete request is buffered behind the current one
const HOLD_UPSTREAM = 2; // the upstream's write buffer is full
const HOLD_CONNECT = 4; // no upstream connection yet

/** Longest response head accepted from a server. */
const MAX_RESPONSE_HEAD = 65536;

export class HttpSession implements SocketHandler, UpstreamWaiter, Expirable, QueueWaiter {
  readonly socket: HfSocket;
  readonly #ctx: HttpListenerContext;
  readonly #fwd: ForwardInfo;
  #state = ST_IDLE;
  /** Unparsed client bytes: a partial head, or requests pipelined behind the current one. */
  #buf: Buffer | null = null;
  #scanFrom = 0;
  #hold = 0;
  #upHeld = false;
  // the current exchange
  #backend: Backend | null = null;
  #server: UpstreamServer | null = null;
  #up: UpstreamConn | null = null;
  #out: Buffer | null = null;
  #early: Buffer[] | null = null;
  #tried: UpstreamServer[] | null = null;
  #attempts = 0;
  #reqDone = false;
  #replayable = false;
  #idempotent = false;
  #isHeadReq = false;
  #upgrade = false;
  #clientVersion = 11;
  #closeAfter = false;
  #clientEnded = false;
  #resBuf: Buffer | null = null;
  #resHeadSent = false;
  #upReusable = false;
  #startedAt = 0;
  #reqStart = 0;
  #latency = 0;
  #method = 0;
  #status = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #setCookie: string | undefined = undefined;
  #access: AccessRecord | null = null;
  /** No request has been sent upstream on this client connection yet (admission counts it). */
  #fresh = true;
  #websocket = false;
  #wsKey: string | undefined = undefined;
  readonly #reqBody = new BodyFramer();
  readonly #resBody = new BodyFramer();
  deadline = 0;
  wheelSlot = -1;
  #timer = T_NONE;

  constructor(socket: HfSocket, ctx: HttpListenerContext) {
    this.socket = socket;
    this.#ctx = ctx;
    let ip = socket.remoteAddress ?? "";
    if (ip.startsWith("::ffff:")) ip = ip.slice(7);
    this.#fwd = new ForwardInfo(ip, ctx.proto);
    socket.hf = this;
    ctx.sessions.add(this);
    this.#arm(T_IDLE, ctx.cfg.timeouts.clientIdle);
  }

  /** Name of the listener that accepted the connection. */
  get listener(): string {
    return this.#ctx.cfg.name;
  }

  get clientIp(): string {
    return this.#fwd.ip;
  }

  /** True between requests: a graceful stop may close it at once. */
  get idle(): boolean {
    return this.#state === ST_IDLE && this.#buf === null;
  }

  /** Ask the session to close after the current exchange (graceful stop, drain). */
  closeWhenIdle(): void {
    this.#closeAfter = true;
    if (this.idle) this.#close();
  }

  // ---------------------------------------------------------------- socket events

  onData(s: HfSocket, chunk: Buffer): void {
    if (s === this.socket) this.#onClientData(chunk);
    else if (s === this.#up?.socket) this.#onUpstreamData(chunk);
    else s.destroy(); // a connection this session gave up (after a retry)
  }

  onDrain(s: HfSocket): void {
    if (s === this.socket) {
      if (this.#upHeld && this.#up !== null) {
        this.#upHeld = false;
        this.#up.socket.resume();
      }
    } else this.#release(HOLD_UPSTREAM);
  }

  onEnd(s: HfSocket): void {
    if (s === this.socket) {
      this.#clientEnded = true;
      if (this.#state === ST_IDLE || this.#state === ST_HEAD) this.#close();
      else this.#closeAfter = true;
      return;
    }
    // Events of a connection this session already gave up (a retry moved on) are not
    // about the current one.
    if (s === this.#up?.socket) this.#upstreamGone(false);
  }

  onClose(s: HfSocket): void {
    if (s === this.socket) {
      this.#abort();
      return;
    }
    if (s === this.#up?.socket) this.#upstreamGone(s.errored !== null);
  }

  onError(): void {}

  expire(): void {
    const t = this.#timer;
    this.#timer = T_NONE;
    if (t === T_HEADERS) this.#reject("HF_ERR_HEAD_TIMEOUT", "the request head did not arrive in time");
    else if (t === T_IDLE) this.#close();
    else if (t === T_SERVER) {
      const server = this.#server;
      if (server !== null) this.#backend!.passiveFailure(server, this.#ctx.wheel.now, "response timeout");
      if (!this.#resHeadSent) this.#fail("HF_ERR_UPSTREAM_TIMEOUT", `server ${server?.name ?? "?"} did not answer in time`);
      else this.#abort();
    } else if (t === T_QUEUE) {
      this.#leaveQueue();
      this.#fail("HF_ERR_QUEUE_TIMEOUT", `every server of backend ${this.#backend!.name} is at maxConn and none freed up within queueTimeout`, 1);
    }
  }

  // ---------------------------------------------------------------- client side

  #onClientData(chunk: Buffer): void {
    const st = this.#state;
    if (st === ST_IDLE || st === ST_HEAD) {
      this.#buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#readHead();
    } else if (st === ST_CONNECTING || st === ST_EXCHANGE || st === ST_QUEUED) {
      const body = this.#reqDone ? null : this.#takeBody(chunk);
      if (body === null) return;
      streamed(body.length);
      this.#bytesIn += body.length;
      if (st !== ST_EXCHANGE || this.#up === null) {
        (this.#early ??= []).push(body);
        this.#holdClient(HOLD_CONNECT);
      } else if (!this.#up.socket.write(body)) this.#holdClient(HOLD_UPSTREAM);
    }
  }

  /** Splits a chunk at the end of the request body; bytes after it wait (pipelining). */
  #takeBody(chunk: Buffer): Buffer | null {
    const r = this.#reqBody.scan(chunk, 0, chunk.length);
    if (r === BAD_CHUNK) {
      this.#abort();
      return null;
    }
    if (r === NEED_MORE) return chunk;
    this.#reqDone = true;
    if (r < chunk.length) this.#keep(chunk.subarray(r));
    return chunk.subarray(0, r);
  }

  #keep(rest: Buffer): void {
    this.#buf = this.#buf === null ? rest : Buffer.concat([this.#buf, rest]);
    this.#holdClient(HOLD_PIPELINE);
  }

  #readHead(): void {
    const buf = this.#buf!;
    const cfg = this.#ctx.cfg;
    const end = findHeadEnd(buf, this.#scanFrom, buf.length);
    if (end === -1) {
      if (buf.length > cfg.maxHeaderSize) return this.#reject("HF_ERR_HEAD_TOO_LARGE", "the request head is too large");
      if (this.#state === ST_IDLE) {
        this.#state = ST_HEAD;
        this.#arm(T_HEADERS, cfg.timeouts.requestHeaders);
      }
      this.#scanFrom = Math.max(0, buf.length - 3);
      return;
    }
    if (end < 0) return this.#reject("HF_ERR_BAD_REQUEST", headErrorText[HeadError.BARE_LF]);
    if (end > cfg.maxHeaderSize) return this.#reject("HF_ERR_HEAD_TOO_LARGE", "the request head is too large");
    this.#scanFrom = 0;
    const err = parseRequest(buf, end, REQ);
    if (err !== 0) {
      return this.#reject(err === HeadError.UNSUPPORTED_CODING && REQ.version === 11 ? "HF_ERR_UNSUPPORTED_CODING" : "HF_ERR_BAD_REQUEST", headErrorText[err as 1]);
    }
    this.#startExchange(buf, end);
  }

  #startExchange(buf: Buffer, end: number): void {
    const route = this.#ctx.router.route(buf, REQ, this.#fwd.ip);
    if (route === FORBIDDEN) return this.#reject("HF_ERR_FORBIDDEN", "your address is not allowed on this route");
    if (route === NO_ROUTE) return this.#reject("HF_ERR_NO_ROUTE", "no route matches this request");
    const backend = route;
    this.#backend = backend;
    this.#isHeadReq = REQ.isHead;
    this.#method = REQ.method;
    this.#status = 0;
    this.#idempotent = REQ.idempotent;
    this.#clientVersion = REQ.version;
    this.#upgrade = REQ.wantsUpgrade;
    this.#websocket = false;
    this.#wsKey = undefined;
    if (this.#upgrade) {
      const u = REQ.upgrade;
      this.#websocket = equalsLower(buf, REQ.spans[(u << 2) + 2]!, REQ.spans[(u << 2) + 3]!, "websocket");
      if (this.#websocket && backend.config.admission !== undefined) {
        const k = findHeaderIndex(buf, REQ, "sec-websocket-key");
        if (k >= 0) this.#wsKey = buf.toString("latin1", REQ.spans[(k << 2) + 2]!, REQ.spans[(k << 2) + 3]!);
      }
    }
    if (REQ.connClose || (REQ.version === 10 && !REQ.connKeepAlive) || this.#clientEnded) this.#closeAfter = true;
    const rb = this.#reqBody;
    if (REQ.chunked) rb.startChunked();
    else if (REQ.contentLength > 0) rb.startLength(REQ.contentLength);
    else rb.none();
    let bodyEnd = end;
    if (!rb.done) {
      const r = rb.scan(buf, end, buf.length);
      if (r === BAD_CHUNK) return this.#reject("HF_ERR_BAD_REQUEST", "malformed chunked body");
      bodyEnd = r === NEED_MORE ? buf.length : r;
    }
    this.#reqDone = rb.done;
    // Bytes after the request wait; after an upgrade request they belong to the new
    // protocol and go through the tunnel.
    this.#buf = null;
    if (bodyEnd < buf.length) this.#keep(buf.subarray(bodyEnd));
    this.#out = writeRequestHead(buf, REQ, this.#fwd, this.#upgrade, buf, end, bodyEnd);
    this.#replayable = this.#reqDone;
    this.#attempts = 0;
    this.#tried = null;
    this.#resHeadSent = false;
    this.#resBuf = null;
    this.#bytesIn = bodyEnd;
    this.#bytesOut = 0;
    // The access record is built only while someone listens (the access log, when on).
    if (events.exchangeFinished.hasSubscribers || (this.#upgrade && events.tunnelClosed.hasSubscribers)) this.#access = this.#accessRecord(buf, backend.name);
    this.#disarm();
    this.#pick(buf);
  }

  #accessRecord(buf: Buffer, backend: string): AccessRecord {
    this.#reqStart = this.#ctx.wheel.clock();
    const host = REQ.host >= 0 ? buf.toString("latin1", REQ.spans[(REQ.host << 2) + 2]!, REQ.spans[(REQ.host << 2) + 3]!) : "";
    return {
      client: this.#fwd.ip,
      listener: this.#ctx.cfg.name,
      method: buf.toString("latin1", 0, REQ.methodEnd),
      host,
      path: buf.toString("latin1", REQ.targetStart, REQ.targetEnd),
      status: 0,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 0,
      backend,
      server: "",
      retries: 0,
      upstreamReused: false,
    };
  }

  #logAccess(server: UpstreamServer | null, status: number, tunnelMs?: number): void {
    const a = this.#access!;
    this.#access = null;
    if (status !== 0 || a.status === 0) a.status = status;
    a.bytesIn = this.#bytesIn;
    a.bytesOut = this.#bytesOut;
    a.durationMs = Math.round((this.#ctx.wheel.clock() - this.#reqStart) * 1000) / 1000;
    a.server = server?.name ?? "";
    a.retries = Math.max(0, this.#attempts - 1);
    if (tunnelMs !== undefined) a.tunnelMs = tunnelMs;
    if (events.exchangeFinished.hasSubscribers) events.exchangeFinished.publish({ plane: this.#ctx.plane, record: a });
  }

  /** Picks a server (stickiness, hash key, policy) and connects, or queues, or answers 503. */
  #pick(buf: Buffer | null): void {
    const backend = this.#backend!;
    const wheel = this.#ctx.wheel;
    const server = backend.select(VIEW.reset(buf, buf === null ? null : REQ, this.#fwd.ip), this.#ctx.proto === "https", wheel.now);
    if (buf !== null) this.#setCookie = backend.setCookie;
    if (server !== undefined) {
      if ((this.#fresh || this.#upgrade) && backend.config.admission !== undefined) {
        const wait = backend.admit(server, wheel.now);
        if (wait > 0) return this.#refuseAdmission(backend, server, wait);
      }
      this.#fresh = false;
      return this.#connect(server);
    }
    if (backend.saturated) {
      if (this.#state !== ST_QUEUED) {
        this.#state = ST_QUEUED;
        this.#holdClient(HOLD_CONNECT);
        this.#arm(T_QUEUE, backend.config.queueTimeout);
      }
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
    if (events.admissionRefused.hasSubscribers) {
      events.admissionRefused.publish({ plane: this.#ctx.plane, listener: this.#ctx.cfg.name, backend, server, websocket: this.#websocket });
    }
    if (this.#websocket) {
      const res = acceptThenClose(this.#wsKey, CloseCode.TRY_AGAIN_LATER, hint.ms);
      if (res !== null) {
        this.#endExchange(false);
        return this.#respondAndClose(res);
      }
    }
    this.#fail("HF_ERR_ADMISSION", `server ${server.name} of backend ${backend.name} is admitting no more new connections right now`, hint.seconds);
  }

  onQueueReady(): void {
    if (this.#state !== ST_QUEUED) return;
    // Stickiness and hash keys were decided on the head, which is gone by now: a queued
    // request takes whichever server frees up first.
    const backend = this.#backend!;
    const server = backend.select(VIEW.reset(null, null, this.#fwd.ip), this.#ctx.proto === "https", this.#ctx.wheel.now);
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

  // ---------------------------------------------------------------- upstream side

  #connect(server: UpstreamServer): void {
    this.#state = ST_CONNECTING;
    this.#attempts++;
    this.#server = server;
    this.#backend!.begin(server);
    this.#startedAt = this.#ctx.wheel.clock();
    const conn = server.acquire(this);
    this.#up = conn;
    if (conn.reused) this.onUpstreamReady(conn);
    else this.#holdClient(HOLD_CONNECT);
  }

  onUpstreamReady(conn: UpstreamConn): void {
    if (this.#state !== ST_CONNECTING || this.#up !== conn) {
      conn.server.release(conn);
      return;
    }
    conn.socket.hf = this;
    this.#state = ST_EXCHANGE;
    if (this.#access !== null) this.#access.upstreamReused = conn.reused;
    const s = conn.socket;
    const out = this.#out!;
    if (!this.#replayable) this.#out = null;
    let ok = s.write(out);
    const early = this.#early;
    if (early !== null) {
      this.#early = null;
      for (const b of early) ok = s.write(b);
    }
    this.#release(HOLD_CONNECT);
    if (!ok) this.#holdClient(HOLD_UPSTREAM);
    this.#arm(T_SERVER, this.#backend!.config.timeouts.server);
  }

  onUpstreamFailed(conn: UpstreamConn, why: UpstreamFailure): void {
    if (this.#up !== conn) return;
    this.#up = null;
    const server = this.#server!;
    const now = this.#ctx.wheel.now;
    this.#backend!.end(server, 0, false, now);
    this.#backend!.passiveFailure(server, now, why === "timeout" ? "connect timeout" : "connect failed");
    this.#server = null;
    if (this.#retry(server, "connect")) return;
    if (why === "timeout") this.#fail("HF_ERR_CONNECT_TIMEOUT", `connecting to server ${server.name} timed out`);
    else this.#fail("HF_ERR_CONNECT_REFUSED", `server ${server.name} could not be reached (${why === "refused" ? "connection refused" : "connection error"})`);
  }

  #retry(failed: UpstreamServer, kind: "connect" | "reset-before-response"): boolean {
    const backend = this.#backend!;
    const state = {
      attempts: this.#attempts,
      maxRetries: backend.config.retries,
      idempotent: this.#idempotent,
      replayable: this.#replayable && this.#out !== null,
    };
    if (!shouldRetry(kind, state)) return false;
    (this.#tried ??= []).push(failed);
    // Another server when there is one; a broken keep-alive connection may go back to
    // the same server (on a fresh connection) when it is the only one.
    let next = backend.select(VIEW.reset(null, null, this.#fwd.ip), this.#ctx.proto === "https", this.#ctx.wheel.now, this.#tried);
    if (next === undefined && kind === "reset-before-response" && failed.available) next = failed;
    if (next === undefined) return false;
    // Stickiness re-issues its cookie for the server the retry moved to.
    if (next !== failed && backend.setCookie !== undefined) this.#setCookie = backend.setCookie;
    failed.stats.retries++;
    this.#connect(next);
    return true;
  }

  #onUpstreamData(chunk: Buffer): void {
    if (this.deadline !== 0) this.deadline = this.#ctx.wheel.now + this.#backend!.config.timeouts.server;
    if (this.#resHeadSent) {
      streamed(chunk.length);
      this.#bytesOut += chunk.length;
      const r = this.#resBody.scan(chunk, 0, chunk.length);
      if (r === BAD_CHUNK) return this.#abort();
      if (r === NEED_MORE) {
        if (!this.socket.write(chunk)) this.#holdUpstream();
        return;
      }
      if (r < chunk.length) this.#upReusable = false; // bytes after the response: out of sync
      this.socket.write(r === chunk.length ? chunk : chunk.subarray(0, r));
      return this.#responseDone();
    }
    let buf = this.#resBuf === null ? chunk : Buffer.concat([this.#resBuf, chunk]);
    for (;;) {
      const end = findHeadEnd(buf, 0, buf.length);
      if (end === -1) {
        if (buf.length > MAX_RESPONSE_HEAD) return this.#fail("HF_ERR_BAD_RESPONSE", "the server sent an oversized response head");
        this.#resBuf = buf;
        return;
      }
      if (end < 0 || parseResponse(buf, end, RES) !== 0) {
        return this.#fail("HF_ERR_BAD_RESPONSE", `server ${this.#server!.name} sent a malformed response`);
      }
      const status = RES.status;
      if (status >= 200 || status === 101) return this.#responseHead(buf, end);
      // 1xx (100 Continue, 103 Early Hints): forward and wait for the final response.
      this.socket.write(writeResponseHead(buf, RES, "", null, 0, 0));
      buf = buf.subarray(end);
      if (buf.length === 0) {
        this.#resBuf = null;
        return;
      }
    }
  }

  #responseHead(buf: Buffer, end: number): void {
    this.#resBuf = null;
    this.#latency = this.#ctx.wheel.clock() - this.#startedAt;
    if (RES.status === 101) {
      if (!this.#upgrade) return this.#fail("HF_ERR_BAD_RESPONSE", "the server switched protocols without being asked");
      return this.#becomeTunnel(buf, end);
    }
    const rb = this.#resBody;
    const status = RES.status;
    this.#status = status;
    const server = this.#server!;
    if (status >= 500 && this.#backend!.config.passive?.on5xx === true) {
      this.#backend!.passiveFailure(server, this.#ctx.wheel.now, `status ${status}`);
    } else this.#backend!.passiveSuccess(server);
    if (this.#isHeadReq || status === 204 || status === 304) rb.none();
    else if (RES.chunked) rb.startChunked();
    else if (RES.contentLength >= 0) rb.startLength(RES.contentLength);
    else rb.startUntilClose();
    this.#upReusable = !(RES.connClose || (RES.version === 10 && !RES.connKeepAlive) || rb.untilClose);
    // A body delimited by the server's close can only be delimited the same way for the client.
    if (rb.untilClose) this.#closeAfter = true;
    this.#upgrade = false;
    let bodyEnd = buf.length;
    if (!rb.done || rb.untilClose) {
      const r = rb.scan(buf, end, buf.length);
      if (r === BAD_CHUNK) return this.#fail("HF_ERR_BAD_RESPONSE", `server ${this.#server!.name} sent a malformed chunked body`);
      if (r >= 0) bodyEnd = r;
    } else bodyEnd = end;
    if (bodyEnd < buf.length) this.#upReusable = false;
    let extra = this.#closeAfter ? "Connection: close\r\n" : this.#clientVersion === 10 ? "Connection: keep-alive\r\n" : "";
    if (this.#setCookie !== undefined) extra += `Set-Cookie: ${this.#setCookie}\r\n`;
    this.#bytesOut += buf.length;
    this.#resHeadSent = true;
    if (!this.socket.write(writeResponseHead(buf, RES, extra, buf, end, bodyEnd))) this.#holdUpstream();
    if (rb.done) this.#responseDone();
  }

  #responseDone(): void {
    if (!this.#reqDone) {
      // The server answered before reading the whole request body (413, redirect...):
      // neither connection is in a known state any more.
      this.#upReusable = false;
      this.#closeAfter = true;
    }
    const up = this.#up!;
    this.#up = null;
    if (this.#upReusable) {
      if (this.#upHeld) up.socket.resume();
      up.server.release(up);
    } else up.socket.destroy();
    this.#upHeld = false;
    this.#endExchange(true);
    if (this.#closeAfter) return this.#close();
    this.#state = ST_IDLE;
    this.#arm(T_IDLE, this.#ctx.cfg.timeouts.clientIdle);
    this.#release(HOLD_PIPELINE);
    if (this.#buf !== null) this.#readHead();
  }

  #endExchange(ok: boolean): void {
    const server = this.#server;
    if (server !== null) {
      this.#backend!.end(server, this.#latency, ok, this.#ctx.wheel.now);
      server.stats.response(this.#method, this.#status, this.#latency, this.#bytesIn, this.#bytesOut);
    }
    if (this.#access !== null) this.#logAccess(server, this.#status);
    this.#setCookie = undefined;
    this.#server = null;
    this.#out = null;
    this.#early = null;
    this.#tried = null;
  }

  /** The upstream connection ended or broke during an exchange. */
  #upstreamGone(errored: boolean): void {
    const up = this.#up;
    if (up === null || this.#state !== ST_EXCHANGE) return;
    if (this.#resHeadSent) {
      if (this.#resBody.untilClose && !errored) {
        this.#upReusable = false;
        return this.#responseDone();
      }
      return this.#abort(); // truncated response: the client must see a broken connection
    }
    this.#up = null;
    up.socket.hf = discard;
    up.socket.destroy();
    const server = this.#server!;
    this.#backend!.end(server, 0, false, this.#ctx.wheel.now);
    this.#server = null;
    if (this.#retry(server, "reset-before-response")) return;
    this.#backend!.passiveFailure(server, this.#ctx.wheel.now, "closed before answering");
    this.#fail("HF_ERR_UPSTREAM_RESET", `server ${server.name} closed the connection before answering`);
  }

  #becomeTunnel(buf: Buffer, end: number): void {
    const up = this.#up!;
    const server = this.#server!;
    const backend = this.#backend!;
    this.#up = null;
    this.#disarm();
    this.#state = ST_CLOSED;
    this.#ctx.sessions.delete(this);
    // Connection is hop-by-hop and was dropped; a 101 needs its own (RFC 9110 §7.8).
    const cookie = this.#setCookie === undefined ? "" : `Set-Cookie: ${this.#setCookie}\r\n`;
    this.socket.write(writeResponseHead(buf, RES, `Connection: upgrade\r\n${cookie}`, null, 0, 0));
    server.stats.tunnelsOpened++;
    backend.passiveSuccess(server);
    const method = this.#method;
    const access = this.#access;
    this.#access = null;
    if (access !== null) {
      access.status = 101;
      access.server = server.name;
      access.durationMs = Math.round((this.#ctx.wheel.clock() - this.#reqStart) * 1000) / 1000;
      access.retries = Math.max(0, this.#attempts - 1);
    }
    const ws = this.#websocket ? new WsTracking(backend.config.websocket) : null;
    // The owner is shared by the listener's tunnels: the session itself is not kept alive
    // by an open tunnel (memory per idle WebSocket matters).
    const owner = (this.#ctx.tunnelOwner ??= new HttpTunnelOwner(this.#ctx));
    const t = new Tunnel(this.socket, up.socket, this.#ctx.wheel, backend.config.timeouts.tunnel, owner, server, backend, ws);
    t.latencyMs = this.#latency;
    t.method = method;
    t.access = access;
    t.listener = this.#ctx.cfg.name;
    this.#ctx.tunnels.add(t);
    if (events.tunnelOpened.hasSubscribers) events.tunnelOpened.publish({ plane: this.#ctx.plane, tunnel: t, record: access });
    const early = this.#buf;
    this.#buf = null;
    t.start(early, end < buf.length ? buf.subarray(end) : null);
  }

  // ---------------------------------------------------------------- flow control

  #holdClient(reason: number): void {
    if (this.#hold === 0) this.socket.pause();
    this.#hold |= reason;
  }

  #release(reason: number): void {
    if (this.#hold === 0) return;
    this.#hold &= ~reason;
    if (this.#hold === 0) this.socket.resume();
  }

  #holdUpstream(): void {
    if (this.#up !== null && !this.#upHeld) {
      this.#upHeld = true;
      this.#up.socket.pause();
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

  /** Malformed or refused request: answer, close, forward nothing. */
  #reject(code: ResponseErrorCode, message: string): void {
    this.#buf = null;
    this.#respondAndClose(errorResponse(ERROR_CODES[code].status, message));
  }

  /** The gateway could not complete the exchange: answer if nothing was sent yet. */
  #fail(code: ResponseErrorCode, message: string, retryAfter?: number): void {
    const status = ERROR_CODES[code].status;
    // The log shows what the client got and why; per-server stats keep "no response" (status 0).
    if (this.#access !== null) {
      this.#access.error = code;
      if (!this.#resHeadSent) this.#access.status = status;
    }
    const up = this.#up;
    this.#up = null;
    if (up !== null) up.socket.destroy();
    this.#endExchange(false);
    if (this.#resHeadSent) return this.#abort();
    this.#respondAndClose(errorResponse(status, message, retryAfter));
  }

  #respondAndClose(response: Buffer): void {
    this.#disarm();
    this.#state = ST_CLOSED;
    this.#ctx.sessions.delete(this);
    const s = this.socket;
    s.hf = ignore;
    s.end(response);
    // Read and drop whatever else the client sends until it closes, for a short while.
    s.setTimeout(5000, s.destroy);
    s.resume();
  }

  #close(): void {
    if (this.#state === ST_CLOSED) return;
    this.#disarm();
    this.#state = ST_CLOSED;
    this.#ctx.sessions.delete(this);
    this.socket.hf = discard;
    this.socket.end();
  }

  /** Tear everything down now (client gone, broken framing, truncated response). */
  #abort(): void {
    if (this.#state === ST_QUEUED) this.#leaveQueue();
    this.#disarm();
    const up = this.#up;
    this.#up = null;
    if (up !== null) up.socket.destroy();
    if (this.#server !== null) this.#endExchange(false);
    this.#state = ST_CLOSED;
    this.#ctx.sessions.delete(this);
    this.socket.hf = discard;
    this.socket.destroy();
  }
}

/** Accounting when an upgraded connection's tunnel closes: counters, policy feedback, access log. */
class HttpTunnelOwner implements TunnelOwner {
  readonly #ctx: HttpListenerContext;

  constructor(ctx: HttpListenerContext) {
    this.#ctx = ctx;
  }

  tunnelClosed(t: Tunnel): void {
    const ctx = this.#ctx;
    ctx.tunnels.delete(t);
    const server = t.server!;
    t.backend!.end(server, t.latencyMs, true, ctx.wheel.now);
    server.stats.response(t.method, 101, t.latencyMs, t.bytesIn, t.bytesOut);
    const access = t.access;
    if (access !== null) {
      access.bytesIn = t.bytesIn;
      access.bytesOut = t.bytesOut;
      access.tunnelMs = Math.round(ctx.wheel.clock() - t.openedAt);
    }
    if (events.tunnelClosed.hasSubscribers) events.tunnelClosed.publish({ plane: ctx.plane, tunnel: t, record: access });
  }
}
