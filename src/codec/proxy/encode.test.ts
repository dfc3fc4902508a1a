import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeProxyV1, encodeProxyV2 } from "./encode.ts";

const SIG = "0d0a0d0a000d0a515549540a";
const hex = (s: string) => s.replace(/\s+/g, "");

test("encodeProxyV1: addresses and ports in, the exact line out", () => {
  const cases: [src: string, sport: number, dst: string, dport: number, line: string][] = [
    ["2001:db8::7", 1, "10.0.0.1", 2, "PROXY TCP6 2001:db8::7 ::ffff:10.0.0.1 1 2\r\n"], // IPv6 and IPv4: both as IPv6
    ["10.0.0.1", 1, "::ffff:10.0.0.2", 2, "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n"],
    ["::ffff:1", 1, "::1", 2, "PROXY TCP6 ::ffff:1 ::1 1 2\r\n"], // "::ffff:" before a word, not a dotted quad: IPv6
    ["1.2.3.4", 0, "5.6.7.8", 65535, "PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n"],
    ["1.2.3.4", -1, "5.6.7.8", 2, "PROXY UNKNOWN\r\n"],
    ["1.2.3.4", 1, "5.6.7.8", 65536, "PROXY UNKNOWN\r\n"],
    ["1.2.3.4", 1.5, "5.6.7.8", 2, "PROXY UNKNOWN\r\n"],
    ["1.2.3.4", 1, "5.6.7.8", Number.NaN, "PROXY UNKNOWN\r\n"],
    ["1.2.3.4", 1, "::ffff:", 2, "PROXY UNKNOWN\r\n"],
  ];
  for (const [src, sport, dst, dport, line] of cases) {
    assert.equal(encodeProxyV1(src, sport, dst, dport).toString("latin1"), line, `${src} ${sport} ${dst} ${dport}`);
  }
});

test("encodeProxyV2: addresses, ports and authority in, the exact bytes out", () => {
  const cases: [src: string, sport: number, dst: string, dport: number, authority: string | undefined, bytes: string][] = [
    ["1.2.3.4", 1, "5.6.7.8", 2, undefined, `${SIG} 21 11 000c 01020304 05060708 0001 0002`],
    ["1.2.3.4", 1, "5.6.7.8", 2, "", `${SIG} 21 11 000c 01020304 05060708 0001 0002`], // an empty authority: no TLV
    ["1.2.3.4", 1, "5.6.7.8", 2, "\u00e9.x", `${SIG} 21 11 0012 01020304 05060708 0001 0002 02 0003 e9 2e 78`], // one byte a character
    ["::1", 1, "1.2.3.4", 2, "a", `${SIG} 21 21 0028 ${"00".repeat(15)}01 ${"00".repeat(10)}ffff01020304 0001 0002 02 0001 61`],
    ["1.2.3.4", 65536, "5.6.7.8", 2, "a", `${SIG} 20 00 0000`], // LOCAL: no addresses, no TLV
    ["1.2.3.4", 1, "5.6.7.8", -1, undefined, `${SIG} 20 00 0000`],
    ["1.2.3.4", 1, "5.6.7.8", 0.5, undefined, `${SIG} 20 00 0000`],
  ];
  for (const [src, sport, dst, dport, authority, bytes] of cases) {
    assert.equal(encodeProxyV2(src, sport, dst, dport, authority).toString("hex"), hex(bytes), `${src} ${sport} ${dst} ${dport} ${authority}`);
  }
});
