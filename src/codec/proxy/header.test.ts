import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeProxyV1, encodeProxyV2 } from "./encode.ts";
import { PROXY_NEED_MORE, PROXY_V2_SIGNATURE, ProxyError, ProxyHeader, parseProxyHeader, proxyErrorText } from "./header.ts";
import { formatIPv6, writeIPv4, writeIPv6 } from "./ip.ts";

const h = new ProxyHeader();
const parse = (b: Buffer | string, end?: number) => {
  const buf = typeof b === "string" ? Buffer.from(b, "latin1") : b;
  return parseProxyHeader(buf, end ?? buf.length, h);
};
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const SIG = Buffer.from(PROXY_V2_SIGNATURE).toString("hex");

test("v1: valid headers give the client's address and the header length", () => {
  const cases: [input: string, family: number, src: string, sport: number, dst: string, dport: number][] = [
    ["PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n", 4, "203.0.113.7", 51234, "10.0.0.1", 443],
    ["PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", 4, "0.0.0.0", 0, "255.255.255.255", 65535],
    ["PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n", 6, "2001:db8::7", 1, "2001:db8::1", 2],
    ["PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::1 1 2\r\n", 6, "2001:db8::7", 1, "::1", 2],
    ["PROXY TCP6 ::ffff:10.1.2.3 ::ffff:10.0.0.1 9 9\r\n", 6, "::ffff:10.1.2.3", 9, "::ffff:10.0.0.1", 9],
  ];
  for (const [input, family, src, sport, dst, dport] of cases) {
    assert.equal(parse(`${input}GET / HTTP/1.1\r\n`), input.length, input);
    assert.deepEqual([h.version, h.hasAddress, h.family, h.source, h.sourcePort, h.destination, h.destinationPort], [1, true, family, src, sport, dst, dport], input);
  }
});

test("v1: UNKNOWN carries no address; whatever follows it on the line is ignored", () => {
  for (const input of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"]) {
    assert.equal(parse(input), input.length);
    assert.equal(h.version, 1);
    assert.equal(h.hasAddress, false);
  }
});

test("v1: malformed headers are refused with a reason", () => {
  const cases: [input: string, code: number][] = [
    ["GET / HTTP/1.1\r\n\r\n", ProxyError.NOT_PROXY],
    ["PROXX TCP4", ProxyError.NOT_PROXY],
    ["proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", ProxyError.NOT_PROXY],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", ProxyError.BAD_V1],
    ["PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n", ProxyError.BAD_V1],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", ProxyError.BAD_V1],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", ProxyError.BAD_V1],
    ["PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", ProxyError.BAD_V1],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 2\t\r\n", ProxyError.BAD_V1],
    ["PROXY TCP4 1.2.3.4\x00 1.2.3.4 1 2\r\n", ProxyError.BAD_V1],
    ["PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 ::1 1.2.3.4 1 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 080 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", ProxyError.BAD_ADDRESS],
    [`PROXY UNKNOWN ${"x".repeat(100)}\r\n`, ProxyError.TOO_LONG],
  ];
  for (const [input, code] of cases) assert.equal(parse(input), code, JSON.stringify(input));
});

test("v1: a partial header needs more, and a wrong byte is refused as soon as it arrives", () => {
  const full = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n";
  for (let n = 0; n < full.length; n++) assert.equal(parse(full.slice(0, n)), PROXY_NEED_MORE, `${n} bytes`);
  assert.equal(parse("PRO"), PROXY_NEED_MORE);
  assert.equal(parse("PRE"), ProxyError.NOT_PROXY);
  assert.equal(parse(`PROXY UNKNOWN ${"x".repeat(90)}`), PROXY_NEED_MORE);
  assert.equal(parse(`PROXY UNKNOWN ${"x".repeat(95)}`), ProxyError.TOO_LONG);
});

