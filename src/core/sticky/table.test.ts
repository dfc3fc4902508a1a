import { test } from "node:test";
import assert from "node:assert/strict";
import { StickyTable } from "./table.ts";

type Op =
  | [op: "set", key: string, server: string, now: number]
  | [op: "get", key: string, now: number, expected: string | undefined]
  | [op: "delete", key: string, expected: boolean]
  | [op: "size", expected: number];

const cases: { name: string; ttlMs: number; maxEntries: number; ops: Op[] }[] = [
  {
    name: "set then get",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["get", "a", 0, undefined], ["set", "a", "s1", 0], ["get", "a", 1, "s1"], ["size", 1]],
  },
  {
    name: "expires at ttl, dropped lazily on get",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["get", "a", 999, "s1"], ["size", 1], ["get", "a", 1999, undefined], ["size", 0]],
  },
  {
    name: "exactly at expiry is expired",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["get", "a", 1000, undefined]],
  },
  {
    name: "get slides the ttl (idle timeout)",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["get", "a", 900, "s1"], ["get", "a", 1800, "s1"], ["get", "a", 2700, "s1"], ["get", "a", 3701, undefined]],
  },
  {
    name: "set overwrites the server and the ttl",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["set", "a", "s2", 900], ["get", "a", 1500, "s2"], ["size", 1]],
  },
  {
    name: "full: the least recently set goes",
    ttlMs: 10_000,
    maxEntries: 2,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 1], ["set", "c", "s3", 2], ["size", 2], ["get", "a", 3, undefined], ["get", "b", 3, "s2"], ["get", "c", 3, "s3"]],
  },
  {
    name: "full: a get is a use",
    ttlMs: 10_000,
    maxEntries: 2,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 1], ["get", "a", 2, "s1"], ["set", "c", "s3", 3], ["get", "b", 4, undefined], ["get", "a", 4, "s1"], ["get", "c", 4, "s3"]],
  },
  {
    name: "full: overwriting an existing key evicts nothing",
    ttlMs: 10_000,
    maxEntries: 2,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 1], ["set", "a", "s3", 2], ["size", 2], ["get", "b", 3, "s2"], ["get", "a", 3, "s3"]],
  },
  {
    name: "full: overwrite makes the key most recent",
    ttlMs: 10_000,
    maxEntries: 2,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 1], ["set", "a", "s3", 2], ["set", "c", "s4", 3], ["get", "b", 4, undefined], ["get", "a", 4, "s3"]],
  },
  {
    name: "room left: an overwrite still makes the key most recent",
    ttlMs: 10_000,
    maxEntries: 3,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 1], ["set", "a", "s3", 2], ["set", "c", "s4", 3], ["set", "d", "s5", 4], ["get", "b", 5, undefined], ["get", "a", 5, "s3"]],
  },
  {
    name: "set drops an entry expiring at that very instant",
    ttlMs: 100,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 100], ["size", 1]],
  },
  {
    name: "maxEntries 1",
    ttlMs: 10_000,
    maxEntries: 1,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 1], ["size", 1], ["get", "a", 2, undefined], ["get", "b", 2, "s2"]],
  },
  {
    name: "set drops expired entries from the head",
    ttlMs: 100,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["set", "b", "s1", 10], ["set", "c", "s1", 50], ["size", 3], ["set", "d", "s2", 120], ["size", 2], ["get", "c", 120, "s1"]],
  },
  {
    name: "expired entries make room before live ones are evicted",
    ttlMs: 100,
    maxEntries: 2,
    ops: [["set", "a", "s1", 0], ["set", "b", "s2", 90], ["set", "c", "s3", 150], ["get", "b", 150, "s2"], ["get", "c", 150, "s3"]],
  },
  {
    name: "delete",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["set", "a", "s1", 0], ["delete", "a", true], ["delete", "a", false], ["get", "a", 1, undefined], ["size", 0]],
  },
  {
    name: "IPv6 and IPv4 keys are distinct strings",
    ttlMs: 1000,
    maxEntries: 10,
    ops: [["set", "::ffff:10.0.0.1", "s1", 0], ["set", "10.0.0.1", "s2", 0], ["get", "::ffff:10.0.0.1", 1, "s1"], ["get", "10.0.0.1", 1, "s2"]],
  },
];

for (const c of cases) {
  test(`sticky table: ${c.name}`, () => {
    const t = new StickyTable({ ttlMs: c.ttlMs, maxEntries: c.maxEntries });
    c.ops.forEach((op, i) => {
      const at = `op ${i}: ${JSON.stringify(op)}`;
      switch (op[0]) {
        case "set":
          t.set(op[1], op[2], op[3]);
          break;
        case "get":
          assert.equal(t.get(op[1], op[2]), op[3], at);
          break;
        case "delete":
          assert.equal(t.delete(op[1]), op[2], at);
          break;
        case "size":
          assert.equal(t.size, op[1], at);
          break;
      }
    });
  });
}

test("sticky table: stays bounded under churn, keeps the most recent", () => {
  const t = new StickyTable({ ttlMs: 60_000, maxEntries: 1000 });
  for (let i = 0; i < 50_000; i++) t.set(`10.0.${i >> 8}.${i & 255}`, `s${i % 7}`, i);
  assert.equal(t.size, 1000);
  assert.equal(t.get(`10.0.${49_999 >> 8}.${49_999 & 255}`, 50_000), `s${49_999 % 7}`);
  assert.equal(t.get("10.0.0.0", 50_000), undefined);
  t.clear();
  assert.equal(t.size, 0);
});

test("sticky table: invalid options are refused", () => {
  const bad = [
    { ttlMs: 0, maxEntries: 1 },
    { ttlMs: -1, maxEntries: 1 },
    { ttlMs: NaN, maxEntries: 1 },
    { ttlMs: 1000, maxEntries: 0 },
    { ttlMs: 1000, maxEntries: 1.5 },
    { ttlMs: 1000, maxEntries: NaN },
  ];
  for (const opts of bad) assert.throws(() => new StickyTable(opts), RangeError, JSON.stringify(opts));
  assert.throws(() => new StickyTable({ ttlMs: 0, maxEntries: 1 }), { message: "sticky table ttlMs must be > 0, got 0" });
  assert.throws(() => new StickyTable({ ttlMs: 1, maxEntries: 0 }), { message: "sticky table maxEntries must be an integer >= 1, got 0" });
});
