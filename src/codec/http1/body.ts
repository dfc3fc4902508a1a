import { CR, FIELD_VALUE, HEX, LF, TOKEN, lower } from "./chars.ts";

/**
 * Message-body framing (RFC 9112 §6–7) without copying: the proxy forwards body bytes
 * as they arrive and only needs to know where the message ends, so the next message on
 * the connection can be told apart (keep-alive, pipelining).
 *
 * @example
 * const f = new BodyFramer();
 * f.startChunked();
 * const r = f.scan(buf, 0, buf.length); // offset where the body ends, NEED_MORE or BAD_CHUNK
 */

/** `scan` result: every byte given belongs to the body, which is not finished. */
export const NEED_MORE = -1;
/** `scan` result: malformed chunked framing. */
export const BAD_CHUNK = -2;

// Chunk lines follow RFC 9112 §7.1 to the letter: no whitespace around the size, `;`
// or `=` (llhttp refuses it, so a proxy that accepted it would frame differently), an
// extension is `;name` or `;name=token` or `;name="quoted"`.
const S_SIZE = 0; // reading hex digits
const S_EXT_NAME_START = 1; // just after `;`
const S_EXT_NAME = 2;
const S_EXT_VALUE_START = 3; // just after `=`
const S_EXT_TOKEN = 4;
const S_EXT_QUOTED = 5;
const S_EXT_QUOTED_PAIR = 6; // after a backslash in a quoted string
const S_EXT_QUOTE_END = 7; // after the closing quote
const S_SIZE_LF = 8;
const S_DATA = 9;
const S_DATA_CR = 10;
const S_DATA_LF = 11;
const S_TRAILER_START = 12; // start of a trailer line or the final CRLF
const S_TRAILER_NAME = 13;
const S_TRAILER_VALUE = 14;
const S_TRAILER_LF = 15;
const S_END_LF = 16;
const S_LENGTH = 17; // Content-Length body
const S_CLOSE = 18; // body until the connection closes
const S_DONE = 19;

// Trailer names that would reframe the message if a server merged trailers into the
// head (RFC 9110 §6.5.1): refused, as llhttp does.
const CL_NAME = Buffer.from("content-length");
const TE_NAME = Buffer.from("transfer-encoding");

/** Tracks where a body ends. One per connection direction, reused for every message. */
export class BodyFramer {
  #state = S_DONE;
  #remaining = 0;
  #digits = 0;
  /** Trailer name: length so far, and bit 1/2 while it still matches Content-Length/Transfer-Encoding. */
  #nameLen = 0;
  #nameMatch = 0;
  /**
   * Keep {@link dataTail}: the last body bytes, decoded from the chunk framing (an event
   * stream's event boundaries). Off by default: a few operations per data run when on.
   */
  trackTail = false;
  /** The last 4 body data bytes seen, oldest in the high byte (with `trackTail`). */
  dataTail = 0;

  /** A body of exactly `n` bytes (n may be 0). */
  startLength(n: number): void {
    this.#remaining = n;
    this.#state = n === 0 ? S_DONE : S_LENGTH;
  }

  startChunked(): void {
    this.#state = S_SIZE;
    this.#remaining = 0;
    this.#digits = 0;
  }

  /** A body delimited by the connection's close (responses without framing). */
  startUntilClose(): void {
    this.#state = S_CLOSE;
  }

  /** No body. */
  none(): void {
    this.#state = S_DONE;
  }

  get done(): boolean {
    return this.#state === S_DONE;
  }

  get untilClose(): boolean {
    return this.#state === S_CLOSE;
  }

  /** Between two chunks of a chunked body (or before the first): bytes of a new chunk may go here. */
  get atChunkStart(): boolean {
    return this.#state === S_SIZE && this.#digits === 0;
  }

