import { FrameTracker, type FrameErrorCode } from "./frames.ts";

/**
 * The client→server side of the frame-aware tunnel: tracks frame boundaries like
 * `FrameTracker` and, while a gateway ping is outstanding, recognises the client's pong
 * that answers it so the caller drops exactly those bytes and the server never sees a
 * pong to a ping it did not send. Pongs with any other payload (answers to the server's
 * own pings, unsolicited ones) and everything else are forwarded untouched.
 *
 * The gateway's ping payload is 8 bytes (`pingPayload`), so its pong is a 14-byte masked
 * frame: `8A 88`, a 4-byte mask key, 8 masked payload bytes. A browser or `ws` always
 * encodes that length in the short form (RFC 6455 §5.2 says it MUST); a pong in a
 * longer form is forwarded, which the server may ignore (§5.5.3 allows unsolicited pongs).
 * A candidate split across chunks is held back and compared byte by byte in numeric
 * fields; if it turns out not to be ours, the held bytes are rebuilt from those fields
 * (`replay`), so the filter never keeps a buffer.
 *
 * @example
 * const f = new PongFilter();
 * f.expect(pingPayload(nonce)); // and client.write(pingFrame(that payload)) at a boundary
 * if (f.push(chunk, 0, chunk.length)) upstream.write(chunk); // common case: all of it
 * else {
 *   if (f.replay !== null) upstream.write(f.replay);
 *   if (f.dropStart > 0) upstream.write(chunk.subarray(0, f.dropStart));
 *   if (f.keepEnd > f.dropEnd) upstream.write(chunk.subarray(f.dropEnd, f.keepEnd));
 *   if (f.dropEnd > f.dropStart) pongArrived();
 * }
 */

const PONG_B0 = 0x8a; // FIN + pong
const PONG_B1 = 0x88; // MASK + length 8
const PONG_SIZE = 14;

/**
 * A gateway ping payload: `hf` then a 48-bit nonce, big-endian. Pick the nonce so
 * that neither the server nor the client can predict it (a random start plus a counter).
 *
 * @example
 * pingPayload(0x0102_0304_0506); // <68 66 01 02 03 04 05 06>
 */
export function pingPayload(nonce: number): Buffer {
  if (!Number.isSafeInteger(nonce) || nonce < 0 || nonce >= 2 ** 48) throw new RangeError(`ping nonce must be a 48-bit integer, got ${nonce}`);
  const out = Buffer.allocUnsafe(8);
  out[0] = 0x68;
  out[1] = 0x66;
  out.writeUIntBE(nonce, 2, 6);
  return out;
}

/**
 * Frame tracking plus recognition of the gateway's own pong, for the client→server
 * direction.
 *
 * @example
 * const f = new PongFilter();
 * f.expect(Buffer.from("hf123456"));
 * f.awaitingPong; // true until the matching pong goes through push()
 */
export class PongFilter {
  readonly #frames = new FrameTracker();
  #armed = false;
  #p0 = 0; // expected payload bytes 0..3 (uint32)
  #p1 = 0; // expected payload bytes 4..7
  #c0 = 0; // payload the candidate in progress is compared with (expect() may change #p*)
  #c1 = 0;
  #pos = 0; // bytes of a candidate pong matched so far; 0: none
  #mask = 0; // mask key bytes read so far, big-endian
  #dropStart = 0;
  #dropEnd = 0;
  #keepEnd = 0;
  #replay: Buffer | null = null;

  /**
   * Arms the filter for the pong answering a ping with this 8-byte payload; replaces
   * any earlier one (clients may answer only the latest ping, RFC 6455 §5.5.3). A pong
   * to a replaced ping is forwarded like an unsolicited one.
   *
   * @example
   * f.expect(pingPayload(nonce));
   */
  expect(payload: Uint8Array): void {
    if (payload.length !== 8) throw new RangeError(`the gateway's ping payload is 8 bytes, got ${payload.length}`);
    this.#p0 = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
    this.#p1 = ((payload[4]! << 24) | (payload[5]! << 16) | (payload[6]! << 8) | payload[7]!) >>> 0;
    this.#armed = true;
  }

  /** A ping is outstanding and its pong has not gone through `push` yet. */
  get awaitingPong(): boolean {
    return this.#armed;
  }

  /** The client sent a close frame (its header has gone by). */
  get closeSeen(): boolean {
    return this.#frames.closeSeen;
  }

  /** The client's bytes are not WebSocket frames: forward them blind from now on. */
  get broken(): boolean {
    return this.#frames.broken;
  }

  /** Why the tracking broke (a `FrameError` code), or 0. */
  get error(): FrameErrorCode | 0 {
    return this.#frames.error;
  }

