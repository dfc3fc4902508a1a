import { it } from "node:test";
import assert from "node:assert/strict";
import { jsonMismatch } from "./json.ts";

const cases: { name: string; want: Record<string, unknown>; body: unknown; reason: string | undefined }[] = [
  { name: "equal scalar", want: { status: "healthy" }, body: { status: "healthy", extra: 1 }, reason: undefined },
  { name: "different scalar", want: { status: "healthy" }, body: { status: "degraded" }, reason: 'json: status expected "healthy", got "degraded"' },
  { name: "missing key", want: { status: "healthy" }, body: {}, reason: 'json: status expected "healthy", got nothing' },
  { name: "type matters", want: { ok: 1 }, body: { ok: "1" }, reason: 'json: ok expected 1, got "1"' },
  { name: "nested subset", want: { db: { connected: true } }, body: { db: { connected: true, ms: 3 } }, reason: undefined },
  { name: "nested mismatch", want: { a: { b: { c: null } } }, body: { a: { b: { c: 0 } } }, reason: "json: a.b.c expected null, got 0" },
  { name: "object expected, array got", want: { a: { b: 1 } }, body: { a: [1] }, reason: 'json: a expected {"b":1}, got [1]' },
  { name: "arrays must be equal", want: { tags: ["a", "b"] }, body: { tags: ["a", "b", "c"] }, reason: 'json: tags expected ["a","b"], got ["a","b","c"]' },
  { name: "array elements", want: { l: [{ x: 1 }] }, body: { l: [{ x: 2 }] }, reason: "json: l[0].x expected 1, got 2" },
  { name: "root not an object", want: { a: 1 }, body: [1], reason: 'json: (root) expected {"a":1}, got [1]' },
  { name: "long values are cut", want: { s: "x" }, body: { s: "y".repeat(100) }, reason: `json: s expected "x", got "${"y".repeat(56)}...` },
  { name: "no inherited keys", want: { toString: 1 }, body: {}, reason: "json: toString expected 1, got nothing" },
];
for (const c of cases) {
  it(`jsonMismatch: ${c.name}`, () => assert.equal(jsonMismatch(c.want, c.body), c.reason));
}
