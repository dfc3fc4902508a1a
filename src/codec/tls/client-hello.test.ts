import assert from "node:assert/strict";
import { before, test } from "node:test";
import { mulberry32 } from "../http1/fuzz.kit.ts";
import { ClientHello, HELLO_NEED_MORE, HelloError, peekClientHello } from "./client-hello.ts";
import { alpnData, buildClientHello, captureClientHello, ext, record, reframe, sniData } from "./testing.kit.ts";
import { fuzzSeed } from "../../../test/support/seed.ts";

const SEED = fuzzSeed();
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 20_000);
const ERRORS = new Set<number>(Object.values(HelloError));

const h = new ClientHello();
const peek = (b: Buffer, end = b.length) => peekClientHello(b, end, h);

let real: { hello: Buffer; sni: string | undefined; alpn: string[] }[] = [];
before(async () => {
  const cases: [servername: string | undefined, alpn: string[] | undefined, minVersion: "TLSv1.2" | "TLSv1.3"][] = [
    ["db.example.com", ["h2", "http/1.1"], "TLSv1.3"],
    ["API.Example.COM", undefined, "TLSv1.2"],
    [undefined, ["http/1.1"], "TLSv1.2"],
    ["a-very-long-label-with-dashes-and-digits-0123456789.example.net", ["h2"], "TLSv1.2"],
  ];
  real = await Promise.all(
    cases.map(async ([servername, ALPNProtocols, minVersion]) => ({
      hello: await captureClientHello({ servername, ALPNProtocols, minVersion }),
      sni: servername?.toLowerCase(),
      alpn: ALPNProtocols ?? [],
    })),
  );
});

test("real ClientHellos from Node's TLS client: server name (lower case) and ALPN", () => {
  for (const r of real) {
    assert.equal(peek(r.hello), r.hello.length);
    assert.equal(h.serverName, r.sni);
    assert.deepEqual(h.alpn, r.alpn);
  }
});

test("every prefix needs more; the same hello split over several records reads the same", () => {
  for (const r of real) {
    for (let n = 0; n < r.hello.length; n++) assert.equal(peek(r.hello, n), HELLO_NEED_MORE, `${n} bytes`);
    for (const cuts of [[1], [2], [3], [4], [5, 60], [100], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Array.from({ length: 40 }, (_, i) => i * 13)]) {
      const split = reframe(r.hello, cuts);
      assert.equal(peek(split), split.length, `cuts ${cuts.join(",")}`);
      assert.equal(h.serverName, r.sni);
      assert.deepEqual(h.alpn, r.alpn);
      for (let n = 0; n < split.length; n++) assert.equal(peek(split, n), HELLO_NEED_MORE, `cuts ${cuts.join(",")}: ${n} bytes`);
    }
  }
});

test("bytes after the ClientHello (early data, the next records) change nothing", () => {
  const r = real[0]!;
  const more = Buffer.concat([r.hello, Buffer.of(0x17, 0x03, 0x03, 0x00, 0x02, 1, 2)]);
  assert.equal(peek(more), r.hello.length);
  assert.equal(h.serverName, "db.example.com");
});

test("hand-made hellos: no extensions, a trailing dot, no SNI; malformed ones are refused", () => {
  const bare = buildClientHello(undefined);
  assert.equal(peek(bare), bare.length);
  assert.equal(h.serverName, undefined);
  const dotted = buildClientHello([ext(0, sniData([[0, "Db.Example.Com."]]))]);
  assert.equal(peek(dotted), dotted.length);
  assert.equal(h.serverName, "db.example.com");
  const twoTypes = buildClientHello([ext(0, sniData([[1, "ignored"], [0, "x.y"]]))]);
  assert.equal(peek(twoTypes), twoTypes.length, "unknown name types are skipped");
  assert.equal(h.serverName, "x.y");
  const malformed: [label: string, hello: Buffer][] = [
    ["two host names", buildClientHello([ext(0, sniData([[0, "a.b"], [0, "c.d"]]))])],
    ["a space in the name", buildClientHello([ext(0, sniData([[0, "a b"]]))])],
    ["a NUL in the name", buildClientHello([ext(0, sniData([[0, "a\0.evil"]]))])],
    ["an empty label", buildClientHello([ext(0, sniData([[0, "a..b"]]))])],
    ["only a dot", buildClientHello([ext(0, sniData([[0, "."]]))])],
    ["a 64-byte label", buildClientHello([ext(0, sniData([[0, `${"a".repeat(64)}.com`]]))])],
    ["a duplicate extension", buildClientHello([ext(0, sniData([[0, "a.b"]])), ext(0, sniData([[0, "a.b"]]))])],
    ["an SNI list length that lies", buildClientHello([ext(0, Buffer.of(0, 9, 0, 0, 1, 0x61))])],
    ["an empty ALPN name", buildClientHello([ext(16, Buffer.of(0, 1, 0))])],
    ["an empty ALPN list", buildClientHello([ext(16, alpnData([]))])],
    ["an extension past the end", buildClientHello([Buffer.of(0, 0, 0, 50, 1)])],
  ];
  for (const [label, hello] of malformed) assert.equal(peek(hello), HelloError.MALFORMED, label);
});

