import { CloseCode } from "../../protocol/close.ts";
import type { AccessRecord } from "../access-log.ts";
import type { Backend } from "../backend.ts";
import type { TimerWheel, Expirable } from "../timer-wheel.ts";
import { trackForwardedBytes } from "../young-gc.ts";
import { destroyOnInput, type HandledSocket, type SocketHandler } from "../sockets.ts";
import type { UpstreamServer } from "../upstream.ts";
import { WsTracking } from "./ws-tracking.ts";

/**
 * A byte tunnel between a client socket and an upstream socket: TCP mode streams and
 * WebSocket connections after `101`. Backpressure is explicit (a side whose peer's
 * buffer is full is paused until `drain`), half-close is passed through (a client that
 * shuts down its write side still receives the rest of the response), and an idle
 * tunnel is closed by the shared deadline wheel.
 *
 * A WebSocket tunnel is frame-aware in the server→client direction ({@link WsTracking}):
 * the gateway can inject a ping or a close frame (`1012`, `1001`, `1013` with
 * `retry-after=<ms>`) at a frame boundary. TCP tunnels stay blind.
 *
 * @example
 * const t = new Tunnel(client, upstream, wheel, 3_600_000, owner, server, backend, ws);
 * t.start(earlyClientBytes, earlyServerBytes);
 * t.closeWith(1012, 300); // at the next frame boundary
 */

/** Told once when both sides are closed. */
export interface TunnelOwner {
  tunnelClosed(t: Tunnel): void;
}

/** How long a tunnel may take to finish its close handshake before it is cut. */
const CLOSE_GRACE_MS = 3000;

export class Tunnel implements SocketHandler, Expirable {
  readonly client: HandledSocket;
  readonly upstream: HandledSocket;
  readonly server: UpstreamServer | null;
  readonly backend: Backend | null;
  /** Name of the listener that accepted the client (set by the creator). */
  listener: string | null = null;
  /** For the owner's accounting of an upgraded HTTP connection (set by the creator). */
  latencyMs = 0;
  method = 0;
  access: AccessRecord | null = null;
  idleMs: number;
  readonly openedAt: number;
  bytesIn = 0; // client → server
  bytesOut = 0; // server → client
  deadline = 0;
  wheelSlot = -1;
  /** Frame tracking of a WebSocket tunnel; null for TCP or after a fallback to blind mode. */
  ws: WsTracking | null;
  #closed = 0; // sockets closed (0..2)
  #closing = false;
  /** The server died and the client was sent a 1012 instead of a cut. */
  #vanished = false;
  #owner: TunnelOwner;
  readonly #wheel: TimerWheel;

  constructor(
    client: HandledSocket, upstream: HandledSocket, wheel: TimerWheel, idleMs: number, owner: TunnelOwner,
    server: UpstreamServer | null = null, backend: Backend | null = null, ws: WsTracking | null = null,
  ) {
    this.client = client;
    this.upstream = upstream;
    this.#wheel = wheel;
    this.idleMs = idleMs;
    this.#owner = owner;
    this.server = server;
    this.backend = backend;
    this.ws = ws;
    this.openedAt = wheel.now;
    client.handler = this;
    upstream.handler = this;
  }