  /** True at a client frame boundary. */
  get atFrameBoundary(): boolean {
    return this.#frames.atFrameBoundary;
  }

  /** After a `push` that returned false: the end of the first range to forward, `[start, dropStart)`. */
  get dropStart(): number {
    return this.#dropStart;
  }

  /** After a `push` that returned false: the start of the second range, `[dropEnd, keepEnd)`. */
  get dropEnd(): number {
    return this.#dropEnd;
  }

  /** After a `push` that returned false: bytes from `keepEnd` on are held back (a possible pong). */
  get keepEnd(): number {
    return this.#keepEnd;
  }

  /**
   * After a `push` that returned false: bytes held back from earlier chunks that were
   * not our pong after all, to write before this chunk's ranges; otherwise null.
   */
  get replay(): Buffer | null {
    return this.#replay;
  }

  /**
   * Consumes `buf[start..end)`. Returns true when all of it is to be forwarded as is
   * (always, while no ping is outstanding). Otherwise forward, in order: `replay` if not
   * null, `buf[start..dropStart)`, `buf[dropEnd..keepEnd)`; `dropEnd > dropStart`
   * means the gateway's pong was in `[dropStart, dropEnd)` (`awaitingPong` is now false).
   *
   * @example
   * if (!f.push(chunk, 0, n) && f.dropEnd > f.dropStart) pongArrived();
   */
  push(buf: Uint8Array, start: number, end: number): boolean {
    if (!this.#armed && this.#pos === 0) {
      this.#frames.push(buf, start, end);
      return true;
    }
    if (this.#frames.broken) return true;
    return this.#filter(buf, start, end);
  }

  #filter(buf: Uint8Array, start: number, end: number): boolean {
    const t = this.#frames;
    const held = this.#pos; // bytes of a candidate held back from earlier chunks
    let dropStart = -1;
    let dropEnd = -1;
    let keep = end;
    this.#replay = null;
    let i = start;
    while (i < end && !t.broken) {
      if (this.#pos === 0) {
        if (!this.#armed || buf[i] !== PONG_B0 || !t.atFrameBoundary) {
          i = t.pushFrame(buf, i, end);
          continue;
        }
        this.#c0 = this.#p0;
        this.#c1 = this.#p1;
      }
      const from = i;
      const before = this.#pos;
      i = this.#match(buf, i, end);
      t.push(buf, from, i);
      if (this.#pos === PONG_SIZE && this.#c0 === this.#p0 && this.#c1 === this.#p1) {
        dropStart = from;
        dropEnd = i;
        this.#pos = 0;
        this.#armed = false;
      } else if (i === end && this.#pos < PONG_SIZE) keep = from;
      else {
        // Not ours (or the answer to a ping replaced since: forwarded, an unsolicited
        // pong is legal, and it keeps to one dropped range per chunk): what was held
        // back from earlier chunks goes out first.
        if (before > 0) this.#replay = this.#rebuild(before);
        this.#pos = 0;
      }
    }
    this.#keepEnd = keep;
    this.#dropStart = dropStart < 0 ? keep : dropStart;
    this.#dropEnd = dropEnd < 0 ? keep : dropEnd;
    return held === 0 && dropStart < 0 && keep === end;
  }

  // Advances over bytes that match the gateway's pong; stops at the first one that does
  // not (left unconsumed) or when the frame is complete.
  #match(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    let pos = this.#pos;
    let mask = this.#mask;
    while (i < end && pos < PONG_SIZE) {
      const b = buf[i]!;
      if (pos < 2) {
        if (b !== (pos === 0 ? PONG_B0 : PONG_B1)) break;
      } else if (pos < 6) mask = pos === 2 ? b : mask * 256 + b;
      else if ((b ^ byteOf(mask, (pos - 6) & 3)) !== this.#expected(pos - 6)) break;
      pos++;
      i++;
    }
    this.#pos = pos;
    this.#mask = mask;
    return i;
  }

  #expected(k: number): number {
    return byteOf(k < 4 ? this.#c0 : this.#c1, k & 3);
  }

  // The first n bytes of the candidate, as the client sent them. A mask key byte never
  // mismatches, so a candidate longer than 2 bytes failed in its payload: the key is whole.
  #rebuild(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    const mask = this.#mask;
    for (let k = 0; k < n; k++) {
      if (k === 0) out[k] = PONG_B0;
      else if (k === 1) out[k] = PONG_B1;
      else if (k < 6) out[k] = byteOf(mask, k - 2);
      else out[k] = this.#expected(k - 6) ^ byteOf(mask, (k - 6) & 3);
    }
    return out;
  }
}

// Byte k (0: most significant) of a uint32.
function byteOf(word: number, k: number): number {
  return (word >>> (24 - 8 * k)) & 0xff;
}
