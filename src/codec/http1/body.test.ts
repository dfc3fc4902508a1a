import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BAD_CHUNK, BodyFramer, NEED_MORE } from "./body.ts";
import { bytes } from "./corpus.kit.ts";
import { mulberry32 } from "./fuzz.kit.ts";

// Bytes in, end offsets out. Each piece is fed as its own Buffer, as socket reads are,
// so the framer's state has to carry everything across pieces.

const NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

/**
 * Feeds `buf[start..)` in pieces of `size(i)` bytes. Returns the absolute offset where
 * the body ends, NEED_MORE or BAD_CHUNK.
 */
function feed(f: BodyFramer, buf: Buffer, start: number, size: (i: number) => number): number {
  let pos = start;
  for (let i = 0; pos < buf.length; i++) {
    const n = Math.max(1, Math.min(size(i), buf.length - pos));
    const piece = Buffer.from(buf.subarray(pos, pos + n));
    const r = f.scan(piece, 0, n);
    if (r === BAD_CHUNK) return BAD_CHUNK;
    if (r !== NEED_MORE) return pos + r;
    pos += n;
  }
  return NEED_MORE;
}

function chunked(body: string, size: (i: number) => number = () => 1 << 30): number {
  const f = new BodyFramer();
  f.startChunked();
  return feed(f, bytes(body), 0, size);
}

/** Every way the tests split a message: whole, 1, 2 and 3 bytes, each 2-piece split, random sizes. */
function splits(len: number): [string, (i: number) => number][] {
  const out: [string, (i: number) => number][] = [["whole", () => len], ["1-byte", () => 1], ["2-byte", () => 2], ["3-byte", () => 3]];
  for (let k = 1; k < len; k++) out.push([`split at ${k}`, (i) => (i === 0 ? k : len)]);
  for (let seed = 1; seed <= 20; seed++) {
    const random = mulberry32(seed);
    out.push([`random sizes, seed ${seed}`, () => 1 + Math.floor(random() * 9)]);
  }
  return out;
}

describe("Content-Length", () => {
  const head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
  const msg = bytes(`${head}hello world${NEXT}`);
  test("ends at the same offset however the bytes are split, and leaves the next request", () => {
    for (const [name, size] of splits(msg.length - head.length)) {
      const f = new BodyFramer();
      f.startLength(11);
      assert.equal(feed(f, msg, head.length, size), head.length + 11, name);
      assert.equal(f.done, true);
    }
  });

  test("NEED_MORE until the last byte", () => {
    const f = new BodyFramer();
    f.startLength(3);
    assert.equal(f.scan(bytes("ab"), 0, 2), NEED_MORE);
    assert.equal(f.done, false);
    assert.equal(f.scan(bytes("cd"), 0, 2), 1);
    assert.equal(f.scan(bytes("x"), 0, 1), 0, "done: nothing more belongs to the body");
  });

  test("a piece that ends exactly at the body's end: done with it, not with the next piece", () => {
    const f = new BodyFramer();
    f.startLength(2);
    assert.equal(f.scan(bytes("xab"), 1, 3), 3);
    assert.equal(f.done, true);
  });

  test("length 0 and none() are done at once", () => {
    const f = new BodyFramer();
    f.startLength(0);
    assert.equal(f.done, true);
    assert.equal(f.scan(bytes(NEXT), 5, 10), 5);
    f.none();
    assert.equal(f.done, true);
  });

  test("until close never ends", () => {
    const f = new BodyFramer();
    f.startUntilClose();
    assert.equal(f.untilClose, true);
    assert.equal(f.scan(bytes(`0\r\n\r\n${NEXT}`), 0, 10), NEED_MORE);
    assert.equal(f.done, false);
  });
});

