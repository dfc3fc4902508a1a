/**
 * A WebSocket frame-boundary tracker (RFC 6455 §5.2) for the tunnel after a `101`: it
 * reads frame headers and skips payloads without touching them, so the gateway knows
 * where it may inject a control frame of its own (a ping, a close). One per direction;
 * it holds a few numbers and never a buffer (about 110 bytes of heap on Node 24), and a
 * chunk costs one call and no allocation.
 *
 * A header split across chunks is assembled in numeric fields. Masked frames (the
 * client→server direction) are handled: the mask key is skipped like the payload. RSV
 * bits are opaque (permessage-deflate uses RSV1 and the tracker never sees the
 * handshake's extensions). What no conforming peer sends — a reserved opcode, a control
 * frame that is fragmented or longer than 125 bytes, a continuation with no message to
 * continue, a new data frame inside a fragmented one, a length that does not fit in
 * 2^53 − 1 — makes the tracker `broken` for good: the caller falls back to a blind
 * tunnel for that connection and logs `frameErrorText[tracker.error]`.
 *
 * Two kinds of boundary: a *frame* boundary is where a control frame may be injected
 * (RFC 6455 §5.4 lets control frames sit between the fragments of a message); a
 * *message* boundary is a frame boundary outside any fragmented message, where a data
 * frame could go, and where a close loses no partly sent message.
 *
 * @example
 * // To inject: at once when the stream rests at a boundary, else at the next one.
 * if (t.atFrameBoundary) client.write(frame);
 * else pending = frame;
 * // For each server chunk:
 * const b = t.push(chunk, 0, chunk.length); // last frame boundary in the chunk, or -1
 * if (pending !== null && b >= 0) {
 *   client.write(chunk.subarray(0, b));
 *   client.write(pending);
 *   client.write(chunk.subarray(b));
 * } else client.write(chunk);
 * if (b < 0 && t.broken) log.warn({ reason: frameErrorText[t.error] }, "not WebSocket frames: blind tunnel");
 */

/** Why a tracker gave up (its `error`; 0 while it is fine). */
export const FrameError = {
  RESERVED_OPCODE: 1,
  CONTROL_TOO_LONG: 2,
  CONTROL_FRAGMENTED: 3,
  LENGTH_TOO_LARGE: 4,
  UNEXPECTED_CONTINUATION: 5,
  DATA_INSIDE_FRAGMENTED: 6,
} as const;
export type FrameErrorCode = (typeof FrameError)[keyof typeof FrameError];

/**
 * Plain-words reason for each code, for the log line when a tunnel goes blind.
 *
 * @example
 * frameErrorText[FrameError.RESERVED_OPCODE]; // "reserved opcode"
 */
export const frameErrorText: Record<FrameErrorCode, string> = {
  1: "reserved opcode",
  2: "control frame longer than 125 bytes",
  3: "fragmented control frame",
  4: "payload length above 2^53 - 1",
  5: "continuation frame outside a fragmented message",
  6: "new data frame inside a fragmented message",
};

// Parser states. HEAD0 is the frame boundary; HEADX reads the extended length and mask key.
const HEAD0 = 0;
const HEAD1 = 1;
const HEADX = 2;
const PAYLOAD = 3;
const BROKEN = 4;

/**
 * Tracks frame boundaries in one direction of a WebSocket byte stream.
 *
 * @example
 * const t = new FrameTracker();
 * t.push(Buffer.from([0x81, 0x02, 0x68, 0x69]), 0, 4); // 4: one text frame "hi", boundary at its end
 * t.atMessageBoundary; // true
 */
export class FrameTracker {
  #state = HEAD0;
  #b0 = 0; // first header byte: FIN, RSV, opcode
  #rem = 0; // payload bytes left to skip; while in the header, the length being assembled
  #extLeft = 0; // extended length bytes still to read
  #hdrLeft = 0; // extended length + mask key bytes still to read
  #fragmented = false;
  #closeSeen = false;
  #error: FrameErrorCode | 0 = 0;
  #lastMessage = -1;

