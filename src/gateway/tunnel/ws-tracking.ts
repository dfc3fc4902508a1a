import type { TimerWheel, Expirable } from "../timer-wheel.ts";
import type { HandledSocket } from "../sockets.ts";
import type { Tunnel } from "./tunnel.ts";
import { closeFrame, pingFrame } from "../../codec/ws/build.ts";
import { retryAfterReason } from "../../protocol/close.ts";
import { FrameTracker, frameErrorText } from "../../codec/ws/frames.ts";
import { PongFilter, pingPayload } from "../../codec/ws/pong-filter.ts";

/**
 * The frame-aware half of a WebSocket tunnel (DESIGN §4 "WebSocket"): the server→client
 * bytes go through a {@link FrameTracker} (headers parsed, payloads skipped) so a ping or
 * a close frame can be written between two frames; with `websocket.pingInterval` the
 * client→server bytes go through a {@link PongFilter} that takes the gateway's own pong
 * out of the stream. A client that leaves a ping unanswered for `pongTimeout` is dead:
 * its tunnel is closed.
 *
 * The common path (nothing to inject, no ping outstanding) is one `push` per chunk, no
 * allocation.
 *
 * @example
 * const ws = new WsTracking({ pingInterval: 25_000, pongTimeout: 10_000 });
 * new Tunnel(client, upstream, wheel, idle, owner, server, backend, ws).start(null, null);
 */
const PHASE_NONE = 0;
const PHASE_PING = 1; // next deadline sends a ping
const PHASE_PONG = 2; // next deadline means the pong did not come

let nonce = Math.floor(Math.random() * 2 ** 40);

export class WsTracking implements Expirable {
  readonly #toClientFrames = new FrameTracker();
  readonly #fromClientPongs: PongFilter | null;
  readonly #pingInterval: number;
  readonly #pongTimeout: number;
  #pending: Buffer | null = null;
  #pendingClose = false;
  /** A close frame went to the client: nothing more goes that way. */
  #closing = false;
  #phase = PHASE_NONE;
  #tunnel: Tunnel | null = null;
  #wheel: TimerWheel | null = null;
  deadline = 0;
  wheelSlot = -1;

  constructor(pings: { readonly pingInterval: number; readonly pongTimeout: number } | undefined) {
    this.#pingInterval = pings?.pingInterval ?? 0;
    this.#pongTimeout = pings?.pongTimeout ?? 0;
    this.#fromClientPongs = pings === undefined ? null : new PongFilter();
  }

  start(tunnel: Tunnel, wheel: TimerWheel): void {
    this.#tunnel = tunnel;
    this.#wheel = wheel;
    if (this.#pingInterval > 0) {
      this.#phase = PHASE_PING;
      wheel.arm(this, wheel.now + this.#pingInterval);
    }
  }

  stop(wheel: TimerWheel): void {
    wheel.disarm(this);
    this.#phase = PHASE_NONE;
  }

  /** Server → client. Returns false when the client's buffer is full (pause the server). */
  toClient(chunk: Buffer, client: HandledSocket): boolean {
    if (this.#closing) return true;
    const t = this.#toClientFrames;
    const pending = this.#pending;
    if (pending === null) {
      t.push(chunk, 0, chunk.length);
      if (t.broken) this.#blind();
      return client.write(chunk);
    }
    // Something waits for a boundary, so the stream is inside a frame: what is asked for
    // at a boundary goes out at once, and a chunk with a boundary in it sends it there.
    const b = t.push(chunk, 0, chunk.length);
    if (t.broken) {
      this.#blind();
      return client.write(chunk);
    }
    if (b < 0) return client.write(chunk);
    if (b > 0) client.write(chunk.subarray(0, b));
    this.#inject(client);
    if (this.#closing) return true;
    return b < chunk.length ? client.write(chunk.subarray(b)) : true;
  }

  /**
   * Client → server. Returns true when the caller should forward `chunk` as is; false
   * when this wrote the parts to forward itself (the gateway's pong was taken out).
   */
  fromClient(chunk: Buffer, upstream: HandledSocket): boolean {
    const f = this.#fromClientPongs;
    if (f === null) return true;
    const awaiting = f.awaitingPong;
    const whole = f.push(chunk, 0, chunk.length);
    if (awaiting && !f.awaitingPong) this.#pongArrived();
    if (whole) return true;
    const replay = f.replay;
    if (replay !== null) upstream.write(replay);
    if (f.dropStart > 0) upstream.write(chunk.subarray(0, f.dropStart));
    if (f.keepEnd > f.dropEnd) upstream.write(chunk.subarray(f.dropEnd, f.keepEnd));
    return false;
  }

  /** Queues a close frame for the next frame boundary (at once when at one now). */
  close(code: number, retryAfterMs: number, client: HandledSocket): void {
    if (this.#closing) return;
    this.#pending = closeFrame(code, retryAfterReason(retryAfterMs));
    this.#pendingClose = true;
    if (this.#toClientFrames.atFrameBoundary) this.#inject(client);
  }

  /**
   * The server vanished (its socket ended or reset with no close frame of its own): if a
   * frame can go to the client now, send it `code` with `retry-after=<retryAfterMs>` and
   * return true. False when the server had sent its close (the client has its answer),
   * when the stream stopped mid-frame (nothing can follow cleanly), or when the gateway
   * already closed.
   */
  serverGone(code: number, retryAfterMs: number, client: HandledSocket): boolean {
    if (this.#closing || this.#toClientFrames.closeSeen || !this.#toClientFrames.atFrameBoundary) return false;
    this.#pending = closeFrame(code, retryAfterReason(retryAfterMs));
    this.#pendingClose = true;
    this.#inject(client);
    return true;
  }

  #inject(client: HandledSocket): void {
    client.write(this.#pending!);
    this.#pending = null;
    if (this.#pendingClose) {
      this.#closing = true;
      this.#pendingClose = false;
      if (this.#wheel !== null) this.stop(this.#wheel);
    }
  }

  #blind(): void {
    const t = this.#tunnel;
    const err = this.#toClientFrames.error;
    this.#pending = null;
    if (t !== null) t.fallBackToBlind(err === 0 ? "frame error" : frameErrorText[err]);
  }

  #pongArrived(): void {
    const wheel = this.#wheel;
    if (wheel === null || this.#phase !== PHASE_PONG) return;
    this.#phase = PHASE_PING;
    wheel.arm(this, wheel.now + this.#pingInterval);
  }

  /** Ping time, or the pong did not come in time (dead client). */
  expire(now: number): void {
    const tunnel = this.#tunnel;
    const wheel = this.#wheel;
    if (tunnel === null || wheel === null || this.#closing) return;
    if (this.#phase === PHASE_PONG) {
      // No pong within pongTimeout: the client is gone without a FIN (a dead NAT, a
      // sleeping laptop). Free both sides.
      tunnel.close();
      return;
    }
    if (this.#phase !== PHASE_PING || this.#pending !== null) return;
    nonce = (nonce + 1) % 2 ** 48;
    const payload = pingPayload(nonce);
    this.#fromClientPongs!.expect(payload);
    this.#pending = pingFrame(payload);
    this.#phase = PHASE_PONG;
    wheel.arm(this, now + this.#pongTimeout);
    if (this.#toClientFrames.atFrameBoundary) this.#inject(tunnel.client);
  }
}
