import assert from "node:assert/strict";
import { test } from "node:test";
import { NameTable, UNRECOGNIZED_NAME_ALERT } from "./server-name.ts";

test("NameTable: a name in, the value TLS matching gives out", () => {
  const t = new NameTable<string>();
  t.add("*.example.com", "wild");
  t.add("API.Example.COM", "api"); // patterns are lower-cased
  t.add("*.Other.NET", "other");
  t.add("example.org", "org");
  t.add("example.org", "second"); // the first value added keeps a name
  t.add("*.example.com", "wild again");
  t.add("*example.net", "no dot: an exact name");
  t.add("*.", "the root's wildcard");
  const cases: [name: string, value: string | undefined][] = [
    ["api.example.com", "api"], // exact before wildcard
    ["www.example.com", "wild"],
    ["a.other.net", "other"],
    ["example.com", undefined], // a wildcard stands for one more label, not none
    ["a.b.example.com", undefined], // nor two
    [".example.com", undefined], // an empty first label
    ["example.org", "org"],
    ["x.example.org", undefined],
    ["*example.net", "no dot: an exact name"],
    ["a.example.net", undefined],
    ["localhost", undefined],
    ["a.", "the root's wildcard"],
    ["", undefined],
  ];
  for (const [name, value] of cases) assert.equal(t.get(name), value, name);
  assert.equal(t.size, 6); // 3 exact names, 3 wildcards
});

test("NameTable: size counts exact names and wildcards apart", () => {
  const t = new NameTable<number>();
  assert.equal(t.size, 0);
  t.add("a.com", 1);
  t.add("*.a.com", 2);
  assert.equal(t.size, 2);
  assert.equal(t.get("a.com"), 1);
  assert.equal(t.get("b.a.com"), 2);
});

test("UNRECOGNIZED_NAME_ALERT: a fatal unrecognized_name alert record", () => {
  // record type 21 (alert), TLS 1.2 on the wire, length 2; level 2 (fatal), description 112
  assert.deepEqual([...UNRECOGNIZED_NAME_ALERT], [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);
});