  /** True when the bytes so far end exactly at a frame's end: a control frame may go here. */
  get atFrameBoundary(): boolean {
    return this.#state === HEAD0;
  }

  /** True at a frame boundary that is not inside a fragmented data message. */
  get atMessageBoundary(): boolean {
    return this.#state === HEAD0 && !this.#fragmented;
  }

  /**
   * Offset of the last message boundary in the range given to the last `push`, or -1;
   * like `push`'s result, `start` counts when the tracker was at one before the call.
   */
  get lastMessageBoundary(): number {
    return this.#lastMessage;
  }

  /** The stream is not WebSocket frames: forward it blind from now on. */
  get broken(): boolean {
    return this.#state === BROKEN;
  }

  /** Why the tracker broke (a `FrameError` code), or 0. */
  get error(): FrameErrorCode | 0 {
    return this.#error;
  }

  /** A close frame's header has gone by: this side started (or answered) the close. */
  get closeSeen(): boolean {
    return this.#closeSeen;
  }

  /**
   * Consumes `buf[start..end)` and returns the offset in `[start, end]` of the last frame
   * boundary in it (`start` counts when the tracker was already at one), or -1 when there
   * is none or the stream is broken. `lastMessageBoundary` tells the same for messages.
   *
   * @example
   * const b = t.push(chunk, 0, chunk.length);
   * // chunk[0..b) ends with whole frames; chunk[b..) starts a frame that is not complete yet
   */
  push(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    if (this.#state !== HEAD0) {
      // Finish the frame in progress: the rest of a split header and/or its payload.
      if (i < end) i = this.pushFrame(buf, i, end);
      if (this.#state !== HEAD0) {
        this.#lastMessage = -1;
        return -1;
      }
    }
    let last = i;
    let lastMessage = this.#fragmented ? -1 : i;
    // At a frame boundary. The loop reads whole headers straight from the chunk and keeps
    // the common frame (a final text or binary frame outside a fragmented message) free
    // of any field write; a header cut by the chunk's end goes to the byte-wise path.
    while (i < end) {
      const avail = end - i;
      if (avail < 2) break;
      const b0 = buf[i]!;
      const b1 = buf[i + 1]!;
      let len = b1 & 0x7f;
      let size = b1 & 0x80 ? 6 : 2;
      if (len >= 126) size += len === 126 ? 2 : 8;
      if (avail < size) break;
      if (len === 126) len = (buf[i + 2]! << 8) | buf[i + 3]!;
      else if (len === 127) {
        len = 0;
        for (let k = i + 2; k < i + 10; k++) len = len * 256 + buf[k]!;
      }
      const head = b0 & 0x8f;
      if ((head !== 0x81 && head !== 0x82) || this.#fragmented || len > Number.MAX_SAFE_INTEGER) {
        if (!this.#check(b0, len)) {
          this.#lastMessage = -1;
          return -1;
        }
      }
      i += size;
      if (len > end - i) {
        this.#rem = len - (end - i);
        this.#state = PAYLOAD;
        this.#lastMessage = lastMessage;
        return last;
      }
      i += len;
      last = i;
      if (!this.#fragmented) lastMessage = i;
    }
    if (i < end) this.pushFrame(buf, i, end); // a header cut by the chunk's end
    this.#lastMessage = lastMessage;
    return last;
  }

  /**
   * Consumes bytes from `start` up to the end of the current frame (a whole frame when at
   * a boundary) or to `end`, whichever comes first, and returns where it stopped; after
   * it, `atFrameBoundary` tells whether that is a frame's end. For callers that need
   * every boundary (the pong filter, tests); `push` is the one-call-per-chunk form.
   *
   * @example
   * for (let i = 0; i < buf.length; ) {
   *   i = t.pushFrame(buf, i, buf.length);
   *   if (t.atFrameBoundary) ends.push(i);
   * }
   */
  pushFrame(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    if (this.#state !== PAYLOAD) {
      i = this.#header(buf, i, end);
      if (this.#state !== PAYLOAD) return i;
    }
    const rem = this.#rem;
    if (rem > end - i) {
      this.#rem = rem - (end - i);
      return end;
    }
    this.#rem = 0;
    this.#state = HEAD0;
    return i + rem;
  }

  // Reads header bytes; leaves the state at PAYLOAD, HEAD0 (an empty frame ended), a
  // partial header state (the chunk ended) or BROKEN.
  #header(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    let state = this.#state;
    if (state === BROKEN) return end;
    if (state === HEAD0 && end - i >= 2) {
      // Fast path: the whole header is in this chunk (nearly always).
      const b1 = buf[i + 1]!;
      let len = b1 & 0x7f;
      const ext = len < 126 ? 0 : len === 126 ? 2 : 8;
      const size = 2 + ext + (b1 & 0x80 ? 4 : 0);
      if (end - i >= size) {
        if (ext === 2) len = (buf[i + 2]! << 8) | buf[i + 3]!;
        else if (ext === 8) {
          len = 0;
          for (let k = i + 2; k < i + 10; k++) len = len * 256 + buf[k]!;
        }
        this.#begin(buf[i]!, len);
        return i + size;
      }
    }
    while (i < end) {
      const b = buf[i++]!;
      if (state === HEAD0) {
        this.#b0 = b;
        state = HEAD1;
        continue;
      }
      if (state === HEAD1) {
        const len = b & 0x7f;
        const ext = len < 126 ? 0 : len === 126 ? 2 : 8;
        this.#extLeft = ext;
        this.#hdrLeft = ext + (b & 0x80 ? 4 : 0);
        this.#rem = ext === 0 ? len : 0;
        state = HEADX;
      } else {
        if (this.#extLeft > 0) {
          this.#rem = this.#rem * 256 + b;
          this.#extLeft--;
        }
        this.#hdrLeft--;
      }
      if (this.#hdrLeft === 0) {
        this.#begin(this.#b0, this.#rem);
        return i;
      }
    }
    this.#state = state;
    return i;
  }

  // A complete header: check it, then enter its payload.
  #begin(b0: number, len: number): void {
    const head = b0 & 0x8f;
    if ((head !== 0x81 && head !== 0x82) || this.#fragmented || len > Number.MAX_SAFE_INTEGER) {
      if (!this.#check(b0, len)) return;
    }
    if (len === 0) this.#state = HEAD0;
    else {
      this.#rem = len;
      this.#state = PAYLOAD;
    }
  }

  // Checks a header against RFC 6455 and follows fragmentation; false (and BROKEN) when
  // no conforming peer would send it.
  #check(b0: number, len: number): boolean {
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    let err: FrameErrorCode | 0 = 0;
    // Lengths past 2^53 - 1 cannot be counted exactly; ws refuses them as well.
    if (len > Number.MAX_SAFE_INTEGER) err = FrameError.LENGTH_TOO_LARGE;
    else if (op >= 8) {
      if (op > 10) err = FrameError.RESERVED_OPCODE;
      else if (len > 125) err = FrameError.CONTROL_TOO_LONG;
      else if (!fin) err = FrameError.CONTROL_FRAGMENTED;
      else if (op === 8) this.#closeSeen = true;
    } else if (op === 0) {
      if (!this.#fragmented) err = FrameError.UNEXPECTED_CONTINUATION;
      else if (fin) this.#fragmented = false;
    } else if (op <= 2) {
      if (this.#fragmented) err = FrameError.DATA_INSIDE_FRAGMENTED;
      else if (!fin) this.#fragmented = true;
    } else err = FrameError.RESERVED_OPCODE;
    if (err === 0) return true;
    this.#error = err;
    this.#state = BROKEN;
    return false;
  }
}
