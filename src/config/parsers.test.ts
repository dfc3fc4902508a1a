// Table-driven tests of the config's small parsers: durations, addresses, IPs and CIDR
// blocks, hash keys, name suggestions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAddress, isLoopbackHost, parseAddress } from "./address.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { isToken, parseHashKey } from "./hash-key.ts";
import { formatIP, parseCidr, parseIPv4, parseIPv6 } from "./ip.ts";
import { suggest } from "./parse-result.ts";
import { formatSize, parseSize } from "./size.ts";

const value = <T>(r: { ok: true; value: T } | { ok: false; message: string }): T | string => (r.ok ? r.value : `error: ${r.message}`);

test("parseDuration: accepted forms", () => {
  const cases: [unknown, number][] = [
    ["250ms", 250],
    ["5s", 5_000],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["1d2h3m4s5ms", 93_784_005],
    ["1.5s", 1_500],
    ["0.25s", 250],
    ["1.5h", 5_400_000],
    ["0.001s", 1],
    ["0", 0],
    [0, 0],
    ["0s", 0],
    ["0ms", 0],
  ];
  for (const [input, ms] of cases) assert.equal(value(parseDuration(input)), ms, String(input));
});

test("parseDuration: refused forms, with DESIGN's message", () => {
  const cases: [unknown, string][] = [
    ["5 seconds", 'expected a duration like "5s", got "5 seconds"'],
    [5, 'expected a duration like "5s", got 5'],
    ["5", 'expected a duration like "5s", got "5"'],
    [1.5, 'expected a duration like "5s", got 1.5'],
    ["", 'expected a duration like "5s", got ""'],
    ["-5s", 'expected a duration like "5s", got "-5s"'],
    ["5S", 'expected a duration like "5s", got "5S"'],
    [".5s", 'expected a duration like "5s", got ".5s"'],
    ["1h 30m", 'expected a duration like "5s", got "1h 30m"'],
    ["5sec", 'expected a duration like "5s", got "5sec"'],
    ["1w", 'expected a duration like "5s", got "1w"'],
    [null, 'expected a duration like "5s", got an empty value'],
    [true, 'expected a duration like "5s", got true'],
    [["5s"], 'expected a duration like "5s", got a list'],
    ["30m1h", 'expected a duration like "5s", got "30m1h" (units go once each, largest first, like 1h30m)'],
    ["1s1s", 'expected a duration like "5s", got "1s1s" (units go once each, largest first, like 1h30m)'],
    ["0.5ms", 'expected a duration like "5s", got "0.5ms" (not a whole number of milliseconds)'],
    ["1.0001s", 'expected a duration like "5s", got "1.0001s" (not a whole number of milliseconds)'],
    ["99999999999999d", 'expected a duration like "5s", got "99999999999999d" (too long)'],
  ];
  for (const [input, message] of cases) assert.equal(value(parseDuration(input)), `error: ${message}`, String(input));
});

test("formatDuration reads back through parseDuration", () => {
  const cases: [number, string][] = [
    [0, "0ms"],
    [250, "250ms"],
    [1_500, "1.5s"],
    [60_000, "1m"],
    [5_400_000, "1h30m"],
    [93_784_005, "1d2h3m4.005s"],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text);
    assert.equal(value(parseDuration(text)), ms);
  }
});

test("parseAddress: accepted forms", () => {
  const cases: [unknown, "listen" | "server", string][] = [
    ["10.0.1.10:8080", "server", "10.0.1.10:8080"],
    ["[::1]:8080", "server", "[::1]:8080"],
    ["[2001:DB8:0:0::1]:443", "server", "[2001:db8::1]:443"],
    ["0.0.0.0:8080", "listen", "0.0.0.0:8080"],
    [":8080", "listen", "0.0.0.0:8080"],
    ["[::]:8080", "listen", "[::]:8080"],
    ["localhost:0", "listen", "localhost:0"],
    ["API.Internal:80", "server", "api.internal:80"],
    ["my_service:80", "server", "my_service:80"],
    ["host:65535", "server", "host:65535"],
  ];
  for (const [input, role, text] of cases) {
    const r = parseAddress(input, role);
    assert.ok(r.ok, `${String(input)}: ${r.ok ? "" : r.message}`);
    assert.equal(formatAddress(r.value), text);
  }
  assert.deepEqual(value(parseAddress("[::1]:8080", "server")), { host: "::1", port: 8080 });
});

