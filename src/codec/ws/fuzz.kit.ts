import { FrameError, type FrameErrorCode } from "./frames.ts";
import { mulberry32, randomFrames, wsFrame } from "./testing.kit.ts";

/**
 * Test support for the WebSocket fuzzers (`frames.fuzz.test.ts`,
 * `test/integration/websocket.fuzz.test.ts`): hostile frame streams, and a slow, obviously
 * correct reference walk of a whole stream (the model the optimised trackers are
 * compared with). Hostile means what a broken or malicious peer sends: reserved
 * opcodes, fragmented or over-long control frames, continuations out of place, 64-bit
 * lengths past 2^53 (and with the top bit set), non-minimal length forms, RSV bits,
 * masked and unmasked frames mixed, raw garbage, bit flips in headers.
 *
 * @example
 * const random = mulberry32(7);
 * const bytes = hostileStream(random, { mask: true });
 * const m = modelFrames(bytes); // { frameEnds, messageEnds, breakAt, error, closeSeen }
 */

type Random = () => number;

const int = (random: Random, n: number): number => Math.floor(random() * n);

/** What a whole-stream walk finds. */
export interface FrameModel {
  /** Offset just past each complete frame, in order (0 is a boundary too, not listed). */
  readonly frameEnds: number[];
  /** The frame ends outside a fragmented message. */
  readonly messageEnds: number[];
  /** Offset just past the header that no conforming peer sends; Infinity when none. */
  readonly breakAt: number;
  readonly error: FrameErrorCode | 0;
  /** A close frame's header was complete before any break. */
  readonly closeSeen: boolean;
}

/**
 * Walks `b` frame by frame with RFC 6455 §5.2's rules as FrameTracker applies them
 * (RSV bits opaque, lengths above 2^53 − 1 refused), whole buffer at once, BigInt for the
 * 64-bit length: slow and plain on purpose.
 *
 * @example
 * modelFrames(Buffer.from([0x81, 0x00, 0x83, 0x00])).error; // FrameError.RESERVED_OPCODE
 */
export function modelFrames(b: Uint8Array): FrameModel {
  const frameEnds: number[] = [];
  const messageEnds: number[] = [];
  let fragmented = false;
  let closeSeen = false;
  let i = 0;
  for (;;) {
    if (i + 2 > b.length) break;
    const b0 = b[i]!, b1 = b[i + 1]!;
    const len7 = b1 & 0x7f;
    const ext = len7 < 126 ? 0 : len7 === 126 ? 2 : 8;
    const headerEnd = i + 2 + ext + (b1 & 0x80 ? 4 : 0);
    if (headerEnd > b.length) break;
    let len = BigInt(len7);
    if (ext > 0) {
      len = 0n;
      for (let k = i + 2; k < i + 2 + ext; k++) len = len * 256n + BigInt(b[k]!);
    }
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    let error: FrameErrorCode | 0 = 0;
    if (len > BigInt(Number.MAX_SAFE_INTEGER)) error = FrameError.LENGTH_TOO_LARGE;
    else if (op >= 8) {
      if (op > 10) error = FrameError.RESERVED_OPCODE;
      else if (len > 125n) error = FrameError.CONTROL_TOO_LONG;
      else if (!fin) error = FrameError.CONTROL_FRAGMENTED;
      else if (op === 8) closeSeen = true;
    } else if (op === 0) {
      if (!fragmented) error = FrameError.UNEXPECTED_CONTINUATION;
      else if (fin) fragmented = false;
    } else if (op <= 2) {
      if (fragmented) error = FrameError.DATA_INSIDE_FRAGMENTED;
      else if (!fin) fragmented = true;
    } else error = FrameError.RESERVED_OPCODE;
    if (error !== 0) return { frameEnds, messageEnds, breakAt: headerEnd, error, closeSeen };
    if (BigInt(headerEnd) + len > BigInt(b.length)) break;
    i = headerEnd + Number(len);
    frameEnds.push(i);
    if (!fragmented) messageEnds.push(i);
  }
  return { frameEnds, messageEnds, breakAt: Infinity, error: 0, closeSeen };
}

