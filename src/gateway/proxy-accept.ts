import type { Socket } from "node:net";
import { encodeProxyV1, encodeProxyV2 } from "../codec/proxy/encode.ts";
import { PROXY_NEED_MORE, ProxyHeader, parseProxyHeader, proxyErrorText } from "../codec/proxy/header.ts";
import type { Logger } from "../log.ts";
import { destroyOnInput, type HandledSocket, type SocketHandler } from "./sockets.ts";
import type { Expirable, TimerWheel } from "./timer-wheel.ts";

/**
 * The first bytes of a connection on a listener with `proxyProtocol: accept`: a PROXY
 * v1/v2 header from the L4 balancer in front, read before anything else (before TLS,
 * before HTTP). A connection that sends something else, or nothing within
 * {@link PROXY_HEADER_TIMEOUT}, is closed.
 *
 * @example
 * new ProxyAccept(socket, wheel, counters, log, (s, client, rest) => new HttpSession(s, ctx, client, rest));
 */

/** How long a connection may take to send its PROXY header (ms). */
export const PROXY_HEADER_TIMEOUT = 3000;

/** The client as the header names it (or the socket, for LOCAL and UNKNOWN headers). */
export interface ProxyClient {
  readonly ip: string;
  readonly port: number;
  /** The address the client connected to, as the balancer saw it. */
  readonly localIp: string;
  readonly localPort: number;
}

/** Called once the header is read: `rest` holds the bytes that came after it. */
export type ProxyAccepted = (socket: HandledSocket, client: ProxyClient, rest: Buffer | null) => void;

// One for the process: a header is parsed synchronously.
const HEADER = new ProxyHeader();

export class ProxyAccept implements SocketHandler, Expirable {
  readonly #socket: HandledSocket;
  readonly #wheel: TimerWheel;
  readonly #counters: { proxyRefused: number };
  readonly #log: Logger | undefined;
  readonly #onAccepted: ProxyAccepted;
  #buf: Buffer | null = null;
  deadline = 0;
  wheelSlot = -1;

  constructor(socket: HandledSocket, wheel: TimerWheel, counters: { proxyRefused: number }, log: Logger | undefined, done: ProxyAccepted) {
    this.#socket = socket;
    this.#wheel = wheel;
    this.#counters = counters;
    this.#log = log;
    this.#onAccepted = done;
    socket.handler = this;
    wheel.arm(this, wheel.now + PROXY_HEADER_TIMEOUT);
  }

  onData(s: HandledSocket, chunk: Buffer): void {
    const buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    const n = parseProxyHeader(buf, buf.length, HEADER);
    if (n === PROXY_NEED_MORE) {
      this.#buf = buf;
      return;
    }
    this.#wheel.disarm(this);
    this.#buf = null;
    if (n < 0) return this.#refuse(proxyErrorText[n] ?? "bad PROXY header");
    const h = HEADER;
    const client: ProxyClient = h.hasAddress
      ? { ip: h.source, port: h.sourcePort, localIp: h.destination, localPort: h.destinationPort }
      : { ip: s.remoteAddress ?? "", port: s.remotePort ?? 0, localIp: s.localAddress ?? "", localPort: s.localPort ?? 0 };
    s.handler = destroyOnInput;
    this.#onAccepted(s, client, n < buf.length ? buf.subarray(n) : null);
  }

  expire(): void {
    this.#refuse("no PROXY header within 3s");
  }

  #refuse(why: string): void {
    this.#counters.proxyRefused++;
    this.#log?.debug({ client: this.#socket.remoteAddress, why }, "connection refused: PROXY protocol expected");
    this.#socket.handler = destroyOnInput;
    this.#socket.destroy();
  }

  onEnd(): void {
    this.#wheel.disarm(this);
    this.#socket.destroy();
  }

  onClose(): void {
    this.#wheel.disarm(this);
  }

  onDrain(): void {}
  onError(): void {}
}

/**
 * The PROXY header a server connection starts with (`backends.*.proxyProtocol`): the
 * client as a PROXY header named it, else the client connection's own addresses.
 *
 * @example
 * conn.write(proxyHeaderFor("v2", clientSocket, null));
 */
export function proxyHeaderFor(version: "v1" | "v2", socket: Socket, client: ProxyClient | null): Buffer {
  const encode = version === "v1" ? encodeProxyV1 : encodeProxyV2;
  if (client !== null) return encode(client.ip, client.port, client.localIp, client.localPort);
  return encode(socket.remoteAddress ?? "", socket.remotePort ?? 0, socket.localAddress ?? "", socket.localPort ?? 0);
}