describe("chunked", () => {
  const body = '5;name=value;flag;q="a \\"quoted\\" \xe9"\r\nhello\r\nB\r\n world, and\r\n0;last\r\nX-Trailer: 1\r\nX-Empty:\r\n\r\n';
  const msg = `${body}${NEXT}`;
  test("ends at the same offset in 1-byte, 2-byte, random pieces and every 2-piece split", () => {
    for (const [name, size] of splits(msg.length)) assert.equal(chunked(msg, size), body.length, name);
  });

  test("pipelined bytes after the end are not consumed", () => {
    const f = new BodyFramer();
    f.startChunked();
    const buf = bytes(`xx0\r\n\r\n${NEXT}`);
    assert.equal(f.scan(buf, 2, buf.length), 7);
    assert.equal(f.done, true);
  });

  test("NEED_MORE while incomplete, at every prefix", () => {
    for (let len = 0; len < body.length; len++) assert.equal(chunked(body.slice(0, len)), NEED_MORE, `prefix ${len}`);
  });

  const valid: [string, string][] = [
    ["last chunk only", "0\r\n\r\n"],
    ["upper- and lower-case hex", "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n"],
    ["leading zeros", "0005\r\nhello\r\n000\r\n\r\n"],
    ["13 hex digits", "0000000000001\r\nx\r\n0\r\n\r\n"],
    ["extension name only", "1;a\r\nx\r\n0\r\n\r\n"],
    ["token value", "1;a=b\r\nx\r\n0\r\n\r\n"],
    ["several extensions", "1;a=b;c;d=e\r\nx\r\n0;z\r\n\r\n"],
    ["quoted value with spaces", '1;a="b c"\r\nx\r\n0\r\n\r\n'],
    ["quoted-pair", '1;a="\\"\\\\"\r\nx\r\n0\r\n\r\n'],
    ["quoted then another", '1;a="b";c\r\nx\r\n0\r\n\r\n'],
    ["empty quoted value", '1;a=""\r\nx\r\n0\r\n\r\n'],
    ["data holding CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n"],
    ["trailers", "0\r\nA: 1\r\nB:\t2 \r\n\r\n"],
    ["trailer named like Content-Length", "0\r\nContent-Lengthx: 1\r\nContent-Lengt: 1\r\n\r\n"],
    ["Host trailer", "0\r\nHost: a\r\n\r\n"],
    ["trailers of 14 and 17 bytes, as long as Content-Length and Transfer-Encoding", "0\r\nX-Fourteen-Chr: 1\r\nX-Seventeen-Chars: 1\r\n\r\n"],
    ["trailer named like Transfer-Encoding", "0\r\nTransfer-Encodingx: 1\r\nTransfer-Encodin: 1\r\nT: 1\r\n\r\n"],
  ];
  for (const [name, raw] of valid) {
    test(`valid: ${name}`, () => {
      assert.equal(chunked(`${raw}${NEXT}`), raw.length, "whole");
      assert.equal(chunked(`${raw}${NEXT}`, () => 1), raw.length, "1-byte");
    });
  }

  const malformed: [string, string][] = [
    ["non-hex size", "g\r\n"],
    ["empty size", "\r\n"],
    ["0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"],
    ["a colon, the byte after 9, in the size", "1:\r\nx\r\n0\r\n\r\n"],
    ["minus", "-5\r\n"],
    ["plus", "+5\r\n"],
    ["more than 13 hex digits", "00000000000001\r\nx\r\n0\r\n\r\n"],
    ["overflowing size", "fffffffffffffffff\r\n"],
    ["space before the size", " 5\r\n"],
    ["space after the size", "5 \r\nhello\r\n0\r\n\r\n"],
    ["tab after the size", "5\t\r\nhello\r\n0\r\n\r\n"],
    ["space before ;", "5 ;a\r\nhello\r\n0\r\n\r\n"],
    ["space after ;", "5; a\r\nhello\r\n0\r\n\r\n"],
    ["empty extension name", "5;\r\nhello\r\n0\r\n\r\n"],
    ["empty extension between ;;", "5;a;;b\r\nhello\r\n0\r\n\r\n"],
    ["empty extension value", "5;a=\r\nhello\r\n0\r\n\r\n"],
    ["two =", "5;a=b=c\r\nhello\r\n0\r\n\r\n"],
    ["space in an extension", "5;a b\r\nhello\r\n0\r\n\r\n"],
    ["obs-text in a token", "5;a=\xe9\r\nhello\r\n0\r\n\r\n"],
    ["quoted name", '5;"a"\r\nhello\r\n0\r\n\r\n'],
    ["bytes after a quoted value", '5;a="b"c\r\nhello\r\n0\r\n\r\n'],
    ["a token after a quoted value", '5;a="b"cd\r\nhello\r\n0\r\n\r\n'],
    ["space before a quoted value", '5;a= "b"\r\nhello\r\n0\r\n\r\n'],
    ["a value that only ends with a quote", '5;a= b"\r\nhello\r\n0\r\n\r\n'],
    ["unterminated quote", '5;a="b\r\nhello\r\n0\r\n\r\n'],
    ["CTL in a quoted-pair", '5;a="\\\x01"\r\nhello\r\n0\r\n\r\n'],
    ["bare LF in an extension", "5;a\nb\r\nhello\r\n0\r\n\r\n"],
    ["LF-only size line", "5\nhello\r\n0\r\n\r\n"],
    ["CR without LF after the size", "5\rhello\r\n0\r\n\r\n"],
    ["LF-only after data", "5\r\nhello\n0\r\n\r\n"],
    ["another byte in place of the CR after data", "5\r\nhello!\n0\r\n\r\n"],
    ["missing CRLF after data", "5\r\nhello0\r\n\r\n"],
    ["data longer than its size", "5\r\nhello!\r\n0\r\n\r\n"],
    ["LF-only last chunk", "0\n\r\n"],
    ["LF-only final line", "0\r\n\n"],
    ["trailer without a colon", "0\r\nX-T\r\n\r\n"],
    ["space before a trailer colon", "0\r\nX-T : 1\r\n\r\n"],
    ["folded trailer", "0\r\nX-T: 1\r\n 2\r\n\r\n"],
    ["NUL in a trailer", "0\r\nX-T: \0\r\n\r\n"],
    ["bare CR in a trailer", "0\r\nX-T: a\rb\r\n\r\n"],
    ["LF-only trailer", "0\r\nX-T: 1\n\r\n"],
    ["Content-Length trailer", "0\r\nContent-Length: 50\r\n\r\n"],
    ["content-length trailer, empty", "0\r\ncontent-length:\r\n\r\n"],
    ["Transfer-Encoding trailer", "0\r\nTransfer-Encoding: chunked\r\n\r\n"],
  ];
  for (const [name, raw] of malformed) {
    test(`malformed: ${name}`, () => {
      assert.equal(chunked(raw), BAD_CHUNK, "whole");
      assert.equal(chunked(raw, () => 1), BAD_CHUNK, "1-byte");
    });
  }

  test("a reused framer starts clean after a half-read trailer name", () => {
    const f = new BodyFramer();
    f.startChunked();
    assert.equal(feed(f, bytes("0\r\nContent-Le"), 0, () => 100), NEED_MORE);
    f.startChunked();
    assert.equal(feed(f, bytes("0\r\ngth: 1\r\n\r\n"), 0, () => 100), 13, "'gth' is a new, harmless name");
  });

  test("a 13-digit size is taken exactly", () => {
    const f = new BodyFramer();
    f.startChunked();
    assert.equal(f.scan(bytes("fffffffffffff\r\n"), 0, 15), NEED_MORE);
    const big = Buffer.alloc(1 << 20);
    assert.equal(f.scan(big, 0, big.length), NEED_MORE, "2^52 - 1 bytes of data are still to come");
  });
});