test("v2: PROXY over TCP4 and TCP6, with TLVs", () => {
  const v4 = hex(`${SIG} 21 11 000c cb007107 0a000001 c822 01bb`);
  assert.equal(parse(Buffer.concat([v4, Buffer.from("GET")])), 28);
  assert.deepEqual([h.version, h.hasAddress, h.family, h.source, h.sourcePort, h.destination, h.destinationPort], [2, true, 4, "203.0.113.7", 51234, "10.0.0.1", 443]);
  const v6 = hex(`${SIG} 21 21 0024 20010db8000000000000000000000007 20010db8000000000000000000000001 0001 0002`);
  assert.equal(parse(v6), 52);
  assert.deepEqual([h.family, h.source, h.destination, h.sourcePort, h.destinationPort], [6, "2001:db8::7", "2001:db8::1", 1, 2]);
  // AUTHORITY (0x02) and a NOOP (0x04), as AWS NLB and HAProxy send them
  const tlv = hex(`${SIG} 21 11 001b cb007107 0a000001 c822 01bb 02 0007 ${Buffer.from("a.b.com").toString("hex")} 04 0002 0000`);
  assert.equal(parse(tlv), tlv.length);
  assert.equal(h.authority, "a.b.com");
});

test("v2: LOCAL, UNSPEC and UNIX carry no client address", () => {
  const cases = [
    hex(`${SIG} 20 00 0000`), // LOCAL (a health check)
    hex(`${SIG} 20 11 000c 01020304 05060708 0001 0002`), // LOCAL with addresses: ignored
    hex(`${SIG} 21 00 0000`), // PROXY, UNSPEC
    Buffer.concat([hex(`${SIG} 21 31 00d8`), Buffer.alloc(216)]), // PROXY over UNIX stream
    hex(`${SIG} 20 ff 0003 010203`), // LOCAL, unknown family: skipped
  ];
  for (const c of cases) {
    assert.equal(parse(c), c.length, c.toString("hex"));
    assert.equal(h.version, 2);
    assert.equal(h.hasAddress, false);
  }
});

test("v2: malformed headers are refused with a reason", () => {
  const cases: [input: Buffer, code: number][] = [
    [hex(`${SIG} 11 11 000c 01020304 05060708 0001 0002`), ProxyError.BAD_VERSION],
    [hex(`${SIG} 22 11 000c 01020304 05060708 0001 0002`), ProxyError.BAD_COMMAND],
    [hex(`${SIG} 21 12 000c 01020304 05060708 0001 0002`), ProxyError.BAD_FAMILY], // UDP
    [hex(`${SIG} 21 41 000c 01020304 05060708 0001 0002`), ProxyError.BAD_FAMILY],
    [hex(`${SIG} 21 11 000b 01020304 05060708 0001 00`), ProxyError.BAD_LENGTH],
    [hex(`${SIG} 21 21 000c 01020304 05060708 0001 0002`), ProxyError.BAD_LENGTH],
    [hex(`${SIG} 21 11 000e 01020304 05060708 0001 0002 0200`), ProxyError.BAD_TLV],
    [hex(`${SIG} 21 11 0010 01020304 05060708 0001 0002 02 0005 0000`), ProxyError.BAD_TLV],
    [hex(`${SIG} 21 11 ffff`), ProxyError.TOO_LONG],
    [hex("0d0a0d0a000d0a515549540b"), ProxyError.NOT_PROXY],
    [hex("0d0a474554"), ProxyError.NOT_PROXY],
  ];
  for (const [input, code] of cases) assert.equal(parse(input), code, input.toString("hex"));
});

test("v2: every prefix of a valid header needs more", () => {
  const full = hex(`${SIG} 21 11 000c cb007107 0a000001 c822 01bb`);
  for (let n = 0; n < full.length; n++) assert.equal(parse(full, n), PROXY_NEED_MORE, `${n} bytes`);
});

test("encode: v1 and v2 round-trip through the parser; mapped IPv4 is sent as IPv4", () => {
  const cases: [src: string, sport: number, dst: string, dport: number, family: number, srcOut: string, dstOut: string][] = [
    ["203.0.113.7", 51234, "10.0.0.1", 443, 4, "203.0.113.7", "10.0.0.1"],
    ["::ffff:203.0.113.7", 1, "::ffff:127.0.0.1", 2, 4, "203.0.113.7", "127.0.0.1"],
    ["2001:db8::7", 3, "2001:db8::1", 4, 6, "2001:db8::7", "2001:db8::1"],
    ["203.0.113.7", 5, "2001:db8::1", 6, 6, "::ffff:203.0.113.7", "2001:db8::1"],
    ["::1", 65535, "::", 0, 6, "::1", "::"],
  ];
  for (const [src, sport, dst, dport, family, srcOut, dstOut] of cases) {
    for (const enc of [encodeProxyV1, encodeProxyV2]) {
      const b = enc(src, sport, dst, dport);
      assert.equal(parse(b), b.length, `${enc.name} ${src}`);
      assert.deepEqual([h.hasAddress, h.family, h.source, h.sourcePort, h.destination, h.destinationPort], [true, family, srcOut, sport, dstOut, dport], `${enc.name} ${src}`);
    }
  }
  assert.equal(encodeProxyV1("203.0.113.7", 51234, "10.0.0.1", 443).toString(), "PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n");
  const withAuthority = encodeProxyV2("1.2.3.4", 1, "5.6.7.8", 2, "db.example.com");
  assert.equal(parse(withAuthority), withAuthority.length);
  assert.equal(h.authority, "db.example.com");
});

