import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "../http1/fuzz.kit.ts";
import { encodeProxyV1, encodeProxyV2 } from "./encode.ts";
import { formatIPv6, writeIPv6 } from "./ip.ts";
import { PROXY_NEED_MORE, PROXY_V1_MAX, PROXY_V2_MAX, ProxyError, ProxyHeader, parseProxyHeader } from "./header.ts";
import { fuzzSeed } from "../../../test/support/seed.ts";

/**
 * Seeded fuzzer for the PROXY protocol parser and encoder.
 *   FUZZ_SEED=123          replay a run (the seed is printed with every failure)
 *   FUZZ_ITERATIONS=1e6    more mutations (default 30k, about two seconds)
 */
const SEED = fuzzSeed();
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 30_000);
const ERRORS = new Set<number>(Object.values(ProxyError));

type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);

function randomIPv4(r: Random): string {
  return [int(r, 256), int(r, 256), int(r, 256), int(r, 256)].join(".");
}
function randomIPv6(r: Random): string {
  // Runs of zeros are likely, so compression is exercised.
  const words = Array.from({ length: 8 }, () => (r() < 0.4 ? 0 : int(r, 0x10000)));
  return words.map((w) => w.toString(16)).join(":");
}
function randomHeader(r: Random): Buffer {
  const v6 = r() < 0.5;
  const src = v6 ? randomIPv6(r) : randomIPv4(r);
  const dst = v6 ? randomIPv6(r) : randomIPv4(r);
  const enc = r() < 0.5 ? encodeProxyV1 : encodeProxyV2;
  return enc(src, int(r, 65536), dst, int(r, 65536));
}

const INTERESTING = [0x00, 0x0a, 0x0d, 0x20, 0x2e, 0x3a, 0x30, 0x39, 0x50, 0x11, 0x21, 0x31, 0x20, 0xff, 0x7f, 0x80, 0x02, 0x04];

function mutate(buf: Buffer, r: Random): Buffer {
  let out = Buffer.from(buf);
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const at = int(r, out.length + 1);
    switch (int(r, 7)) {
      case 0:
        if (at < out.length) out[at] = out[at]! ^ (1 << int(r, 8));
        break;
      case 1:
        if (at < out.length) out[at] = INTERESTING[int(r, INTERESTING.length)]!;
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), Buffer.of(INTERESTING[int(r, INTERESTING.length)]!), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(r, 4))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5: // the v2 length field
        if (out.length >= 16 && out[0] === 0x0d) out.writeUInt16BE(int(r, 3) === 0 ? int(r, 0x10000) : Math.min(0xffff, Math.max(0, out.readUInt16BE(14) + int(r, 9) - 4)), 14);
        break;
      default:
        out = Buffer.concat([out, Buffer.from(" GET / HTTP/1.1\r\n", "latin1").subarray(0, int(r, 18))]);
    }
  }
  return out;
}

function canonical(ip: string, scratch: Uint8Array): string {
  if (!ip.includes(":")) return ip;
  assert.ok(writeIPv6(scratch, 0, ip), ip);
  return formatIPv6(scratch, 0);
}

function fields(h: ProxyHeader): string {
  return JSON.stringify([h.version, h.hasAddress, h.family, h.source, h.sourcePort, h.destination, h.destinationPort, h.authority]);
}

test(`PROXY fuzz: ${ITERATIONS} mutated headers keep the parser's invariants (FUZZ_SEED=${SEED})`, () => {
  const r = mulberry32(SEED);
  const h = new ProxyHeader();
  const h2 = new ProxyHeader();
  let resent = 0; // mutated headers still read with an address: the round trip ran on them
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(randomHeader(r), r);
    const why = (what: string) => `${what}\n  replay: FUZZ_SEED=${SEED}\n  input: ${input.toString("hex")}`;
    const result = parseProxyHeader(input, input.length, h);
    assert.ok(result === PROXY_NEED_MORE || ERRORS.has(result) || (result > 0 && result <= input.length), why(`result ${result}`));
    if (result > 0) assert.ok(result <= (h.version === 1 ? PROXY_V1_MAX : PROXY_V2_MAX), why("header length over the maximum"));
    const full = fields(h);
    // A decision never depends on where the bytes were cut: every prefix needs more or
    // gives the same answer, and bytes after the header change nothing.
    const cut = int(r, input.length + 1);
    const p = parseProxyHeader(input, cut, h2);
    if (p !== PROXY_NEED_MORE) {
      assert.equal(p, result, why(`prefix of ${cut} bytes gave ${p}`));
      assert.equal(fields(h2), full, why("prefix gave other fields"));
    }
    if (result > 0 && cut < result) assert.equal(p, PROXY_NEED_MORE, why(`a prefix of a valid header gave ${p}`));
    if (result !== PROXY_NEED_MORE) {
      const more = Buffer.concat([input, Buffer.from("\r\nPROXY TCP4 x\r\n")]);
      assert.equal(parseProxyHeader(more, more.length, h2), result, why("appended bytes changed the answer"));
      assert.equal(fields(h2), full, why("appended bytes changed the fields"));
    }
    // What was read can be sent on again and reads the same.
    if (result > 0 && h.hasAddress) {
      resent++;
      for (const enc of [encodeProxyV1, encodeProxyV2]) {
        const again = enc(h.source, h.sourcePort, h.destination, h.destinationPort, h.authority);
        assert.equal(parseProxyHeader(again, again.length, h2), again.length, why(`${enc.name} of the parsed fields`));
        assert.deepEqual([h2.source, h2.sourcePort, h2.destination, h2.destinationPort], [h.source, h.sourcePort, h.destination, h.destinationPort], why(`${enc.name} round trip`));
      }
    }
  }
  // about 23% of them: the invariants above ran on accepted headers, not only on refusals
  if (ITERATIONS >= 1000) assert.ok(resent > ITERATIONS / 20, `only ${resent} of ${ITERATIONS} mutated headers read with an address (FUZZ_SEED=${SEED})`);
});

test(`PROXY fuzz: random addresses round-trip through both encoders (FUZZ_SEED=${SEED})`, () => {
  const r = mulberry32(SEED ^ 0x5bd1e995);
  const h = new ProxyHeader();
  const b = new Uint8Array(16);
  for (let i = 0; i < ITERATIONS / 10; i++) {
    const v6 = r() < 0.5;
    const src = v6 ? randomIPv6(r) : randomIPv4(r);
    const dst = v6 ? randomIPv6(r) : randomIPv4(r);
    const sp = int(r, 65536);
    const dp = int(r, 65536);
    for (const enc of [encodeProxyV1, encodeProxyV2]) {
      const out = enc(src, sp, dst, dp);
      assert.equal(parseProxyHeader(out, out.length, h), out.length, `${enc.name} ${src} ${dst} (FUZZ_SEED=${SEED})`);
      // The parser's text is the canonical form of the same bytes.
      assert.equal(h.family, v6 ? 6 : 4);
      assert.equal(h.sourcePort, sp);
      assert.equal(h.destinationPort, dp);
      assert.deepEqual([h.source, h.destination], [canonical(src, b), canonical(dst, b)]);
    }
  }
});