  /** Sends bytes that arrived before the tunnel existed, then lets data flow. */
  start(toUpstream: Buffer | null, toClient: Buffer | null): void {
    // The tracker first: garbage in the 101's own read breaks it, and a tracker that
    // knows its tunnel makes it fall back to blind mode (a broken one not yet started
    // would send no ping and close the tunnel at its first pong deadline).
    this.ws?.start(this, this.#wheel);
    if (toUpstream !== null && toUpstream.length > 0) this.onData(this.client, toUpstream);
    if (toClient !== null && toClient.length > 0) this.onData(this.upstream, toClient);
    this.client.resume();
    this.upstream.resume();
    this.#wheel.arm(this, this.#wheel.now + this.idleMs);
  }

  onData(s: HandledSocket, chunk: Buffer): void {
    if (this.deadline !== 0 && !this.#closing) this.deadline = this.#wheel.now + this.idleMs; // lazy refresh: see TimerWheel.arm
    trackForwardedBytes(chunk.length);
    const ws = this.ws;
    if (s === this.client) {
      if (this.#vanished) return; // the server is gone: the client's last frames go nowhere
      this.bytesIn += chunk.length;
      if (ws === null || ws.fromClient(chunk, this.upstream)) {
        if (!this.upstream.write(chunk)) s.pause();
      } else if (this.upstream.writableNeedDrain) s.pause();
    } else {
      this.bytesOut += chunk.length;
      if (ws === null) {
        if (!this.client.write(chunk)) s.pause();
      } else if (!ws.toClient(chunk, this.client)) s.pause();
    }
  }

  /**
   * Closes the tunnel the polite way: a WebSocket gets a close frame with `code` and
   * `retry-after=<retryAfterMs>` at the next frame boundary, then a few seconds to
   * finish the handshake; a TCP tunnel (or a WebSocket in blind mode) is ended.
   */
  closeWith(code: number, retryAfterMs: number): void {
    if (this.#closing) return;
    this.#closing = true;
    const ws = this.ws;
    if (ws !== null) ws.close(code, retryAfterMs, this.client);
    else {
      this.client.end();
      this.upstream.end();
    }
    this.#wheel.arm(this, this.#wheel.now + CLOSE_GRACE_MS);
  }

  /** The frame tracker gave up: keep tunnelling blind (issue: garbage after a 101), and warn. */
  fallBackToBlind(why: string): void {
    this.ws?.stop(this.#wheel);
    this.ws = null;
    this.backend?.log?.warn({ server: this.server?.name, reason: why }, "not WebSocket frames after 101: tunnel continues blind");
  }

  onDrain(s: HandledSocket): void {
    (s === this.client ? this.upstream : this.client).resume();
  }

  onEnd(s: HandledSocket): void {
    if (s === this.upstream && this.#serverVanished()) return;
    // Half-close: pass the FIN on; the other direction keeps flowing.
    const other = s === this.client ? this.upstream : this.client;
    if (!other.destroyed) other.end();
  }

  onClose(s: HandledSocket): void {
    const other = s === this.client ? this.upstream : this.client;
    if (s === this.upstream && (this.#vanished || this.#serverVanished())) {
      // The client has its close frame; it closes its side (or CLOSE_GRACE_MS cuts it).
    } else if (!other.destroyed && (s.errored !== null || other.writableEnded)) other.destroy();
    // One side gone for good (reset, or both FINs exchanged): the other goes too.
    else if (!other.destroyed && !other.writableEnded) other.end();
    if (++this.#closed === 2) this.#finish();
  }

  /**
   * A WebSocket server that ends or resets its socket without a close frame has died
   * (a crash, SIGKILL, a lost node). Instead of cutting the client (1006, and every
   * client of that server reconnecting in the same instant), the gateway closes it with
   * `1012` and a `retry-after` drawn uniformly over the backend's `drainSpread`: the
   * reconnects of a dead server's clients spread like a drain's. False (nothing done)
   * for TCP or blind tunnels, when the server had sent its close frame, or when the
   * server stopped mid-frame.
   */
  #serverVanished(): boolean {
    const ws = this.ws;
    if (ws === null || this.#closing || this.client.destroyed || this.client.writableEnded) return false;
    const spread = this.backend?.config.drainSpread ?? 0;
    if (!ws.serverGone(CloseCode.SERVICE_RESTART, Math.floor(Math.random() * spread), this.client)) return false;
    this.#closing = true;
    this.#vanished = true;
    this.client.end();
    this.#wheel.arm(this, this.#wheel.now + CLOSE_GRACE_MS);
    return true;
  }

  onError(): void {}

  /** Idle timeout, or the close handshake took too long. */
  expire(): void {
    this.close();
  }

  /** Closes both sides at once. */
  close(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  #finish(): void {
    this.#wheel.disarm(this);
    this.ws?.stop(this.#wheel);
    this.client.handler = destroyOnInput;
    this.upstream.handler = destroyOnInput;
    this.#owner.tunnelClosed(this);
  }
}
