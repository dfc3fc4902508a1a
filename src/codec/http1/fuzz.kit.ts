/**
 * Test support: a seeded PRNG and the byte mutations of the scanner fuzzer
 * (`head.fuzz.test.ts`). Mutations aim where parsers disagree: line endings, whitespace,
 * separators, the framing headers and their values.
 *
 * @example
 * const random = mulberry32(42);
 * const input = mutate(Buffer.from(seed, "latin1"), random);
 */

export { mulberry32 } from "../../core/balance/testing.kit.ts";

type Random = () => number;

const int = (random: Random, n: number): number => Math.floor(random() * n);
const pick = <T>(random: Random, list: readonly T[]): T => list[int(random, list.length)]!;

/** Bytes parsers treat specially. */
const BYTES = [0x0d, 0x0a, 0x20, 0x09, 0x00, 0x3a, 0x2c, 0x3b, 0x3d, 0x22, 0x5c, 0x0b, 0x0c, 0x7f, 0x80, 0xff, 0x30, 0x35, 0x61, 0x41, 0x2d, 0x2b];
/** Header names that change framing, routing or hop-by-hop handling. */
const NAMES = [
  "Content-Length", "Transfer-Encoding", "Host", "Connection", "Upgrade", "X-Forwarded-For", "Keep-Alive", "TE", "Trailer",
  "Proxy-Connection", "X-Forwarded-Host", "X-Forwarded-Proto", "content-length", "transfer-encoding", "HOST", "Expect",
];
/** Values that change how those headers are read. */
const VALUES = [
  "chunked", "Chunked", "chunked, identity", "identity, chunked", "gzip, chunked", " chunked", "chunked ", "chunked\t", "xchunked",
  "0", "5", "05", "+5", "-1", "5, 5", "99999999999999999999", "", "close", "keep-alive", "upgrade", "Upgrade", "content-length",
  "transfer-encoding", "host", "a.example", "a b", "a@b", "websocket", "h2c", "1.2.3.4",
];
/** Whole lines worth splicing in. */
const LINES = [
  "\r\n", "\n", "\r", "\r\n\r\n", "0\r\n\r\n", "5\r\nhello\r\n", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", "Transfer-Encoding: chunked\r\n",
  "Content-Length: 5\r\n", "Connection: upgrade\r\n", "Upgrade: websocket\r\n", " folded\r\n", "\tfolded\r\n",
];

function splice(buf: Buffer, at: number, remove: number, insert: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, at), insert, buf.subarray(Math.min(buf.length, at + remove))]);
}

/** Offsets just past each LF (line starts), including 0. */
function lineStarts(buf: Buffer): number[] {
  const out = [0];
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) out.push(i + 1);
  return out;
}

/**
 * One random mutation of `buf` (never mutates it in place).
 *
 * @example
 * mutateOnce(Buffer.from("GET / HTTP/1.1\r\n\r\n"), mulberry32(1));
 */
export function mutateOnce(buf: Buffer, random: Random): Buffer {
  const at = int(random, buf.length + 1);
  switch (int(random, 10)) {
    case 0: { // flip a bit
      if (buf.length === 0) return buf;
      const out = Buffer.from(buf);
      const i = Math.min(at, buf.length - 1);
      out[i] = out[i]! ^ (1 << int(random, 8));
      return out;
    }
    case 1: // overwrite a byte with an interesting one
      return splice(buf, at, 1, Buffer.of(pick(random, BYTES)));
    case 2: // insert an interesting byte
      return splice(buf, at, 0, Buffer.of(pick(random, BYTES)));
    case 3: // delete a few bytes
      return splice(buf, at, 1 + int(random, 3), Buffer.alloc(0));
    case 4: { // duplicate a line
      const starts = lineStarts(buf);
      const k = int(random, starts.length);
      const s = starts[k]!, e = starts[k + 1] ?? buf.length;
      return splice(buf, pick(random, starts), 0, buf.subarray(s, e));
    }
    case 5: { // delete a line
      const starts = lineStarts(buf);
      const k = int(random, starts.length);
      return splice(buf, starts[k]!, (starts[k + 1] ?? buf.length) - starts[k]!, Buffer.alloc(0));
    }
    case 6: // splice in a line ending or a whole line
      return splice(buf, random() < 0.5 ? at : pick(random, lineStarts(buf)), 0, Buffer.from(pick(random, LINES), "latin1"));
    case 7: { // swap a header name for an interesting one
      const starts = lineStarts(buf).slice(1);
      if (starts.length === 0) return buf;
      const s = pick(random, starts);
      const colon = buf.indexOf(0x3a, s);
      const eol = buf.indexOf(0x0d, s);
      if (colon === -1 || (eol !== -1 && colon > eol)) return buf;
      return splice(buf, s, colon - s, Buffer.from(pick(random, NAMES), "latin1"));
    }
    case 8: { // swap a header value for an interesting one
      const starts = lineStarts(buf).slice(1);
      if (starts.length === 0) return buf;
      const s = pick(random, starts);
      const colon = buf.indexOf(0x3a, s);
      const eol = buf.indexOf(0x0d, s);
      if (colon === -1 || eol === -1 || colon > eol) return buf;
      return splice(buf, colon + 1, eol - colon - 1, Buffer.from(` ${pick(random, VALUES)}`, "latin1"));
    }
    default: // truncate
      return buf.subarray(0, at);
  }
}

/**
 * 1 to 4 random mutations of `buf`.
 *
 * @example
 * const input = mutate(seed, mulberry32(Number(process.env.FUZZ_SEED ?? 1)));
 */
export function mutate(buf: Buffer, random: Random): Buffer {
  let out = buf;
  for (let n = 1 + int(random, 4); n > 0; n--) out = mutateOnce(out, random);
  return out;
}
