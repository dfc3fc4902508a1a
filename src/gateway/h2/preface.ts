import { destroyOnInput, type HandledSocket, type SocketHandler } from "../sockets.ts";
import type { Expirable, TimerWheel } from "../timer-wheel.ts";

/**
 * HTTP/2 with prior knowledge in clear text (`h2c`, RFC 9113 §3.3): the client starts
 * with the connection preface instead of an HTTP/1.1 request. On a listener with
 * `protocols: [http1, h2c]` the first bytes decide which session takes the connection;
 * a wrong byte says HTTP/1.1 at once, so HTTP/1.1 clients wait for nothing.
 *
 * @example
 * new PrefaceSniffer(socket, wheel, 60_000, (s, h2, bytes) => h2 ? toH2(s, bytes) : toH1(s, bytes));
 */
export const H2_PREFACE: Readonly<Buffer> = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** 1: the preface is there; 0: so far so good, more bytes needed; -1: not HTTP/2. */
export function prefaceMatch(buf: Uint8Array, end: number): 1 | 0 | -1 {
  const n = Math.min(end, H2_PREFACE.length);
  for (let i = 0; i < n; i++) if (buf[i] !== H2_PREFACE[i]) return -1;
  return n === H2_PREFACE.length ? 1 : 0;
}

/** Called once the first bytes have decided; `bytes` were read already and go first. */
export type PrefaceDecided = (socket: HandledSocket, h2: boolean, bytes: Buffer) => void;

export class PrefaceSniffer implements SocketHandler, Expirable {
  readonly #socket: HandledSocket;
  readonly #wheel: TimerWheel;
  readonly #decided: PrefaceDecided;
  #buf: Buffer | null = null;
  deadline = 0;
  wheelSlot = -1;

  /** A client that sends nothing within `idleMs` is closed (as an idle HTTP/1.1 one would be). */
  constructor(socket: HandledSocket, wheel: TimerWheel, idleMs: number, decided: PrefaceDecided) {
    this.#socket = socket;
    this.#wheel = wheel;
    this.#decided = decided;
    socket.handler = this;
    wheel.arm(this, wheel.now + idleMs);
  }

  onData(s: HandledSocket, chunk: Buffer): void {
    const buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    const m = prefaceMatch(buf, buf.length);
    if (m === 0) {
      this.#buf = buf;
      return;
    }
    this.#wheel.disarm(this);
    this.#buf = null;
    s.handler = destroyOnInput;
    this.#decided(s, m === 1, buf);
  }

  expire(): void {
    this.#socket.handler = destroyOnInput;
    this.#socket.destroy();
  }

  onEnd(s: HandledSocket): void {
    this.#wheel.disarm(this);
    s.destroy();
  }

  onClose(): void {
    this.#wheel.disarm(this);
  }

  onDrain(): void {}
  onError(): void {}
}
