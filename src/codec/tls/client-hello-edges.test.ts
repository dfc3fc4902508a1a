import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientHello, HELLO_MAX, HELLO_NEED_MORE, HelloError, helloErrorText, peekClientHello } from "./client-hello.ts";
import { alpnData, buildClientHello, ext, record, reframe, sniData } from "./testing.kit.ts";

// Hand-made hellos, bytes in and the answer out: the edges of every length and check.
const h = new ClientHello();
const peek = (b: Uint8Array, end = b.length) => peekClientHello(b, end, h);
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const M = HelloError.MALFORMED;

/** A handshake message of type 1 around `body`, in one record. */
function hello(body: Buffer): Buffer {
  const hs = Buffer.alloc(4);
  hs[0] = 1;
  hs.writeUIntBE(body.length, 1, 3);
  return record(Buffer.concat([hs, body]));
}
const RANDOM = "0303" + "07".repeat(32); // legacy_version, random
/** A ClientHello body from its fields as hex: session id, suites, compression, then the rest. */
const body = (sid: string, suites: string, comp: string, rest = "") => hex(RANDOM + sid + suites + comp + rest);

test("results: need-more is -1, every refusal negative and distinct, each with its own text", () => {
  assert.equal(HELLO_NEED_MORE, -1);
  assert.equal(HELLO_MAX, 16384);
  const texts: [code: number, text: string][] = [
    [HelloError.NOT_TLS, "the client did not start a TLS handshake"],
    [HelloError.NOT_CLIENT_HELLO, "the first TLS handshake message is not a ClientHello"],
    [HelloError.MALFORMED, "malformed TLS ClientHello"],
    [HelloError.TOO_LONG, "TLS ClientHello too long"],
  ];
  assert.deepEqual(Object.values(HelloError).sort(), texts.map(([c]) => c).sort());
  assert.equal(new Set([HELLO_NEED_MORE, ...Object.values(HelloError)]).size, 5);
  for (const [code, text] of texts) {
    assert.ok(code < -1, String(code));
    assert.equal(helloErrorText[code], text);
  }
});

test("records: the header's bytes and lengths, bytes in and the answer out", () => {
  const ok = buildClientHello(undefined);
  const payload = ok.subarray(5);
  const withVersion = (v: number) => Buffer.concat([Buffer.of(0x16, 0x03, v), ok.subarray(3)]);
  const big = (n: number) => Buffer.concat([Buffer.of(0x16, 0x03, 0x01, n >> 8, n & 0xff, 0x01)]);
  const cases: [label: string, input: Buffer, result: number][] = [
    ["record version 3.4", withVersion(4), ok.length],
    ["record version 3.5", withVersion(5), HelloError.NOT_TLS],
    ["record version 3.5, header cut after it", Buffer.of(0x16, 0x03, 0x05), HelloError.NOT_TLS],
    ["record version 3.4, header cut after it", Buffer.of(0x16, 0x03, 0x04), HELLO_NEED_MORE],
    ["not 0x03 after 0x16", Buffer.of(0x16, 0x02, 0x01, 0x00, 0x05), HelloError.NOT_TLS],
    ["a record of 16640 bytes (the most TLS allows), its start", big(16640), HELLO_NEED_MORE],
    ["a record of 16641 bytes", big(16641), M],
    ["a hello of 16384 bytes, its start", record(Buffer.of(1, 0x00, 0x40, 0x00)), HELLO_NEED_MORE],
    ["a hello of 16385 bytes", record(Buffer.of(1, 0x00, 0x40, 0x01)), HelloError.TOO_LONG],
    ["a second record that is not a handshake", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x17, 0x03, 0x03, 0x00, 0x01, 0x00)]), M],
    ["a second record of another version", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x16, 0x03, 0x05, 0x00, 0x01, 0x00)]), M],
    ["a second record's first byte alone, wrong", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x17)]), M],
    ["a second record's second byte, wrong", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x16, 0x02)]), M],
    ["a second record's third byte, wrong", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x16, 0x03, 0x05)]), M],
    ["a second record's header, cut", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x16, 0x03, 0x03, 0x00)]), HELLO_NEED_MORE],
    ["an empty second record", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x16, 0x03, 0x03, 0x00, 0x00)]), M],
    ["the hello in two records, cut after 10 bytes", reframe(ok, [10]), reframe(ok, [10]).length],
    ["a ServerHello in a record cut after its type", Buffer.of(0x16, 0x03, 0x03, 0x00, 0x30, 0x02), HelloError.NOT_CLIENT_HELLO],
    ["a record cut before its payload", Buffer.of(0x16, 0x03, 0x03, 0x00, 0x30), HELLO_NEED_MORE],
  ];
  for (const [label, input, result] of cases) assert.equal(peek(input), result, label);
  // A header cut by `end` with the next bytes already in the buffer: they are not read.
  const early: [label: string, input: Buffer, end: number, result: number][] = [
    ["0x16 0x03 of 0x16 0x03 0x05", Buffer.of(0x16, 0x03, 0x05), 2, HELLO_NEED_MORE],
    ["0x16 of 0x16 0x02", Buffer.of(0x16, 0x02), 1, HELLO_NEED_MORE],
    ["a second record's 0x16 0x03 of 0x16 0x03 0x05", Buffer.concat([record(payload.subarray(0, 10)), Buffer.of(0x16, 0x03, 0x05)]), 17, HELLO_NEED_MORE],
    ["a first record of 4 bytes of 5", ok, 4, HELLO_NEED_MORE],
  ];
  for (const [label, input, end, result] of early) assert.equal(peek(input, end), result, label);
});

