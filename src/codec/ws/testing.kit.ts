// Test and bench helpers: real frames from ws's own Sender (an implementation
// independent of ours), a seeded random frame sequence and chunk splitters, and a
// reader of the close frames the gateway writes.
import * as ws from "ws";
import { mulberry32 } from "../../core/balance/testing.kit.ts";
import { parseRetryAfter } from "../../protocol/close.ts";

interface SenderOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, o: SenderOptions): Buffer[] } };

/** What one frame is made of. */
export interface FrameSpec {
  opcode: number;
  payload: Buffer;
  fin?: boolean;
  mask?: boolean;
  rsv1?: boolean;
}

/**
 * One frame's bytes, framed by ws's `Sender.frame` (masked with a random key if asked).
 *
 * @example
 * wsFrame({ opcode: 1, payload: Buffer.from("hi") }); // <81 02 68 69>
 */
export function wsFrame(f: FrameSpec): Buffer {
  // Sender masks the payload in place: give it a copy.
  const parts = Sender.frame(Buffer.from(f.payload), { fin: f.fin ?? true, rsv1: f.rsv1 ?? false, opcode: f.opcode, mask: f.mask ?? false, readOnly: false });
  return Buffer.concat(parts);
}

/** A frame stream and the offset at which each frame ends. */
export interface Stream {
  bytes: Buffer;
  frameEnds: number[];
  messageEnds: number[];
}

/**
 * Concatenates frames, noting where each one and each whole message ends.
 *
 * @example
 * const s = stream([{ opcode: 1, payload: Buffer.from("a"), fin: false }, { opcode: 0, payload: Buffer.alloc(0) }]);
 * s.frameEnds; // [3, 5]; s.messageEnds: [5]
 */
export function stream(frames: readonly FrameSpec[]): Stream {
  const parts: Buffer[] = [];
  const frameEnds: number[] = [];
  const messageEnds: number[] = [];
  let at = 0;
  let fragmented = false;
  for (const f of frames) {
    const b = wsFrame(f);
    parts.push(b);
    at += b.length;
    frameEnds.push(at);
    if (f.opcode < 8) fragmented = !(f.fin ?? true);
    if (!fragmented) messageEnds.push(at);
  }
  return { bytes: Buffer.concat(parts), frameEnds, messageEnds };
}

const SIZES = [0, 1, 7, 8, 125, 126, 127, 300, 65535, 65536, 70000];

/**
 * A seeded random, valid frame sequence: text/binary messages, some fragmented, with
 * pings, pongs and closes in between, payload sizes across every length form.
 *
 * @example
 * randomFrames(mulberry32(7), 20, true); // 20 masked frames
 */
export function randomFrames(random: () => number, n: number, mask: boolean): FrameSpec[] {
  const out: FrameSpec[] = [];
  let fragmented = false;
  const size = (max: number): number => {
    const s = random() < 0.2 ? SIZES[Math.floor(random() * SIZES.length)]! : Math.floor(random() * 200);
    return Math.min(s, max);
  };
  // Random head (where lookalike headers could hide), cheap tail.
  const payload = (len: number): Buffer => {
    const b = Buffer.alloc(len, Math.floor(random() * 256));
    for (let k = 0; k < Math.min(len, 32); k++) b[k] = Math.floor(random() * 256);
    return b;
  };
  for (let k = 0; k < n; k++) {
    const r = random();
    if (r < 0.25) out.push({ opcode: 9 + Math.floor(random() * 2), payload: payload(size(125)), mask });
    else if (r < 0.27) out.push({ opcode: 8, payload: payload(size(125) < 2 ? 2 : size(125)), mask });
    else {
      const fin = random() < 0.6;
      out.push({ opcode: fragmented ? 0 : 1 + Math.floor(random() * 2), payload: payload(size(70000)), mask, fin, rsv1: !fragmented && random() < 0.1 });
      fragmented = !fin;
    }
  }
  if (fragmented) out.push({ opcode: 0, payload: payload(3), mask });
  return out;
}

/**
 * Cuts [0, n) at `cuts` random points: returns the sorted chunk starts and n.
 *
 * @example
 * randomCuts(mulberry32(1), 100, 3); // e.g. [0, 12, 40, 77, 100]
 */
export function randomCuts(random: () => number, n: number, cuts: number): number[] {
  const points = new Set<number>([0, n]);
  for (let k = 0; k < cuts; k++) points.add(Math.floor(random() * (n + 1)));
  return [...points].sort((a, b) => a - b);
}

export { mulberry32 };

/** What a close frame says. */
export interface CloseInfo {
  /** The status code, or 1005 ("no status") for an empty close body. */
  code: number;
  reason: string;
  /** From a `retry-after=<ms>` reason, else null. */
  retryAfterMs: number | null;
}

/**
 * Reads one whole close frame, masked or not; null when `buf` is not exactly that
 * (another opcode, a truncated frame, a 1-byte body, a reason that is not UTF-8).
 *
 * @example
 * parseCloseReason(closeFrame(1012, "retry-after=2500"))?.retryAfterMs; // 2500
 */
export function parseCloseReason(buf: Uint8Array): CloseInfo | null {
  if (buf.length < 2 || (buf[0]! & 0x0f) !== 8) return null;
  const masked = (buf[1]! & 0x80) !== 0;
  const len = buf[1]! & 0x7f;
  const at = masked ? 6 : 2;
  if (len > 125 || buf.length !== at + len || len === 1) return null;
  const body = buf.slice(at);
  if (masked) for (let i = 0; i < len; i++) body[i]! ^= buf[2 + (i & 3)]!;
  if (len === 0) return { code: 1005, reason: "", retryAfterMs: null };
  let reason: string;
  try {
    reason = new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(2));
  } catch {
    return null;
  }
  return { code: (body[0]! << 8) | body[1]!, reason, retryAfterMs: parseRetryAfter(reason) };
}