  #tail(buf: Uint8Array, from: number, to: number): void {
    let t = this.dataTail;
    for (let k = Math.max(from, to - 4); k < to; k++) t = ((t << 8) | buf[k]!) >>> 0;
    this.dataTail = t;
  }

  /**
   * Consumes `buf[start..end)`. Returns the offset just past the end of the body when it
   * ends inside this range, {@link NEED_MORE} when all of it is body, or
   * {@link BAD_CHUNK}.
   */
  scan(buf: Uint8Array, start: number, end: number): number {
    let state = this.#state;
    if (state === S_LENGTH) {
      const avail = end - start;
      if (avail < this.#remaining) {
        this.#remaining -= avail;
        if (this.trackTail) this.#tail(buf, start, end);
        return NEED_MORE;
      }
      const stop = start + this.#remaining;
      this.#remaining = 0;
      this.#state = S_DONE;
      if (this.trackTail) this.#tail(buf, start, stop);
      return stop;
    }
    if (state === S_CLOSE) {
      if (this.trackTail) this.#tail(buf, start, end);
      return NEED_MORE;
    }
    if (state === S_DONE) return start;
    let i = start;
    while (i < end) {
      if (state === S_DATA) {
        const take = Math.min(this.#remaining, end - i);
        i += take;
        this.#remaining -= take;
        if (this.trackTail) this.#tail(buf, i - take, i);
        if (this.#remaining === 0) state = S_DATA_CR;
        continue;
      }
      const c = buf[i++]!;
      switch (state) {
        case S_SIZE: {
          const v = HEX[c]!;
          if (v >= 0) {
            // 13 hex digits ≈ 4.5e15: beyond it the size would lose precision.
            if (++this.#digits > 13) return BAD_CHUNK;
            this.#remaining = this.#remaining * 16 + v;
          } else if (this.#digits === 0) {
            return BAD_CHUNK;
          } else if (c === CR) {
            state = S_SIZE_LF;
          } else if (c === 0x3b) {
            state = S_EXT_NAME_START;
          } else {
            return BAD_CHUNK;
          }
          break;
        }
        case S_EXT_NAME_START:
          if (TOKEN[c] !== 1) return BAD_CHUNK;
          state = S_EXT_NAME;
          break;
        case S_EXT_NAME:
        case S_EXT_TOKEN:
          if (TOKEN[c] === 1) break;
          if (c === CR) state = S_SIZE_LF;
          else if (c === 0x3b) state = S_EXT_NAME_START;
          else if (c === 0x3d && state === S_EXT_NAME) state = S_EXT_VALUE_START;
          else return BAD_CHUNK;
          break;
        case S_EXT_VALUE_START:
          if (TOKEN[c] === 1) state = S_EXT_TOKEN;
          else if (c === 0x22) state = S_EXT_QUOTED;
          else return BAD_CHUNK;
          break;
        case S_EXT_QUOTED:
          // qdtext: HTAB, SP, VCHAR but `"` and `\`, obs-text
          if (c === 0x22) state = S_EXT_QUOTE_END;
          else if (c === 0x5c) state = S_EXT_QUOTED_PAIR;
          else if (FIELD_VALUE[c] !== 1) return BAD_CHUNK;
          break;
        case S_EXT_QUOTED_PAIR:
          if (FIELD_VALUE[c] !== 1) return BAD_CHUNK;
          state = S_EXT_QUOTED;
          break;
        case S_EXT_QUOTE_END:
          if (c === CR) state = S_SIZE_LF;
          else if (c === 0x3b) state = S_EXT_NAME_START;
          else return BAD_CHUNK;
          break;
        case S_SIZE_LF:
          if (c !== LF) return BAD_CHUNK;
          this.#digits = 0;
          state = this.#remaining === 0 ? S_TRAILER_START : S_DATA;
          break;
        case S_DATA_CR:
          if (c !== CR) return BAD_CHUNK;
          state = S_DATA_LF;
          break;
        case S_DATA_LF:
          if (c !== LF) return BAD_CHUNK;
          state = S_SIZE;
          break;
        case S_TRAILER_START:
          if (c === CR) {
            state = S_END_LF;
            break;
          }
          if (TOKEN[c] !== 1) return BAD_CHUNK;
          state = S_TRAILER_NAME;
          this.#nameLen = 0;
          this.#nameMatch = 3;
          this.#trailerNameByte(c);
          break;
        case S_TRAILER_NAME:
          if (TOKEN[c] === 1) {
            this.#trailerNameByte(c);
          } else if (c === 0x3a) {
            const n = this.#nameLen, m = this.#nameMatch;
            if ((m & 1 && n === CL_NAME.length) || (m & 2 && n === TE_NAME.length)) return BAD_CHUNK;
            state = S_TRAILER_VALUE;
          } else {
            return BAD_CHUNK;
          }
          break;
        case S_TRAILER_VALUE:
          if (c === CR) state = S_TRAILER_LF;
          else if (FIELD_VALUE[c] !== 1) return BAD_CHUNK;
          break;
        case S_TRAILER_LF:
          if (c !== LF) return BAD_CHUNK;
          state = S_TRAILER_START;
          break;
        case S_END_LF:
          if (c !== LF) return BAD_CHUNK;
          this.#state = S_DONE;
          return i;
      }
    }
    this.#state = state;
    return NEED_MORE;
  }

  #trailerNameByte(c: number): void {
    const p = this.#nameLen++;
    const l = lower(c);
    if (l !== CL_NAME[p]) this.#nameMatch &= ~1;
    if (l !== TE_NAME[p]) this.#nameMatch &= ~2;
  }
}
