import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createCookieCodec, readCookie, setCookieHeader } from "./cookie.ts";
import type { Mac } from "./cookie.ts";

const mac: Mac = (key, data) => createHmac("sha256", key).update(data).digest();
const key = new TextEncoder().encode("test secret, not for production");
const codec = createCookieCodec({ key, mac });
const B64URL = /^[A-Za-z0-9_-]{23}$/;
const servers = ["api1", "api2", "api3"];

test("cookie codec: round-trip", () => {
  const cases: [backend: string, server: string][] = [
    ["api", "api1"],
    ["api", "api3"],
    ["web", "api1"],
    ["ünïcødé", "服务器-1"],
    ["b", "a-very-long-server-name-".repeat(20)],
  ];
  for (const [backend, server] of cases) {
    const v = codec.encode(backend, server);
    assert.match(v, B64URL, `${backend}/${server}`);
    assert.equal(v, codec.encode(backend, server), "deterministic");
    assert.equal(codec.decode(backend, v, [...servers, server]), server);
    assert.equal(codec.indexOf(backend, v, [{ name: "x" }, { name: server }]), 1);
  }
  const again = createCookieCodec({ key: key.slice(), mac });
  assert.equal(again.decode("api", codec.encode("api", "api2"), servers), "api2", "same key, same token across codecs (workers)");
  assert.equal(Buffer.from(codec.encode("api", "api1"), "base64url")[0], 1, "version byte first");
});

test("cookie codec: every value names a different server and backend", () => {
  const seen = new Set<string>();
  for (const b of ["api", "web", "ab", "a"]) for (const s of ["api1", "api2", "c", "bc"]) seen.add(codec.encode(b, s));
  assert.equal(seen.size, 16);
  assert.notEqual(codec.encode("ab", "c"), codec.encode("a", "bc"), "length prefix separates the fields");
});

test("cookie codec: tampered values are refused", () => {
  const v = codec.encode("api", "api2");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < v.length; i++) {
    const other = alphabet[(alphabet.indexOf(v[i]!) + 1) % 64]!;
    const forged = v.slice(0, i) + other + v.slice(i + 1);
    assert.equal(codec.decode("api", forged, servers), undefined, `char ${i}`);
  }
  const bytes = Buffer.from(v, "base64url");
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const b = Buffer.from(bytes);
      b[i]! ^= 1 << bit;
      assert.equal(codec.decode("api", b.toString("base64url"), servers), undefined, `byte ${i} bit ${bit}`);
    }
  }
});

test("cookie codec: truncated, extended, foreign, unknown and garbage values are refused", () => {
  const v = codec.encode("api", "api1");
  for (let n = 0; n < v.length; n++) assert.equal(codec.decode("api", v.slice(0, n), servers), undefined, `prefix ${n}`);
  const cases: [name: string, backend: string, value: string, names: string[]][] = [
    ["extended", "api", v + "A", servers],
    ["padded", "api", v + "=", servers],
    ["wrong backend", "web", v, servers],
    ["unknown server", "api", codec.encode("api", "api9"), servers],
    ["no servers", "api", v, []],
    ["other key", "api", createCookieCodec({ key: new Uint8Array([1]), mac }).encode("api", "api1"), servers],
    ["empty", "api", "", servers],
    ["server name, not a token", "api", "api1", servers],
    ["right length, bad alphabet", "api", "!".repeat(23), servers],
    ["right length, unicode", "api", "é".repeat(23), servers],
    ["right length, spaces", "api", " ".repeat(23), servers],
    ["surrogates", "api", "\ud800".repeat(23), servers],
    ["quoted", "api", `"${v.slice(0, 21)}"`, servers],
  ];
  for (const [name, backend, value, names] of cases) {
    assert.equal(codec.decode(backend, value, names), undefined, name);
    assert.equal(codec.indexOf(backend, value, names), -1, name);
  }
  assert.equal(codec.decode("api", undefined as unknown as string, servers), undefined, "not a string");
  assert.equal(codec.decode("api", 42 as unknown as string, servers), undefined, "not a string");
});

test("cookie codec: the token cache stays correct past its bound", () => {
  const first = codec.encode("churn", "s0");
  for (let i = 0; i < 5000; i++) codec.encode("churn", `s${i}`);
  assert.equal(codec.encode("churn", "s0"), first);
  assert.equal(codec.decode("churn", first, ["s1", "s0"]), "s0");
});

