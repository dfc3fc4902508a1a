import { HEX } from "./chars.ts";

/**
 * Takes the chunked transfer coding off a body (RFC 9112 §7.1), for a client protocol
 * that frames data itself (HTTP/2 DATA frames have no chunks). It trusts its input: the
 * bytes have already gone through {@link BodyFramer}, which refuses malformed framing,
 * so it only has to find where data runs start and end. Chunk extensions and trailers
 * are dropped. Bytes-fed, no copy: each call yields one data run as offsets.
 *
 * @example
 * const d = new Dechunker();
 * for (let p = 0; p < buf.length; ) {
 *   p = d.next(buf, p, buf.length);
 *   if (d.dataEnd > d.dataStart) send(buf.subarray(d.dataStart, d.dataEnd));
 * }
 * d.done; // true after the last chunk and the trailers
 */

const S_SIZE = 0; // hex digits
const S_SIZE_LINE = 1; // extensions, up to LF
const S_DATA = 2;
const S_DATA_CRLF = 3; // the CRLF after data: two bytes to skip
const S_TRAILERS = 4; // trailer lines, up to an empty line
const S_DONE = 5;

export class Dechunker {
  /** The data run found by the last `next` (empty when start === end). */
  dataStart = 0;
  dataEnd = 0;
  #state = S_SIZE;
  #remaining = 0;
  /** No byte but CR seen yet on the current trailer line: its LF ends the trailers. */
  #blankLine = true;
  #skip = 0;

  reset(): void {
    this.#state = S_SIZE;
    this.#remaining = 0;
    this.#blankLine = true;
    this.#skip = 0;
    this.dataStart = this.dataEnd = 0;
  }

  get done(): boolean {
    return this.#state === S_DONE;
  }

  /**
   * Reads `buf[pos, end)` until a data run is found or the bytes run out; returns where
   * it stopped. The run, if any, is `[dataStart, dataEnd)`.
   */
  next(buf: Uint8Array, pos: number, end: number): number {
    this.dataStart = this.dataEnd = pos;
    let i = pos;
    while (i < end) {
      const state = this.#state;
      if (state === S_DATA) {
        const take = Math.min(this.#remaining, end - i);
        this.dataStart = i;
        this.dataEnd = i + take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#state = S_DATA_CRLF;
          this.#skip = 2;
        }
        return i + take;
      }
      const c = buf[i++]!;
      if (state === S_SIZE) {
        const v = HEX[c]!;
        // A framed size line goes on with CR or `;`, never straight to LF.
        if (v >= 0) this.#remaining = this.#remaining * 16 + v;
        else this.#state = S_SIZE_LINE;
      } else if (state === S_SIZE_LINE) {
        // blankLine is true here: the trailers of a body end on a blank line, and reset() sets it.
        if (c === 0x0a) this.#state = this.#remaining > 0 ? S_DATA : S_TRAILERS;
      } else if (state === S_DATA_CRLF) {
        if (--this.#skip === 0) this.#state = S_SIZE;
      } else if (state === S_TRAILERS) {
        if (c === 0x0a) {
          if (this.#blankLine) {
            this.#state = S_DONE;
            return i;
          }
          this.#blankLine = true;
        } else if (c !== 0x0d) this.#blankLine = false;
      } else return i - 1; // S_DONE: nothing more belongs to the body
    }
    return i;
  }
}