test("parseAddress: refused forms say why", () => {
  const cases: [unknown, "listen" | "server", string][] = [
    ["8080", "listen", "missing :port"],
    [8080, "listen", 'write ":8080" or "0.0.0.0:8080"'],
    ["::1:8080", "server", 'IPv6 goes in brackets, like "[::1]:8080"'],
    ["[::1]8080", "server", "missing :port"],
    ["[::1:8080", "server", "missing ]"],
    ["[1.2.3.4]:80", "server", '"1.2.3.4" is not an IPv6 address'],
    [":8080", "server", "missing host"],
    ["host:0", "server", "port 0 is only for listeners"],
    ["host:65536", "listen", "port 0 to 65535"],
    ["host:-1", "listen", "port 0 to 65535"],
    ["host:", "listen", "port 0 to 65535"],
    ["0.0.0.0:80", "server", "0.0.0.0 is a listen-only wildcard"],
    ["10.0.1:80", "server", '"10.0.1" is not an IPv4 address'],
    ["010.0.0.1:80", "server", '"010.0.0.1" is not an IPv4 address'],
    ["-bad-.com:80", "server", '"-bad-.com" is not a host name'],
    ["a..b:80", "server", '"a..b" is not a host name'],
  ];
  for (const [input, role, why] of cases) {
    const r = parseAddress(input, role);
    assert.ok(!r.ok, String(input));
    assert.ok(r.message.endsWith(`(${why})`), `${String(input)}: ${r.message}`);
  }
  assert.equal(value(parseAddress(true, "server")), 'error: expected an address like "10.0.0.1:8080", got true');
});