test("what is not a ClientHello is said at once", () => {
  assert.equal(peek(Buffer.from("GET / HTTP/1.1\r\n")), HelloError.NOT_TLS);
  assert.equal(peek(Buffer.from("G")), HelloError.NOT_TLS);
  assert.equal(peek(Buffer.of(0x16, 0x02)), HelloError.NOT_TLS);
  assert.equal(peek(Buffer.of(0x80, 0x2e, 0x01)), HelloError.NOT_TLS, "SSLv2-style hello");
  assert.equal(peek(Buffer.of(0x16, 0x03, 0x01, 0x00, 0x05, 0x02)), HelloError.NOT_CLIENT_HELLO, "a ServerHello");
  assert.equal(peek(Buffer.of(0x16, 0x03, 0x01, 0x00, 0x00)), HelloError.MALFORMED, "an empty record");
  assert.equal(peek(record(Buffer.of(1, 0x01, 0x00, 0x00))), HelloError.TOO_LONG);
  assert.equal(peek(Buffer.of(0x16)), HELLO_NEED_MORE);
  assert.equal(peek(Buffer.alloc(0)), HELLO_NEED_MORE);
});

test(`ClientHello fuzz: ${ITERATIONS} mutations never throw, and no cut point changes the answer (FUZZ_SEED=${SEED})`, () => {
  const r = mulberry32(SEED);
  const int = (n: number) => Math.floor(r() * n);
  const h2 = new ClientHello();
  let decided = 0; // prefixes that gave an answer, compared with the whole input's
  for (let i = 0; i < ITERATIONS; i++) {
    const base = real[int(real.length)]!.hello;
    let input = int(4) === 0 ? reframe(base, [int(base.length - 5)]) : Buffer.from(base);
    for (let m = 1 + int(3); m > 0; m--) {
      const at = int(input.length);
      const k = int(4);
      if (k === 0) input[at] = input[at]! ^ (1 << int(8));
      else if (k === 1) input[at] = [0, 1, 2, 3, 0x16, 0x2e, 0xff, 0x41][int(8)]!;
      else if (k === 2) input = Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
      else input = input.subarray(0, at);
    }
    const why = (w: string) => `${w}\n  replay: FUZZ_SEED=${SEED}\n  input: ${input.toString("hex")}`;
    const res = peekClientHello(input, input.length, h);
    assert.ok(res === HELLO_NEED_MORE || ERRORS.has(res) || (res > 0 && res <= input.length), why(`result ${res}`));
    if (res > 0 && h.serverName !== undefined) assert.match(h.serverName, /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, why("server name"));
    const cut = int(input.length + 1);
    const p = peekClientHello(input, cut, h2);
    if (p !== HELLO_NEED_MORE) {
      decided++;
      assert.equal(p, res, why(`a prefix of ${cut} bytes gave ${p}`));
      assert.equal(h2.serverName, h.serverName, why("prefix server name"));
    }
  }
  // about 2.5% of the cuts fall after the point where the answer is known (510 of
  // 20,000): the comparison above ran, not only the NEED_MORE branch
  if (ITERATIONS >= 1000) assert.ok(decided > ITERATIONS / 100, `only ${decided} of ${ITERATIONS} prefixes gave an answer (FUZZ_SEED=${SEED})`);
});