test("the hello's body: session id, suites, compression and the extensions block", () => {
  const cases: [label: string, input: Buffer, result: number | "whole"][] = [
    ["the smallest hello", hello(body("00", "0002 1301", "0100")), "whole"],
    ["a 32-byte session id", hello(body("20" + "ab".repeat(32), "0002 1301", "0100")), "whole"],
    ["a session id past the end", hello(hex(RANDOM + "05 0102")), M],
    ["only the random", hello(hex(RANDOM)), M],
    ["the random cut short", hello(hex(RANDOM.slice(0, 40))), M],
    ["no suites", hello(body("00", "0000", "0100")), M],
    ["an odd suites length", hello(body("00", "0003 130100", "0100")), M],
    ["suites past the end", hello(body("00", "0004 1301", "")), M],
    ["suites, then nothing", hello(body("00", "0002 1301", "")), M],
    ["no compression method", hello(body("00", "0002 1301", "00")), M],
    ["compression past the end", hello(body("00", "0002 1301", "0200")), M],
    ["two compression methods", hello(body("00", "0002 1301", "020001")), "whole"],
    ["one byte of an extensions length", hello(body("00", "0002 1301", "0100", "00")), M],
    ["an empty extensions block", hello(body("00", "0002 1301", "0100", "0000")), "whole"],
    ["an extensions length short of the end", hello(body("00", "0002 1301", "0100", "0000 00")), M],
    ["an extensions length past the end", hello(body("00", "0002 1301", "0100", "0001")), M],
    ["an extension header cut", hello(body("00", "0002 1301", "0100", "0003 000000")), M],
    ["an empty extension at the end", hello(body("00", "0002 1301", "0100", "0004 00170000")), "whole"],
    ["an extension's data past the block", hello(body("00", "0002 1301", "0100", "0005 0017000200")), M],
    ["two extensions of another type, each once", hello(body("00", "0002 1301", "0100", "0008 00170000 00180000")), "whole"],
    ["an extension of another type, twice", hello(body("00", "0002 1301", "0100", "0008 00170000 00170000")), M],
    ["ALPN twice", buildClientHello([ext(16, alpnData(["h2"])), ext(16, alpnData(["h2"]))]), M],
    ["a malformed hello over two records", reframe(hello(body("00", "0000", "0100")), [10]), M],
  ];
  for (const [label, input, result] of cases) assert.equal(peek(input), result === "whole" ? input.length : result, label);
});

const NAME_255 = Array.from({ length: 4 }, () => "a".repeat(63)).join(".");