test("parseIPv4 / parseIPv6 / formatIP", () => {
  assert.deepEqual(parseIPv4("192.168.0.255"), [192, 168, 0, 255]);
  for (const bad of ["1.2.3", "1.2.3.4.5", "256.0.0.0", "01.2.3.4", "1.2.3.", "a.b.c.d", ""]) assert.equal(parseIPv4(bad), undefined, bad);
  const v6: [string, string][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [input, canonical] of v6) assert.equal(formatIP(parseIPv6(input) ?? []), canonical, input);
  for (const bad of ["1:2", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "12345::", "g::", "fe80::1%eth0", "1.2.3.4::", ""]) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

test("parseCidr: IPv4 and IPv6 blocks, normalized", () => {
  const ok: [unknown, string][] = [
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["192.168.1.0/24", "192.168.1.0/24"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["10.1.2.3", "10.1.2.3/32"],
    ["10.1.2.3/32", "10.1.2.3/32"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["::/0", "::/0"],
    ["::1", "::1/128"],
    ["fe80::/10", "fe80::/10"],
  ];
  for (const [input, text] of ok) assert.equal(value(parseCidr(input)), text, String(input));
  const bad: [unknown, string][] = [
    ["192.168.1.5/24", " (host bits set: did you mean 192.168.1.0/24?)"],
    ["2001:db8::1/32", " (host bits set: did you mean 2001:db8::/32?)"],
    ["10.0.0.0/33", " (prefix length 0 to 32)"],
    ["::/129", " (prefix length 0 to 128)"],
    ["10.0.0.0/", " (prefix length 0 to 32)"],
    ["10.0.0.0/8/8", " (prefix length 0 to 32)"],
    ["nonsense", ""],
    [10, ""],
  ];
  for (const [input, why] of bad) {
    assert.equal(
      value(parseCidr(input)),
      `error: expected a CIDR block like "10.0.0.0/8" or "2001:db8::/32", got ${JSON.stringify(input)}${why}`,
      String(input),
    );
  }
});

test("parseHashKey: grammar and normalization", () => {
  const ok: [unknown, unknown][] = [
    ["source", { kind: "source" }],
    ["path", { kind: "path" }],
    ["header:X-User", { kind: "header", name: "x-user" }],
    ["cookie:Session", { kind: "cookie", name: "Session" }],
    ["query:userId", { kind: "query", name: "userId" }],
    ["header:x!#$%&'*+-.^_`|~1", { kind: "header", name: "x!#$%&'*+-.^_`|~1" }],
  ];
  for (const [input, key] of ok) assert.deepEqual(value(parseHashKey(input)), key, String(input));
  for (const bad of ["ip", "header:", "header:X User", "Header:X", "cookie:a;b", "query:a=b", "source:x", ":x", "", 1, null]) {
    assert.equal(
      value(parseHashKey(bad)),
      `error: expected source, path, header:NAME, cookie:NAME or query:NAME, got ${bad === null ? "an empty value" : JSON.stringify(bad)}`,
    );
  }
});

test("suggest finds near misses, ignoring case, _ and -", () => {
  const keys = ["interval", "timeout", "maxConn", "tls", "listeners"];
  assert.equal(suggest("intervall", keys), "interval");
  assert.equal(suggest("max_conn", keys), "maxConn");
  assert.equal(suggest("MAXCONN", keys), "maxConn");
  assert.equal(suggest("tsl", keys), "tls");
  assert.equal(suggest("listner", keys), "listeners");
  assert.equal(suggest("zzz", keys), undefined);
  assert.equal(suggest("banana", keys), undefined);
});

test("parseSize: accepted and refused forms", () => {
  const cases: [unknown, number | string][] = [
    ["1MiB", 1_048_576],
    ["64KiB", 65_536],
    ["1.5KiB", 1536],
    ["512B", 512],
    ["2 GiB", 2 * 1024 ** 3],
    [4096, 4096],
    [0, 0],
    ["1MB", 'error: expected a size like "64KiB" or "1MiB", got "1MB" (did you mean "1MiB"? sizes use binary units: B, KiB, MiB, GiB)'],
    ["64k", 'error: expected a size like "64KiB" or "1MiB", got "64k" (did you mean "64KiB"? sizes use binary units: B, KiB, MiB, GiB)'],
    ["1.3B", 'error: expected a size like "64KiB" or "1MiB", got "1.3B" (not a whole number of bytes)'],
    [-1, 'error: expected a size like "64KiB" or "1MiB", got -1'],
    [1.5, 'error: expected a size like "64KiB" or "1MiB", got 1.5'],
    ["1mib", 'error: expected a size like "64KiB" or "1MiB", got "1mib"'],
    ["lots", 'error: expected a size like "64KiB" or "1MiB", got "lots"'],
    [null, 'error: expected a size like "64KiB" or "1MiB", got an empty value'],
  ];
  for (const [input, want] of cases) assert.equal(value(parseSize(input)), want, String(input));
  for (const [bytes, text] of [[1_048_576, "1MiB"], [1536, "1.5KiB"], [1000, "1000B"], [65_536, "64KiB"]] as const) {
    assert.equal(formatSize(bytes), text);
    assert.equal(value(parseSize(text)), bytes);
  }
});

test("isLoopbackHost: only what no other machine can reach", () => {
  const cases: [string, boolean][] = [
    ["127.0.0.1", true], ["127.1.2.3", true], ["::1", true], ["localhost", true], ["admin.localhost", true], ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false], ["::", false], ["10.0.0.1", false], ["128.0.0.1", false], ["::2", false], ["localhost.example.com", false],
    ["my-localhost", false], ["::ffff:10.0.0.1", false], ["", false],
  ];
  for (const [host, want] of cases) assert.equal(isLoopbackHost(host), want, host);
});

test("isToken: RFC 9110 tchar", () => {
  for (const ok of ["a", "X-User", "!#$%&'*+-.^_`|~", "0", "Aa0"]) assert.equal(isToken(ok), true, ok);
  for (const bad of ["", " ", "a b", "a:b", "a;b", "a=b", "a,b", '"a"', "(a)", "a/b", "a@b", "é", "a\tb", "a\u0000"]) {
    assert.equal(isToken(bad), false, JSON.stringify(bad));
  }
});
