import { test } from "node:test";
import assert from "node:assert/strict";
import { createCookieCodec } from "../core/sticky/cookie.ts";
import { hmacSha256, stickyKey } from "./sticky-mac.ts";

test("hmacSha256: RFC 4231 test case 2", () => {
  const enc = new TextEncoder();
  const mac = hmacSha256(enc.encode("Jefe"), enc.encode("what do ya want for nothing?"));
  assert.equal(Buffer.from(mac).toString("hex"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});

test("stickyKey: configured secret is stable, generated keys are random", () => {
  const cases: [secret: string | undefined, random: boolean][] = [
    ["s3cret", false],
    ["ünïcødé", false],
    [undefined, true],
    ["", true],
  ];
  for (const [secret, random] of cases) {
    const a = stickyKey(secret);
    const b = stickyKey(secret);
    assert.equal(Buffer.from(a).equals(Buffer.from(b)), !random, String(secret));
    if (random) assert.equal(a.length, 32);
  }
  const v = createCookieCodec({ key: stickyKey("s3cret"), mac: hmacSha256 }).encode("api", "api1");
  assert.equal(createCookieCodec({ key: stickyKey("s3cret"), mac: hmacSha256 }).decode("api", v, ["api1"]), "api1", "two processes, one secret");
  assert.equal(createCookieCodec({ key: stickyKey(undefined), mac: hmacSha256 }).decode("api", v, ["api1"]), undefined);
});