test("server_name: the host name in, lower case and checked, or refused", () => {
  const sni = (names: [number, string][]) => buildClientHello([ext(0, sniData(names))]);
  const cases: [label: string, input: Buffer, name: string | undefined | typeof M][] = [
    ["letters, digits, '-' and '_'", sni([[0, "A-Z_0.Example9"]]), "a-z_0.example9"],
    ["'@' (next to the letters, as '[', '`', '{' are)", sni([[0, "a@b"]]), M],
    ["'['", sni([[0, "a[b"]]), M],
    ["'`'", sni([[0, "a`b"]]), M],
    ["'{'", sni([[0, "a{b"]]), M],
    ["'/'", sni([[0, "a/b"]]), M],
    ["':'", sni([[0, "a:1"]]), M],
    ["'.' only at the end: dropped", sni([[0, "a.b."]]), "a.b"],
    ["two dots at the end", sni([[0, "a.b.."]]), M],
    ["a leading dot", sni([[0, ".a"]]), M],
    ["a 63-byte label", sni([[0, `${"a".repeat(63)}.b`]]), `${"a".repeat(63)}.b`],
    ["a 64-byte last label", sni([[0, `b.${"a".repeat(64)}`]]), M],
    ["255 bytes", sni([[0, NAME_255]]), NAME_255],
    ["256 bytes, the last a dot", sni([[0, `${NAME_255}.`]]), M],
    ["one letter", sni([[0, "a"]]), "a"],
    ["an empty name", buildClientHello([ext(0, hex("0003 00 0000"))]), M],
    ["a name past the list", buildClientHello([ext(0, hex("0004 00 0005 61"))]), M],
    ["an entry header cut", buildClientHello([ext(0, hex("0002 0000"))]), M],
    ["an empty list", buildClientHello([ext(0, hex("0000"))]), undefined],
    ["a list length past the data", buildClientHello([ext(0, hex("0005 00 0001 61"))]), M],
    ["one byte of list length", buildClientHello([ext(0, hex("00"))]), M],
    ["an empty extension", buildClientHello([ext(0, Buffer.alloc(0))]), M],
    ["another name type after the host name", sni([[0, "a.b"], [1, "x"]]), "a.b"],
    ["another name type, empty", buildClientHello([ext(0, hex("0007 00 0001 61 01 0000"))]), M],
    ["a lower-case z", sni([[0, "z.az"]]), "z.az"],
    ["another name type, past the list", buildClientHello([ext(0, hex("0004 01 0005 61"))]), M],
  ];
  for (const [label, input, name] of cases) {
    const r = peek(input);
    if (name === M) assert.equal(r, M, label);
    else {
      assert.equal(r, input.length, label);
      assert.equal(h.serverName, name, label);
    }
  }
});

test("ALPN: the protocol names in the client's order, or refused", () => {
  const cases: [label: string, data: Buffer, alpn: string[] | typeof M][] = [
    ["two names", alpnData(["h2", "http/1.1"]), ["h2", "http/1.1"]],
    ["a 255-byte name", alpnData(["x".repeat(255)]), ["x".repeat(255)]],
    ["a name of one byte", alpnData(["a"]), ["a"]],
    ["a name past the list", hex("0003 05 6162"), M],
    ["a name one byte past the list", hex("0003 03 6162"), M],
    ["a name that ends exactly at the list's end, then one more byte", hex("0003 01 61 00"), M],
    ["a list length past the data", hex("0004 02 6162"), M],
    ["a list length short of the data", hex("0002 02 6162"), M],
    ["one byte of list length", hex("00"), M],
    ["an empty extension", Buffer.alloc(0), M],
  ];
  for (const [label, data, alpn] of cases) {
    const input = buildClientHello([ext(16, data)]);
    const r = peek(input);
    if (alpn === M) assert.equal(r, M, label);
    else {
      assert.equal(r, input.length, label);
      assert.deepEqual(h.alpn, alpn, label);
    }
  }
});

test("ALPN before the server name: both read", () => {
  const input = buildClientHello([ext(16, alpnData(["h2"])), ext(0, sniData([[0, "after.alpn"]]))]);
  assert.equal(peek(input), input.length);
  assert.deepEqual([h.serverName, h.alpn], ["after.alpn", ["h2"]]);
});

test("a peek clears what the last one read", () => {
  const full = buildClientHello([ext(0, sniData([[0, "a.b"]])), ext(16, alpnData(["h2"]))]);
  for (const next of [buildClientHello(undefined), Buffer.from("GET /"), Buffer.of(0x16, 0x03)]) {
    assert.equal(peek(full), full.length);
    assert.deepEqual([h.serverName, h.alpn], ["a.b", ["h2"]]);
    peek(next);
    assert.deepEqual([h.serverName, h.alpn], [undefined, []], next.toString("hex"));
  }
  assert.deepEqual([new ClientHello().serverName, new ClientHello().alpn], [undefined, []]);
});

test("a hello over several records: its header split, its end inside a later record", () => {
  const full = buildClientHello([ext(0, sniData([[0, "split.example"]]))]);
  for (const cuts of [[1], [2], [3], [1, 2, 3], [4, 5], [20, 21, 22]]) {
    const split = reframe(full, cuts);
    // Bytes after the hello in its last record's tail are the next message: not read.
    const more = Buffer.concat([split, Buffer.of(0x16, 0x03, 0x03, 0x00, 0x01, 0x02)]);
    assert.equal(peek(more), split.length, `cuts ${cuts.join(",")}`);
    assert.equal(h.serverName, "split.example", `cuts ${cuts.join(",")}`);
  }
});
