// The pure parts of an upstream server: which connect errors are TLS failures, which
// hosts get an SNI name, and which servers slow-start (the sockets are in
// test/integration/upstream-*.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { TimerWheel } from "./timer-wheel.ts";
import { UpstreamServer, defaultServername, isTlsError } from "./upstream.ts";

test("isTlsError: OpenSSL and Node TLS codes and certificate verdicts are TLS failures; network errors and no code are not", () => {
  const cases: [string | undefined, boolean][] = [
    ["ERR_SSL_WRONG_VERSION_NUMBER", true],
    ["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", true],
    ["ERR_TLS_HANDSHAKE_TIMEOUT", true],
    ["ERR_TLS_CERT_ALTNAME_INVALID", true],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", true],
    ["SELF_SIGNED_CERT_IN_CHAIN", true],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", true],
    ["CERT_HAS_EXPIRED", true],
    ["HOSTNAME_MISMATCH", true],
    ["ECONNRESET", false],
    ["ECONNREFUSED", false],
    ["EPIPE", false],
    // Only a prefix counts: the same letters elsewhere in a code are not a TLS failure.
    ["X_ERR_SSL", false],
    ["X_ERR_TLS", false],
    [undefined, false],
  ];
  for (const [code, want] of cases) {
    const err = code === undefined ? new Error("no code") : Object.assign(new Error(code), { code });
    assert.equal(isTlsError(err), want, String(code));
  }
});

test("defaultServername: a name is sent as SNI, an IPv4 or IPv6 address is not", () => {
  const cases: [string, string | undefined][] = [
    ["api.internal", "api.internal"],
    ["localhost", "localhost"],
    ["db1", "db1"], // digits at the end of a name
    ["1db", "1db"], // and at its start
    ["10.0.0.7", undefined],
    ["127.0.0.1", undefined],
    ["::1", undefined],
    ["fd00::7", undefined],
  ];
  for (const [host, want] of cases) assert.equal(defaultServername(host), want, host);
});

test("slow start: a server present at start serves with its full weight at once; one added later ramps up to it", () => {
  const T0 = 1_000_000;
  let now = T0;
  const wheel = new TimerWheel(100, 256, () => now);
  const pool = { maxIdle: 8, idleTimeout: 60_000, connectTimeout: 5000, tls: null };
  const cfg = (name: string) => ({ name, address: { host: "127.0.0.1", port: 9 }, weight: 10, backup: false });
  const atStart = new UpstreamServer(0, cfg("a"), pool, wheel);
  const added = new UpstreamServer(1, cfg("b"), pool, wheel, false);
  now = T0 + 3000;
  atStart.refresh(now, 30_000);
  added.refresh(now, 30_000);
  assert.equal(atStart.weight, 10);
  assert.equal(added.weight, 1, "added 3 s into a 30 s slow start: a tenth of its weight");
  now = T0 + 30_000;
  added.refresh(now, 30_000);
  assert.equal(added.weight, 10);
  wheel.stop();
});