test("encode: addresses that are not IP give UNKNOWN (v1) and LOCAL (v2)", () => {
  for (const [src, dst] of [["", "1.2.3.4"], ["/tmp/sock", "::1"], ["1.2.3.4", "not-an-ip"]] as const) {
    assert.equal(encodeProxyV1(src, 1, dst, 2).toString(), "PROXY UNKNOWN\r\n");
    const v2 = encodeProxyV2(src, 1, dst, 2);
    assert.equal(parse(v2), 16);
    assert.equal(h.hasAddress, false);
    assert.equal(v2[12], 0x20);
  }
});

test("ip: IPv6 text to bytes and back in the RFC 5952 form", () => {
  const cases: [input: string, canonical: string | null][] = [
    ["::", "::"], ["::1", "::1"], ["1::", "1::"], ["2001:DB8::1", "2001:db8::1"], ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"], ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["64:ff9b::1.2.3.4", "64:ff9b::102:304"], ["0:0:0:0:0:0:0:0", "::"], ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    [":1", null], ["1:", null], [":::", null], ["1::2::3", null], ["1:2:3:4:5:6:7:8:9", null], ["1:2:3:4:5:6:7", null],
    ["12345::", null], ["g::", null], ["::1.2.3", null], ["1.2.3.4", null], ["::1.2.3.4:5", null], ["1:2:3:4:5:6:7::8", null], [":", null], ["", null],
  ];
  const b = new Uint8Array(16);
  for (const [input, canonical] of cases) {
    const ok = writeIPv6(b, 0, input);
    assert.equal(ok, canonical !== null, input);
    if (ok) assert.equal(formatIPv6(b, 0), canonical, input);
  }
  for (const bad of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "01.1.1.1", "a.b.c.d", ""]) assert.equal(writeIPv4(b, 0, bad), false, bad);
});

test("results: need-more is -1, every refusal negative and distinct, each with its own text", () => {
  assert.equal(PROXY_NEED_MORE, -1);
  const texts: [code: number, text: string][] = [
    [ProxyError.NOT_PROXY, "the connection did not start with a PROXY protocol header"],
    [ProxyError.BAD_V1, "malformed PROXY v1 header"],
    [ProxyError.TOO_LONG, "PROXY header too long"],
    [ProxyError.BAD_VERSION, "unsupported PROXY v2 version"],
    [ProxyError.BAD_COMMAND, "unknown PROXY v2 command"],
    [ProxyError.BAD_FAMILY, "unsupported PROXY v2 address family (only TCP over IPv4/IPv6, UNIX or UNSPEC)"],
    [ProxyError.BAD_LENGTH, "PROXY v2 length too short for its address family"],
    [ProxyError.BAD_ADDRESS, "invalid address or port in PROXY header"],
    [ProxyError.BAD_TLV, "malformed PROXY v2 TLV"],
  ];
  assert.deepEqual(Object.values(ProxyError).sort(), texts.map(([c]) => c).sort());
  assert.equal(new Set([PROXY_NEED_MORE, ...Object.values(ProxyError)]).size, 10);
  for (const [code, text] of texts) {
    assert.ok(code < -1, String(code));
    assert.equal(proxyErrorText[code], text);
  }
});

