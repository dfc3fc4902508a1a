import type { Deadlines, Expirable } from "./deadlines.ts";
import { streamed } from "./reclaim.ts";
import { discard, type HfSocket, type SocketHandler } from "./sockets.ts";

/**
 * A byte tunnel between a client socket and an upstream socket: TCP mode streams and
 * WebSocket connections after `101`. Backpressure is explicit (a side whose peer's
 * buffer is full is paused until `drain`), half-close is passed through (a client that
 * shuts down its write side still receives the rest of the response), and an idle
 * tunnel is closed by the shared deadline wheel.
 *
 * The server→client direction goes through `toClient`, the seam where the frame-aware
 * WebSocket tracker plugs in.
 *
 * @example
 * const t = new Tunnel(client, upstream, wheel, 3_600_000, owner);
 * t.start(earlyClientBytes, earlyServerBytes);
 */

/** Told once when both sides are closed. */
export interface TunnelOwner {
  tunnelClosed(t: Tunnel): void;
}

export class Tunnel implements SocketHandler, Expirable {
  readonly client: HfSocket;
  readonly upstream: HfSocket;
  readonly idleMs: number;
  readonly openedAt: number;
  bytesIn = 0; // client → server
  bytesOut = 0; // server → client
  deadline = 0;
  wheelSlot = -1;
  #closed = 0; // sockets closed (0..2)
  #owner: TunnelOwner;
  readonly #wheel: Deadlines;

  constructor(client: HfSocket, upstream: HfSocket, wheel: Deadlines, idleMs: number, owner: TunnelOwner) {
    this.client = client;
    this.upstream = upstream;
    this.#wheel = wheel;
    this.idleMs = idleMs;
    this.#owner = owner;
    this.openedAt = wheel.now;
    client.hf = this;
    upstream.hf = this;
  }

  /** Sends bytes that arrived before the tunnel existed, then lets data flow. */
  start(toUpstream: Buffer | null, toClient: Buffer | null): void {
    if (toUpstream !== null && toUpstream.length > 0) this.onData(this.client, toUpstream);
    if (toClient !== null && toClient.length > 0) this.onData(this.upstream, toClient);
    this.client.resume();
    this.upstream.resume();
    this.#wheel.arm(this, this.#wheel.now + this.idleMs);
  }

  onData(s: HfSocket, chunk: Buffer): void {
    const wheel = this.#wheel;
    if (this.deadline !== 0) this.deadline = wheel.now + this.idleMs; // lazy refresh: see Deadlines.arm
    streamed(chunk.length);
    if (s === this.client) {
      this.bytesIn += chunk.length;
      if (!this.upstream.write(chunk)) s.pause();
    } else {
      this.bytesOut += chunk.length;
      if (!this.client.write(chunk)) s.pause();
    }
  }

  onDrain(s: HfSocket): void {
    (s === this.client ? this.upstream : this.client).resume();
  }

  onEnd(s: HfSocket): void {
    // Half-close: pass the FIN on; the other direction keeps flowing.
    const other = s === this.client ? this.upstream : this.client;
    if (!other.destroyed) other.end();
  }

  onClose(s: HfSocket): void {
    const other = s === this.client ? this.upstream : this.client;
    // One side gone for good (reset, or both FINs exchanged): the other goes too.
    if (!other.destroyed && (s.errored !== null || other.writableEnded)) other.destroy();
    else if (!other.destroyed && !other.writableEnded) other.end();
    if (++this.#closed === 2) this.#finish();
  }

  onError(): void {}

  /** Idle timeout. */
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
    this.client.hf = discard;
    this.upstream.hf = discard;
    this.#owner.tunnelClosed(this);
  }
}
