import type { Head } from "../../codec/http1/head.ts";
import type { ResponseErrorCode } from "../../errors.ts";
import type { HandledSocket } from "../sockets.ts";
import type { RequestFacts } from "./request.ts";

/**
 * The client side of an exchange: what it asks of the connection the request came
 * from. An HTTP/1.1 {@link HttpSession} now; an HTTP/2 stream later (it forwards the
 * same exchange to an HTTP/1.1 server).
 *
 * @example
 * class Session implements Downstream { ... }
 */
export interface Downstream {
  /** The client's address (for hash keys on a retry, and the logs). */
  readonly clientIp: string;
  /**
   * No request of the client's connection has been admitted yet: admission counts new
   * connections, so only a fresh one (or an upgrade) spends a token.
   */
  readonly fresh: boolean;
  /** A request of this connection was admitted: it is not fresh any more. */
  admitted(): void;
  /** The request came over TLS (sticky cookies are then `Secure`). */
  readonly secure: boolean;
  /**
   * The PROXY header a new server connection starts with, for a backend with
   * `proxyProtocol` (the client as a PROXY header named it, else the connection's own).
   */
  proxyHeader(version: "v1" | "v2"): Buffer;
  /** Stops reading the client's request bytes for `reason` (a `HOLD_*` bit). */
  hold(reason: number): void;
  /** Resumes reading once no reason is left. */
  release(reason: number): void;
  /** Forwards an interim (1xx) response head, parsed into `res`, as is. */
  interim(buf: Buffer, res: Head): void;
  /**
   * Forwards the final response head (parsed into `res`, ending at `end`) and the body
   * bytes `buf[end, bodyEnd)`; false when the client's buffer is full.
   */
  responseHead(buf: Buffer, res: Head, end: number, bodyEnd: number, facts: RequestFacts, setCookie: string | undefined): boolean;
  /** Forwards response body bytes; false when the client's buffer is full. */
  responseBody(chunk: Buffer): boolean;
  /** The client's connection closes after this exchange. */
  closeAfterExchange(): void;
  /** The exchange is over; the next request may be read. */
  exchangeDone(): void;
  /** Answers the client with the gateway's own response (nothing was sent yet) and closes. */
  respondAndClose(response: Buffer): void;
  /** Answers with the error `code` (nothing was sent yet) and closes. */
  reject(code: ResponseErrorCode, message: string, retryAfter?: number): void;
  /** Cuts the client's connection (a response had started: it must see a broken connection). */
  abort(): void;
  /**
   * A 101: tells the client the protocol switched (HTTP/1.1: the 101 head `res`, parsed
   * from `buf`, with its own `Connection: upgrade` and a sticky `Set-Cookie`; HTTP/2: a
   * 200 on the stream, RFC 8441), then gives up the client side, returning it (a socket,
   * or the HTTP/2 stream) with the bytes read after the request.
   */
  takeOver(buf: Buffer, res: Head, setCookie: string | undefined): { socket: HandledSocket; rest: Buffer | null };
}

/**
 * One client connection of an http listener, as the data plane's registry sees it: an
 * HTTP/1.1 {@link HttpSession} or an HTTP/2 `H2Session`. A drain, a listener's removal
 * and a graceful stop ask it to close once idle; a hard stop destroys it.
 *
 * @example
 * for (const s of plane.sessions) if (s.listener === "web") s.closeWhenIdle();
 */
export interface ClientSession {
  /** Name of the listener that accepted the connection. */
  readonly listener: string;
  readonly socket: { destroy(): void };
  /** Closes after what is in flight (HTTP/1.1: the current exchange; HTTP/2: GOAWAY, then its streams). */
  closeWhenIdle(): void;
}

/** The client's reading is paused until an upstream connection is ready. */
export const HOLD_CONNECT = 4;
/** The client's reading is paused while the upstream's write buffer is full. */
export const HOLD_UPSTREAM = 2;

