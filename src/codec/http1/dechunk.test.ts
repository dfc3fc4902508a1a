import assert from "node:assert/strict";
import { test } from "node:test";
import { BodyFramer } from "./body.ts";
import { Dechunker } from "./dechunk.ts";
import { mulberry32 } from "./fuzz.kit.ts";
import { fuzzSeed } from "../../../test/support/seed.ts";

const SEED = fuzzSeed();

function dechunk(buf: Buffer, cuts: readonly number[]): { data: Buffer; done: boolean; consumed: number } {
  const d = new Dechunker();
  const out: Buffer[] = [];
  let consumed = 0;
  for (let c = 0; c + 1 < cuts.length; c++) {
    for (let p = cuts[c]!; p < cuts[c + 1]! && !d.done; ) {
      p = d.next(buf, p, cuts[c + 1]!);
      if (d.dataEnd > d.dataStart) out.push(buf.subarray(d.dataStart, d.dataEnd));
      consumed = p;
    }
  }
  return { data: Buffer.concat(out), done: d.done, consumed };
}

test("Dechunker: data runs without the framing, extensions and trailers", () => {
  const cases: [body: string, data: string][] = [
    ["0\r\n\r\n", ""],
    ["5\r\nhello\r\n0\r\n\r\n", "hello"],
    ["5;ext=1;x=\"q;\\\"\"\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n", "hello world"],
    ["A\r\n0123456789\r\na\r\nabcdefghij\r\n0;last\r\n\r\n", "0123456789abcdefghij"],
    // every lower-case hex digit: b to f bytes, then 0x1a
    ["b\r\nbbbbbbbbbbb\r\nc\r\ncccccccccccc\r\nd\r\nddddddddddddd\r\ne\r\neeeeeeeeeeeeee\r\nf\r\nfffffffffffffff\r\n1a\r\nzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n0\r\n\r\n",
      "bbbbbbbbbbbccccccccccccdddddddddddddeeeeeeeeeeeeeefffffffffffffffzzzzzzzzzzzzzzzzzzzzzzzzzz"],
  ];
  for (const [body, data] of cases) {
    const buf = Buffer.from(body, "latin1");
    for (let cut = 0; cut <= buf.length; cut++) {
      const r = dechunk(buf, [0, cut, buf.length]);
      assert.equal(r.data.toString("latin1"), data, `${JSON.stringify(body)} cut at ${cut}`);
      assert.equal(r.done, true);
      assert.equal(r.consumed, buf.length);
    }
  }
});

test("Dechunker: it stops at the end of the body; what follows is not read", () => {
  const buf = Buffer.from("3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "latin1");
  const r = dechunk(buf, [0, buf.length]);
  assert.equal(r.data.toString(), "abc");
  assert.equal(r.consumed, buf.indexOf("HTTP"));
});

test(`Dechunker agrees with BodyFramer on random chunked bodies cut anywhere (FUZZ_SEED=${SEED})`, () => {
  const random = mulberry32(SEED);
  const int = (n: number) => Math.floor(random() * n);
  for (let i = 0; i < 2000; i++) {
    const parts: Buffer[] = [];
    const data: Buffer[] = [];
    for (let k = int(6); k > 0; k--) {
      const chunk = Buffer.alloc(1 + int(300), int(256));
      data.push(chunk);
      const ext = int(3) === 0 ? `;e${int(9)}=${int(99)}` : "";
      const hex = chunk.length.toString(16);
      parts.push(Buffer.from(`${int(2) === 0 ? hex : hex.toUpperCase()}${ext}\r\n`, "latin1"), chunk, Buffer.from("\r\n"));
    }
    parts.push(Buffer.from(`0\r\n${int(2) === 0 ? "Trailer-A: x\r\n" : ""}\r\n`, "latin1"));
    const body = Buffer.concat(parts);
    const framer = new BodyFramer();
    framer.startChunked();
    assert.equal(framer.scan(body, 0, body.length), body.length, "a valid body");
    const cuts = [0, ...Array.from({ length: int(5) }, () => int(body.length + 1)).sort((a, b) => a - b), body.length];
    const r = dechunk(body, cuts);
    assert.ok(r.data.equals(Buffer.concat(data)), `FUZZ_SEED=${SEED} case ${i}`);
    assert.equal(r.done, true);
    assert.equal(r.consumed, body.length, `FUZZ_SEED=${SEED} case ${i}: the end the framer found`);
  }
});

test("Dechunker: once done, next() reads nothing and finds no data", () => {
  const buf = Buffer.from("0\r\n\r\n2\r\nab\r\n", "latin1");
  const d = new Dechunker();
  assert.equal(d.next(buf, 0, buf.length), 5);
  assert.equal(d.done, true);
  assert.deepEqual([d.next(buf, 5, buf.length), d.dataStart, d.dataEnd, d.done], [5, 5, 5, true]);
});

/** Every data run `d` finds in `raw` (one piece), joined. */
function runs(d: Dechunker, raw: string): string {
  const buf = Buffer.from(raw, "latin1");
  let data = "";
  for (let p = 0; p < buf.length && !d.done; ) {
    p = d.next(buf, p, buf.length);
    data += buf.toString("latin1", d.dataStart, d.dataEnd);
  }
  return data;
}

test("Dechunker: reset() mid-body starts the next body clean", () => {
  // [the first body's bytes, cut anywhere, and the data found in them]
  const cases: [first: string, data: string][] = [
    ["5\r\nhel", "hel"], ["5;a=b", ""], ["5\r\nhello", "hello"], ["5\r\nhello\r", "hello"], ["0\r\nX-T: 1", ""], ["0\r\n\r\n", ""],
  ];
  for (const [first, data] of cases) {
    const d = new Dechunker();
    assert.equal(runs(d, first), data, first);
    d.reset();
    assert.deepEqual([d.done, d.dataStart, d.dataEnd], [false, 0, 0]);
    assert.deepEqual([runs(d, "3\r\nabc\r\n0\r\n\r\n"), d.done], ["abc", true], `after ${JSON.stringify(first)}`);
  }
});