test("cookie codec: the token is base64url(1 ‖ the MAC's first 16 bytes), the MAC over 1 ‖ u32be(len backend) ‖ backend ‖ server", () => {
  // Written from the format in cookie.ts's header, with Node's own base64url.
  for (const [backend, server] of [["api", "api1"], ["a", "bc"], ["ünï", "s/1"]] as const) {
    const b = Buffer.from(backend);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    const digest = createHmac("sha256", key).update(Buffer.concat([Buffer.from([1]), len, b, Buffer.from(server)])).digest();
    const want = Buffer.concat([Buffer.from([1]), digest.subarray(0, 16)]).toString("base64url");
    assert.equal(codec.encode(backend, server), want, `${backend}/${server}`);
  }
});

test("cookie codec: one MAC per (backend, server), cached up to 4096 tokens, then started over", () => {
  let macs = 0;
  const counting: Mac = (k, d) => (macs++, mac(k, d));
  const c = createCookieCodec({ key, mac: counting });
  c.encode("api", "a");
  c.encode("api", "b");
  c.encode("web", "a");
  c.encode("api", "a");
  c.decode("api", c.encode("api", "b"), ["a", "b"]);
  assert.equal(macs, 3, "each token computed once");
  for (let i = 0; i < 4093; i++) c.encode("churn", `s${i}`); // 4096 cached: full
  assert.equal(macs, 4096);
  c.encode("api", "a");
  assert.equal(macs, 4096, "a full cache still answers");
  c.encode("churn", "one more"); // the 4097th: the cache starts over with it
  c.encode("api", "a");
  assert.equal(macs, 4098, "the old tokens are computed again");
});

test("cookie codec: keeps its own copy of the key", () => {
  const k = new TextEncoder().encode("a key the caller reuses");
  const c = createCookieCodec({ key: k, mac });
  const before = c.encode("api", "api1");
  k.fill(0);
  const fresh = createCookieCodec({ key: new TextEncoder().encode("a key the caller reuses"), mac });
  assert.equal(fresh.encode("api", "api1"), before);
  assert.equal(c.encode("api", "api2"), fresh.encode("api", "api2"), "a token first computed after the caller's change");
});

test("cookie codec: the first of two servers with one name", () => {
  const v = codec.encode("api", "api1");
  assert.equal(codec.indexOf("api", v, ["api1", { name: "api1" }]), 0);
  assert.equal(codec.indexOf("api", v, ["api0", "api1", "api1"]), 1);
});

test("cookie codec: bad key or MAC fail loudly at build/encode time", () => {
  assert.throws(() => createCookieCodec({ key: new Uint8Array(0), mac }), { name: "RangeError", message: "sticky cookie key must not be empty" });
  const short = createCookieCodec({ key, mac: () => new Uint8Array(15) });
  assert.throws(() => short.encode("api", "api1"), { name: "RangeError", message: "sticky cookie MAC must return at least 16 bytes, got 15" });
  const exact = createCookieCodec({ key, mac: (k, d) => mac(k, d).subarray(0, 16) });
  assert.equal(exact.encode("api", "api1"), codec.encode("api", "api1"), "16 bytes are enough");
});

test("setCookieHeader: attributes with and without TLS", () => {
  const cases: [name: string, ttlMs: number, secure: boolean, expected: string][] = [
    ["1h over TLS", 3_600_000, true, "HF_SRV=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure"],
    ["1h plain", 3_600_000, false, "HF_SRV=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600"],
    ["sub-second rounds up", 1500, false, "HF_SRV=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=2"],
    ["tiny ttl is not a deletion", 1, false, "HF_SRV=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=1"],
    ["0 = session cookie", 0, true, "HF_SRV=v; Path=/; HttpOnly; SameSite=Lax; Secure"],
    ["infinite = session cookie", Infinity, false, "HF_SRV=v; Path=/; HttpOnly; SameSite=Lax"],
  ];
  for (const [name, ttlMs, secure, expected] of cases) {
    assert.equal(setCookieHeader("HF_SRV", "v", { ttlMs, secure }), expected, name);
  }
  const v = codec.encode("api", "api1");
  assert.ok(setCookieHeader("HF_SRV", v, { ttlMs: 1000, secure: false }).startsWith(`HF_SRV=${v};`));
});

