import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIPv6, writeIPv4, writeIPv6 } from "./ip.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

test("writeIPv6: text in, its 16 bytes out, or refused", () => {
  const cases: [input: string, bytes: string | null][] = [
    ["1:2:3:4:5:6:1.2.3.4", "0001 0002 0003 0004 0005 0006 0102 0304"], // an IPv4 tail after six words
    ["::1.2.3.4", "0000 0000 0000 0000 0000 0000 0102 0304"],
    ["1::2", "0001 0000 0000 0000 0000 0000 0000 0002"],
    ["abcd:EF01::", "abcd ef01 0000 0000 0000 0000 0000 0000"],
    ["1:2:3:4:5:6:7:1.2.3.4", null], // an IPv4 tail after seven words: 18 bytes
    ["1:::2", null], // a third colon after "::"
    [":::1", null],
    ["::1::2", null], // a second "::" when the first opened the address
    ["1g::", null], // a word followed by neither ':' nor '.'
    ["fe80::1%2", null], // a zone id
    ["@::", null], // '@' and '`' are next to the hex letters once lower-cased
    ["1`::", null],
    ["/::", null], // below '0'
    ["12345::", null],
    ["123456789", null],
    ["1:", null],
    [":", null],
    ["", null],
  ];
  for (const [input, bytes] of cases) {
    const b = Buffer.alloc(16);
    assert.equal(writeIPv6(b, 0, input), bytes !== null, input);
    if (bytes !== null) assert.equal(b.toString("hex"), hex(bytes).toString("hex"), input);
  }
});

test("a refused address writes nothing past its own 4 or 16 bytes", () => {
  for (const input of ["1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:1.2.3.4", "1::2:3:4:5:6:7:8:9"]) {
    const b = Buffer.alloc(24, 0xaa);
    assert.equal(writeIPv6(b, 2, input), false, input);
    assert.equal(b.subarray(18).toString("hex"), "aa".repeat(6), input);
  }
  const b = Buffer.alloc(8, 0xaa);
  assert.equal(writeIPv4(b, 1, "1.2.3.4.5"), false);
  assert.equal(b.subarray(5).toString("hex"), "aaaaaa");
});

test("formatIPv6: 16 bytes in, the RFC 5952 text out, zeros after them not counted", () => {
  const cases: [bytes: string, text: string][] = [
    ["0001 0000 0000 0000 0000 ffff 0102 0304", "1::ffff:102:304"], // ffff after a non-zero word: not mapped
    ["0000 0000 0000 0000 0000 ff00 0102 0304", "::ff00:102:304"],
    ["0000 0000 0000 0000 0000 00ff 0102 0304", "::ff:102:304"],
    ["0000 0000 0000 0000 0000 0000 0102 0304", "::102:304"], // IPv4-compatible (deprecated): hex
    ["0000 0000 0000 0000 0000 ffff 0102 0304", "::ffff:1.2.3.4"],
    ["0000 0000 0000 0000 0001 ffff 0102 0304", "::1:ffff:102:304"],
    ["0001 0000 0000 0000 0002 0003 0000 0000", "1::2:3:0:0"], // the longer run, not the last
    ["0001 0000 0000 0002 0000 0000 0003 0004", "1::2:0:0:3:4"], // equal runs: the first
    ["0001 0002 0003 0004 0005 0006 0007 0000", "1:2:3:4:5:6:7:0"], // one zero word stays
    ["0000 0000 0000 0000 0000 0000 0000 0000", "::"],
  ];
  for (const [bytes, text] of cases) {
    // The address followed by zeros, as a v2 source is followed by a destination.
    const b = Buffer.concat([Buffer.of(0xff), hex(bytes), Buffer.alloc(16)]);
    assert.equal(formatIPv6(b, 1), text, bytes);
  }
});
