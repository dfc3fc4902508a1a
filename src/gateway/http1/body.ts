import { CR, FIELD_VALUE, HTAB, LF, SP, TOKEN } from "./chars.ts";

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

const S_SIZE = 0; // reading hex digits
const S_SIZE_WS = 1; // BWS after the size
const S_EXT = 2; // chunk extension up to CR
const S_SIZE_LF = 3;
const S_DATA = 4;
const S_DATA_CR = 5;
const S_DATA_LF = 6;
const S_TRAILER_START = 7; // start of a trailer line or the final CRLF
const S_TRAILER = 8; // inside a trailer line
const S_TRAILER_LF = 9;
const S_END_LF = 10;
const S_LENGTH = 11; // Content-Length body
const S_CLOSE = 12; // body until the connection closes
const S_DONE = 13;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

/** Tracks where a body ends. One per connection direction, reused for every message. */
export class BodyFramer {
  #state = S_DONE;
  #remaining = 0;
  #digits = 0;

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
        return NEED_MORE;
      }
      const stop = start + this.#remaining;
      this.#remaining = 0;
      this.#state = S_DONE;
      return stop;
    }
    if (state === S_CLOSE) return NEED_MORE;
    if (state === S_DONE) return start;
    let i = start;
    while (i < end) {
      if (state === S_DATA) {
        const take = Math.min(this.#remaining, end - i);
        i += take;
        this.#remaining -= take;
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
          } else if (c === SP || c === HTAB) {
            state = S_SIZE_WS;
          } else if (c === 0x3b) {
            state = S_EXT;
          } else {
            return BAD_CHUNK;
          }
          break;
        }
        case S_SIZE_WS:
          if (c === CR) state = S_SIZE_LF;
          else if (c === 0x3b) state = S_EXT;
          else if (c !== SP && c !== HTAB) return BAD_CHUNK;
          break;
        case S_EXT:
          // chunk-ext: name[=value] lists; validated loosely as field bytes (no CTLs).
          if (c === CR) state = S_SIZE_LF;
          else if (FIELD_VALUE[c] !== 1) return BAD_CHUNK;
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
          if (c === CR) state = S_END_LF;
          else if (TOKEN[c] === 1) state = S_TRAILER;
          else return BAD_CHUNK;
          break;
        case S_TRAILER:
          if (c === CR) state = S_TRAILER_LF;
          else if (FIELD_VALUE[c] !== 1 && c !== 0x3a) return BAD_CHUNK;
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
}
