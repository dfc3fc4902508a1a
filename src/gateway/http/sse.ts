import { equalsLower } from "../../codec/http1/chars.ts";
import { findHeader, type Head } from "../../codec/http1/head.ts";
import type { UpstreamServer } from "../upstream.ts";

/**
 * Server-sent events through an HTTP exchange (issue 14 part 2): an event stream is a
 * long-lived connection, not a slow response. Once its head is forwarded it lives under
 * the backend's `timeouts.tunnel` (idle) instead of `timeouts.server`; with
 * `sse.heartbeat` the gateway writes `:` comment lines to the client while the server
 * is quiet, so middleboxes keep the connection open; a graceful stop (or the idle
 * limit, or a drain of its server) ends it at an event boundary, with the last chunk
 * when it is chunked. The helpers here are the byte-level part: recognising the stream,
 * finding event boundaries in the decoded tail the body framer keeps, and the bytes to
 * inject.
 *
 * @example
 * if (isEventStream(buf, RESPONSE_HEAD)) framer.trackTail = true;
 * if (atEventBoundary(framer.dataTail, seen) && framer.atChunkStart) client.write(HEARTBEAT_CHUNK);
 */

const LF = 0x0a, CR = 0x0d;

/**
 * A 200 whose `Content-Type` is `text/event-stream` (parameters allowed).
 *
 * @example
 * isEventStream(buf, RESPONSE_HEAD); // true for "Content-Type: text/event-stream; charset=utf-8"
 */
export function isEventStream(buf: Buffer, res: Head): boolean {
  if (res.status !== 200) return false;
  const n = findHeader(buf, res, "content-type");
  if (n < 0) return false;
  const vs = res.spans[(n << 2) + 2]!, ve = res.spans[(n << 2) + 3]!;
  let e = vs;
  while (e < ve && buf[e] !== 0x3b && buf[e] !== 0x20 && buf[e] !== 0x09) e++;
  return equalsLower(buf, vs, e, "text/event-stream");
}

/**
 * Whether a stream whose last data bytes are `tail` (4 bytes, oldest in the high byte)
 * rests between two events: it ends with an empty line (LF LF, CR LF CR LF, LF CR LF,
 * CR CR LF, CR CR), or nothing was sent yet. A stream that ends inside a line, or with
 * a lone line end, is in the middle of an event.
 *
 * @example
 * atEventBoundary(0x0a0a, true); // "\n\n": yes
 * atEventBoundary(0x783a0a, true); // ":x\n"... inside an event: no
 */
export function atEventBoundary(tail: number, started: boolean): boolean {
  if (!started) return true;
  const b0 = tail & 0xff, b1 = (tail >>> 8) & 0xff, b2 = (tail >>> 16) & 0xff;
  if (b0 === LF) return b1 === LF || (b1 === CR && (b2 === LF || b2 === CR));
  return b0 === CR && b1 === CR;
}

/** A comment line (ignored by every EventSource) for a body framed by the server's close. */
export const HEARTBEAT_RAW = Buffer.from(":\n", "latin1");
/** The same comment line as one chunk of a chunked body. */
export const HEARTBEAT_CHUNK = Buffer.from("2\r\n:\n\r\n", "latin1");
/** The last chunk: ends a chunked event stream cleanly. */
export const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/**
 * An exchange whose response is an event stream, as the data plane's registry of them
 * holds it (`HttpListenerContext.streams`): a drain of its server ends it at an event
 * boundary on the drain's schedule (control/drainer.ts), like the server's tunnels; the
 * close of its listener (a graceful stop, a reload removing it) ends it at once, at its
 * next event boundary, whether HTTP/1.1 or an HTTP/2 stream carries it.
 *
 * @example
 * for (const x of streams) if (x.streamServer === server) x.endStream();
 * for (const x of streams) if (x.listener === "web") x.endStream();
 */
export interface LiveEventStream {
  /** Name of the listener whose client receives the stream. */
  readonly listener: string;
  /** The server the event stream comes from; null when the exchange streams none (any more). */
  readonly streamServer: UpstreamServer | null;
  /** Ends the stream at its next event boundary (now when it rests at one); nothing when there is none. */
  endStream(): void;
}

/** {@link SseStream.check}'s verdicts. */
export const SSE_WAIT = 0;
export const SSE_HEARTBEAT = 1;
export const SSE_END = 2;
export const SSE_CUT = 3;

/** What the framer of the response body offers (codec/http1/body.ts `BodyFramer`). */
interface Framer {
  trackTail: boolean;
  dataTail: number;
  readonly atChunkStart: boolean;
  readonly untilClose: boolean;
}

/**
 * The state of one exchange's event stream (one per exchange, reused): whether the
 * response is one, whether it has sent data, whether it should end at the next event
 * boundary, and when the server last sent something. The exchange asks it what to do
 * when its timer fires and after each chunk it forwards.
 *
 * @example
 * sse.begin(framer, now);
 * const verdict = sse.check(framer, { idleMs, heartbeatMs }, now); // SSE_HEARTBEAT...
 */
export class SseStream {
  active = false;
  /** Data went through (before that the stream rests at a boundary). */
  started = false;
  /** End at the next event boundary (graceful stop). */
  ending = false;
  /** Timer-wheel time of the server's last bytes. */
  lastData = 0;
  /** With {@link check}: the ms until the next check. */
  next = 0;

  begin(framer: Framer, now: number, started: boolean): void {
    this.active = true;
    this.started = started;
    this.ending = false;
    this.lastData = now;
    framer.trackTail = true;
    framer.dataTail = 0;
  }

  stop(framer: Framer): void {
    this.active = false;
    framer.trackTail = false;
    framer.dataTail = 0;
  }

  /** Bytes of a new event (a comment, the last chunk) may go to the client now. */
  atBoundary(framer: Framer): boolean {
    return (framer.untilClose || framer.atChunkStart) && atEventBoundary(framer.dataTail, this.started);
  }

  /**
   * The timer fired: end the stream (idle past `idleMs`, at a boundary), cut it (idle
   * and inside an event), send a heartbeat (quiet for `heartbeatMs`, at a boundary), or
   * wait; `next` says for how long.
   */
  check(framer: Framer, o: { idleMs: number; heartbeatMs: number | undefined }, now: number): number {
    const quiet = now - this.lastData;
    if (quiet >= o.idleMs) return this.atBoundary(framer) ? SSE_END : SSE_CUT;
    this.next = Math.min(o.heartbeatMs ?? o.idleMs, o.idleMs - quiet);
    return o.heartbeatMs !== undefined && quiet >= o.heartbeatMs && this.atBoundary(framer) ? SSE_HEARTBEAT : SSE_WAIT;
  }

  /** The bytes of a heartbeat for this framing. */
  heartbeat(framer: Framer): Buffer {
    return framer.untilClose ? HEARTBEAT_RAW : HEARTBEAT_CHUNK;
  }
}