test("setCookieHeader: refuses names and values that would break the header", () => {
  const cases: [name: string, value: string][] = [
    ["bad name", "v"],
    ["", "v"],
    ["a;b", "v"],
    ["ok", "a;b"],
    ["ok", "a\r\nSet-Cookie: x=y"],
    ["ok", 'a"b'],
    ["ok", "a b"],
    ["ok", "a,b"],
    ["ok", "é"],
  ];
  for (const [name, value] of cases) {
    assert.throws(() => setCookieHeader(name, value, { ttlMs: 1000, secure: false }), TypeError, `${name}=${value}`);
  }
  assert.throws(() => setCookieHeader("a b", "v", { ttlMs: 0, secure: false }), { message: 'invalid cookie name "a b"' });
  assert.throws(() => setCookieHeader("HF_SRV", "a\\b", { ttlMs: 0, secure: false }), { message: 'invalid cookie value for "HF_SRV"' });
  // The edges of RFC 6265 cookie-octet are allowed: ! (0x21) and ~ (0x7e).
  assert.equal(setCookieHeader("HF_SRV", "!a~", { ttlMs: 0, secure: false }), "HF_SRV=!a~; Path=/; HttpOnly; SameSite=Lax");
});

test("readCookie: real-world Cookie headers", () => {
  const cases: [header: string, name: string, expected: string | undefined][] = [
    ["_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; HF_SRV=abc", "HF_SRV", "abc"],
    ["HF_SRV=abc; _ga=GA1.2.1.2", "HF_SRV", "abc"],
    ["a=1;HF_SRV=abc;b=2", "HF_SRV", "abc"],
    ["  HF_SRV  =  abc  ; x=1", "HF_SRV", "abc"],
    ["a=1;\tHF_SRV=abc", "HF_SRV", "abc"],
    ['HF_SRV="abc"; x=1', "HF_SRV", "abc"],
    ['HF_SRV="', "HF_SRV", '"'],
    ["HF_SRV2=zzz; HF_SRV=abc", "HF_SRV", "abc"],
    ["XHF_SRV=zzz; HF_SRV=abc", "HF_SRV", "abc"],
    ["HF_SRV=first; HF_SRV=second", "HF_SRV", "first"],
    ["HF_SRV=; a=1", "HF_SRV", ""],
    ["flag; HF_SRV=abc", "HF_SRV", "abc"],
    ["HF_SRV; other=1", "HF_SRV", undefined],
    ["token=eyJhbGciOi.J9==; HF_SRV=a=b", "token", "eyJhbGciOi.J9=="],
    ["HF_SRV=a=b", "HF_SRV", "a=b"],
    ["HF_SRV=abc;", "HF_SRV", "abc"],
    ["HF_SRV=abc; ", "HF_SRV", "abc"],
    ['prefs={"theme":"dark","n":1}; HF_SRV=abc', "HF_SRV", "abc"],
    ['prefs={"theme":"dark"}', "prefs", '{"theme":"dark"}'],
    ["hf_srv=abc", "HF_SRV", undefined],
    ["theme=dark; lang=fr", "HF_SRV", undefined],
    ["", "HF_SRV", undefined],
    [";;;", "HF_SRV", undefined],
    ["=abc; HF_SRV=x", "HF_SRV", "x"],
    ["HF_SRV=x", "", undefined],
    ["=x", "", undefined], // an empty name finds nothing, not the nameless pair
    [";HF_SRV=abc", "HF_SRV", "abc"], // an empty first pair
    ['HF_SRV=""', "HF_SRV", ""], // two quotes: an empty quoted value
    ['HF_SRV=ab"', "HF_SRV", 'ab"'], // quotes are stripped only as a pair
    ['HF_SRV="ab', "HF_SRV", '"ab'],
    ["__Host-sid=1; __Secure-id=2", "__Secure-id", "2"],
  ];
  for (const [header, name, expected] of cases) {
    assert.equal(readCookie(header, name), expected, JSON.stringify(header));
  }
});

// Their cost per byte at two sizes (linear or not) is measured in bench/cookie-scan.ts,
// not timed here.
test("readCookie: finds the cookie behind hostile headers (pairs without =, many near misses)", () => {
  const hostile = [
    "a;".repeat(200_000) + "HF_SRV=x",
    "HF_SRV2=1; ".repeat(100_000) + "HF_SRV=x",
    "HF_SRV ".repeat(100_000) + "; HF_SRV=x",
  ];
  for (const h of hostile) assert.equal(readCookie(h, "HF_SRV"), "x");
});