describe("the event-stream tail (trackTail) and chunk boundaries", () => {
  const start = {
    chunked: (f: BodyFramer) => f.startChunked(),
    length5: (f: BodyFramer) => f.startLength(5),
    close: (f: BodyFramer) => f.startUntilClose(),
  };
  // [name, framing, bytes, the last 4 data bytes (oldest in the high byte)]
  const tails: [string, keyof typeof start, string, number][] = [
    ["chunked: sizes, extensions, CRLFs and trailers are not data", "chunked", "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n", 0x62636465],
    ["chunked: fewer than 4 data bytes", "chunked", "2\r\nab\r\n0\r\n\r\n", 0x6162],
    ["Content-Length: the bytes past the body are not data", "length5", "hellonext", 0x656c6c6f],
    ["until close, a byte over 0x7f oldest: unsigned", "close", "ab\xe9\n\r\n", 0xe90a0d0a],
  ];
  for (const [name, framing, raw, want] of tails) {
    test(`dataTail: ${name}, however the bytes are split`, () => {
      for (const [split, size] of splits(raw.length)) {
        const f = new BodyFramer();
        f.trackTail = true;
        start[framing](f);
        feed(f, bytes(raw), 0, size);
        assert.equal(f.dataTail, want, split);
      }
    });
  }

  test("dataTail stays 0 without trackTail", () => {
    for (const [, framing, raw] of tails) {
      const f = new BodyFramer();
      start[framing](f);
      feed(f, bytes(raw), 0, () => 1);
      assert.equal(f.dataTail, 0, raw);
    }
  });

  test("atChunkStart: before the first chunk and between chunks only", () => {
    const f = new BodyFramer();
    f.startLength(3);
    assert.equal(f.atChunkStart, false, "a Content-Length body has no chunks");
    f.startChunked();
    const steps: [string, boolean][] = [
      ["", true], ["5", false], ["\r", false], ["\n", false], ["hel", false], ["lo\r", false], ["\n", true],
      ["1", false], ["0", false], ["\r\n", false], ["0123456789abcdef\r\n", true], ["0\r\n", false], ["\r\n", false],
    ];
    for (const [piece, want] of steps) {
      if (piece !== "") f.scan(bytes(piece), 0, piece.length);
      assert.equal(f.atChunkStart, want, `after ${JSON.stringify(piece)}`);
    }
    assert.equal(f.done, true);
  });
});