test("a new ProxyHeader reads as no header, and each parse clears what the last one read", () => {
  const fields = (x: ProxyHeader) => [x.version, x.hasAddress, x.family, x.source, x.sourcePort, x.destination, x.destinationPort, x.authority];
  const none = [0, false, 0, "", 0, "", 0, undefined];
  assert.deepEqual(fields(new ProxyHeader()), none);
  const full = encodeProxyV2("1.2.3.4", 1, "5.6.7.8", 2, "a.b");
  const after: [input: Buffer, expected: unknown[]][] = [
    [Buffer.from("PROXY UNKNOWN\r\n"), [1, false, 0, "", 0, "", 0, undefined]],
    [hex(`${SIG} 20 00 0000`), [2, false, 0, "", 0, "", 0, undefined]],
    [Buffer.from("GET /"), none],
  ];
  for (const [input, expected] of after) {
    assert.equal(parse(full), full.length);
    assert.deepEqual(fields(h), [2, true, 4, "1.2.3.4", 1, "5.6.7.8", 2, "a.b"]);
    parse(input);
    assert.deepEqual(fields(h), expected, input.toString("latin1"));
  }
});

test("v1: edge rows, bytes in and the result out", () => {
  const line = (n: number) => `PROXY UNKNOWN ${"x".repeat(n - 14)}`; // n bytes, no LF yet
  const cases: [input: string, result: number][] = [
    [line(106), PROXY_NEED_MORE],
    [line(107), ProxyError.TOO_LONG], // the longest line is 107 bytes with its CRLF
    [`${line(105)}\r\n`, 107],
    ["PROXY UNKNOWN ~}\r\n", 18], // printable to the last one
    ["PROXY UNKNOWN \x7f\r\n", ProxyError.BAD_V1],
    ["PROXY UNKNOWN \xe9\r\n", ProxyError.BAD_V1],
    ["PROXY TCP4 1.2.3.4 1.2.3.4  2\r\n", ProxyError.BAD_ADDRESS], // an empty port
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1a 2\r\n", ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 5/ 2\r\n", ProxyError.BAD_ADDRESS], // '/' is just below '0'
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 :\r\n", ProxyError.BAD_ADDRESS], // ':' is just above '9'
    ["PROXY TCP4 1.2.3.4 1.2.3.4 100000 2\r\n", ProxyError.BAD_ADDRESS],
    [`PROXY TCP4 1.2.3.4 1.2.3.4 ${"9".repeat(60)} 2\r\n`, ProxyError.BAD_ADDRESS],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 0 2\r\n", 32],
    ["", PROXY_NEED_MORE],
  ];
  for (const [input, result] of cases) assert.equal(parse(input), result, JSON.stringify(input));
});

test("v2: edge rows, bytes in and the result out", () => {
  const noop = (n: number) => `04 ${n.toString(16).padStart(4, "0")} ${"00".repeat(n)}`;
  const cases: [label: string, input: Buffer, result: number, authority?: string, source?: string][] = [
    ["4096 bytes in all", hex(`${SIG} 20 00 0ff0 ${noop(4077)}`), 4096],
    ["4097 bytes in all", hex(`${SIG} 20 00 0ff1 ${noop(4078)}`), ProxyError.TOO_LONG],
    ["a bad TLV after PROXY UNSPEC", hex(`${SIG} 21 00 0004 02 0005 00`), ProxyError.BAD_TLV],
    ["AUTHORITY after PROXY UNSPEC", hex(`${SIG} 21 00 0004 02 0001 61`), 20, "a"],
    ["AUTHORITY after LOCAL: ignored", hex(`${SIG} 20 11 0010 01020304 05060708 0001 0002 02 0001 61`), 32, undefined],
    ["an empty TLV at the very end", hex(`${SIG} 21 11 000f 01020304 05060708 0001 0002 04 0000`), 31, undefined],
    ["a source whose last zeros run into the destination's", hex(`${SIG} 21 21 0024 0001000000000000000200030000 0000 ${"00".repeat(15)}01 0001 0002`), 52, undefined, "1::2:3:0:0"],
  ];
  for (const [label, input, result, authority, source] of cases) {
    assert.equal(parse(Buffer.concat([input, Buffer.from("GET / HTTP/1.1\r\n")]), input.length), result, label);
    if (result < 0) continue;
    assert.equal(h.authority, authority, label);
    if (source !== undefined) assert.equal(h.source, source, label);
  }
});

test("v2: a prefix alone in its own buffer needs more", () => {
  const full = hex(`${SIG} 21 11 000c cb007107 0a000001 c822 01bb`);
  for (let n = 0; n < full.length; n++) assert.equal(parse(Buffer.from(full.subarray(0, n))), PROXY_NEED_MORE, `${n} bytes`);
});