/** A raw frame header: b0 (FIN, RSV, opcode), the length in the form asked, an optional mask key. */
function rawHeader(random: Random, b0: number, len: bigint, form: 0 | 2 | 8, mask: boolean): Buffer {
  const ext = form === 0 ? [] : form === 2 ? [Number(len >> 8n) & 0xff, Number(len) & 0xff]
    : Array.from({ length: 8 }, (_, k) => Number((len >> BigInt(56 - 8 * k)) & 0xffn));
  const len7 = form === 0 ? Number(len) : form === 2 ? 126 : 127;
  const key = mask ? Array.from({ length: 4 }, () => int(random, 256)) : [];
  return Buffer.from([b0, (mask ? 0x80 : 0) | len7, ...ext, ...key]);
}

/** One hostile piece: a frame (or frame start) no conforming peer sends, or junk. */
function hostilePiece(random: Random, mask: boolean): Buffer {
  const m = random() < 0.5 ? mask : !mask;
  const payload = (n: number): Buffer => Buffer.alloc(n, int(random, 256));
  switch (int(random, 10)) {
    case 0: // reserved opcode
      return Buffer.concat([rawHeader(random, (random() < 0.5 ? 0x80 : 0) | [3, 4, 5, 6, 7, 11, 12, 13, 14, 15][int(random, 10)]!, 4n, 0, m), payload(4)]);
    case 1: { // control frame over 125 bytes (126 and 127 most often: off-by-one territory)
      const n = random() < 0.6 ? 126 + int(random, 2) : 128 + int(random, 200);
      return Buffer.concat([rawHeader(random, 0x88 + int(random, 3), BigInt(n), 2, m), payload(n)]);
    }
    case 2: // fragmented control frame
      return Buffer.concat([rawHeader(random, 0x08 + int(random, 3), 2n, 0, m), payload(2)]);
    case 3: // continuation (or a new data frame): wrong unless the stream happens to be fragmented
      return Buffer.concat([rawHeader(random, (random() < 0.5 ? 0x80 : 0) | int(random, 3), 3n, 0, m), payload(3)]);
    case 4: { // 64-bit length past 2^53 - 1, or with the top bit set
      const len = random() < 0.5 ? 2n ** 53n + BigInt(int(random, 1000)) : 2n ** 63n + BigInt(int(random, 1000));
      return rawHeader(random, 0x82, len, 8, m);
    }
    case 5: // the largest length that is still counted exactly: the rest of the stream is its payload
      return rawHeader(random, 0x82, BigInt(Number.MAX_SAFE_INTEGER), 8, m);
    case 6: { // non-minimal length forms (RFC 6455 says MUST be minimal; the tracker reads them)
      const n = int(random, 20);
      return Buffer.concat([rawHeader(random, 0x81, BigInt(n), random() < 0.5 ? 2 : 8, m), payload(n)]);
    }
    case 7: // RSV bits on an ordinary frame (opaque to the tracker)
      return Buffer.concat([rawHeader(random, 0x82 | (int(random, 7) + 1) << 4, 5n, 0, m), payload(5)]);
    case 8: // a header cut short
      return rawHeader(random, 0x81, 300n, 2, m).subarray(0, 1 + int(random, 3));
    default: // garbage
      return Buffer.from(Array.from({ length: 1 + int(random, 16) }, () => int(random, 256)));
  }
}

/**
 * A frame stream for fuzzing: valid frames (ws's own encoder) with hostile pieces
 * spliced in, then a few bit flips; `hostility` is the chance of a hostile piece before
 * each frame (0: a valid stream). Deterministic for a given `random`.
 *
 * @example
 * hostileStream(mulberry32(1), { mask: false, frames: 20 });
 */
export function hostileStream(random: Random, opts: { mask: boolean; frames?: number; hostility?: number }): Buffer {
  const parts: Buffer[] = [];
  const hostility = opts.hostility ?? 0.15;
  for (const f of randomFrames(random, opts.frames ?? 1 + int(random, 20), opts.mask)) {
    if (random() < hostility) parts.push(hostilePiece(random, opts.mask));
    parts.push(wsFrame(f));
  }
  if (random() < hostility) parts.push(hostilePiece(random, opts.mask));
  // Copied into a buffer of its own: tests tell forwarded bytes from injected ones by
  // their ArrayBuffer, which Buffer's shared pool would blur.
  const own = new Uint8Array(Buffer.concat(parts));
  const bytes = Buffer.from(own.buffer, own.byteOffset, own.length);
  for (let n = hostility > 0 && random() < 0.3 ? 1 + int(random, 3) : 0; n > 0 && bytes.length > 0; n--) {
    bytes[int(random, bytes.length)]! ^= 1 << int(random, 8);
  }
  return bytes;
}

export { mulberry32 };
export { fuzzSeed } from "../../../test/support/seed.ts";
