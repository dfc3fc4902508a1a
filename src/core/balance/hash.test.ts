import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildRing, hash32, MAX_RING_POINTS, mix32, REBUILD_SETTLE_MS, ringFind, ServerSetWatch } from "./hash.ts";
import { makeServers, type TestServer } from "./testing.kit.ts";
import type { ServerView } from "./types.ts";

// Independent references, in BigInt: murmur3's fmix32 and FNV-1a (32-bit) as published.
const M32 = 0xffffffffn;
function fmix32Ref(x: number): number {
  let h = BigInt(x >>> 0);
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & M32;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & M32;
  h ^= h >> 16n;
  return Number(h);
}
function fnv1aRef(s: string, basis = 0x811c9dc5n): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x01000193n) & M32;
  return Number(h);
}

describe("hash32: FNV-1a then murmur3's finalizer, the same in every process and version", () => {
  // Published FNV-1a 32-bit vectors; a changed hash would move every key of a running
  // cluster during a rolling upgrade (two versions mapping keys differently).
  const fnv = [
    { s: "", h: 0x811c9dc5 },
    { s: "a", h: 0xe40c292c },
    { s: "foobar", h: 0xbf9cf968 },
  ];
  for (const { s, h } of fnv) {
    it(`"${s}" → mix32(0x${h.toString(16)})`, () => {
      assert.equal(fnv1aRef(s), h, "the reference");
      assert.equal(hash32(s), fmix32Ref(h));
    });
  }

  it("mix32 is murmur3's fmix32 over 32-bit values", () => {
    for (const x of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0xdeadbeef]) {
      assert.equal(mix32(x | 0), fmix32Ref(x), `0x${x.toString(16)}`);
    }
  });

  it("a seed changes the FNV offset basis; UTF-16 code units, not bytes", () => {
    for (const seed of [1, 0x2545f491, 0x6c8e9cf5]) {
      assert.equal(hash32("api1", seed), fmix32Ref(fnv1aRef("api1", 0x811c9dc5n ^ BigInt(seed))), `seed ${seed}`);
    }
    assert.equal(hash32("é😀"), fmix32Ref(fnv1aRef("é😀")));
  });
});

describe("ringFind: the first point ≥ h, wrapping past the last", () => {
  const ring = { points: new Uint32Array([10, 20, 30, 40]), owners: new Uint32Array([0, 1, 0, 1]) };
  const cases = [
    { h: 0, expected: 0 },
    { h: 10, expected: 0 },
    { h: 11, expected: 1 },
    { h: 20, expected: 1 },
    { h: 29, expected: 2 },
    { h: 40, expected: 3 },
    { h: 41, expected: 0 },
    { h: 0xffffffff, expected: 0 },
  ];
  for (const { h, expected } of cases) it(`${h} → ${expected}`, () => assert.equal(ringFind(ring, h), expected));
  it("an empty ring → 0", () => assert.equal(ringFind({ points: new Uint32Array(0), owners: new Uint32Array(0) }, 5), 0));
});

describe("buildRing: 100 points per unit of weight, from the name only", () => {
  const count = (owners: Uint32Array, pos: number): number => owners.filter((o) => o === pos).length;

  it("weights 1, 2.5, 0.004, 0, -1, NaN → 100, 250, 1, 0, 0, 0 points, sorted", () => {
    const ring = buildRing(makeServers([1, 2.5, 0.004, 0, -1, NaN]));
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((p) => count(ring.owners, p)), [100, 250, 1, 0, 0, 0]);
    assert.equal(ring.points.length, 351);
    for (let i = 1; i < ring.points.length; i++) assert.ok(ring.points[i - 1]! <= ring.points[i]!, `sorted at ${i}`);
  });

  it("a server's points do not depend on the others nor on its position", () => {
    const [a, b, c] = makeServers([1, 2, 1]) as [TestServer, TestServer, TestServer];
    const pointsOf = (servers: ServerView[], s: ServerView): number[] => {
      const ring = buildRing(servers);
      const pos = servers.indexOf(s);
      return Array.from(ring.points.filter((_, i) => ring.owners[i] === pos));
    };
    assert.deepEqual(pointsOf([c, b, a], a), pointsOf([a], a));
  });

  it("is the ring of the previous versions (a changed ring would remap keys in a rolling upgrade)", () => {
    const ring = buildRing(makeServers([1, 2]));
    assert.deepEqual(Array.from(ring.points.slice(0, 4)), [47191365, 67022609, 71820114, 73669045]);
    assert.deepEqual(Array.from(ring.owners.slice(0, 4)), [0, 0, 0, 1]);
    let sum = 0;
    for (let i = 0; i < ring.points.length; i++) sum = (sum * 31 + ring.points[i]! + ring.owners[i]!) >>> 0;
    assert.equal(sum, 3252276655);
  });

  it(`scales every server alike past ${MAX_RING_POINTS} points`, () => {
    // 30 × weight 100 wants 300,000 points: each gets round(10,000 × 2¹⁸ / 300,000) = 8,738
    const ring = buildRing(makeServers(Array.from({ length: 30 }, () => 100)));
    assert.equal(ring.points.length, 30 * 8738);
    assert.equal(count(ring.owners, 0), 8738);
    assert.equal(count(ring.owners, 29), 8738);
  });

  it("refuses 2²⁰ servers (the owner is packed in 20 bits)", () => {
    const huge = { length: 2 ** 20 } as unknown as ServerView[];
    assert.throws(() => buildRing(huge), { name: "RangeError", message: "buildRing: at most 1048575 servers" });
  });
});

describe("ServerSetWatch: rebuild on what changes the table, settle what comes in storms", () => {
  // Each row: the watch sees `servers` at t = 0 (a first build), then the change at `at`;
  // `expected` is whether the table must be rebuilt then.
  const S = REBUILD_SETTLE_MS;
  const cases: readonly {
    why: string;
    availability?: boolean;
    weights?: readonly number[];
    change: (s: TestServer[]) => TestServer[];
    at: number;
    expected: boolean;
  }[] = [
    { why: "nothing changed", change: (s) => s, at: S, expected: false },
    { why: "nothing changed, availability watched", availability: true, change: (s) => s, at: S, expected: false },
    // The caller's own array changed in place: the watch compares with its copy.
    { why: "a server renamed in the caller's array", change: (s) => ((s[1] = { ...s[1]!, name: "z" }), s), at: 1, expected: true },
    { why: "the same servers as new objects", change: (s) => s.map((x) => ({ ...x })), at: 1, expected: false },
    { why: "a server renamed", change: (s) => [s[0]!, { ...s[1]!, name: "z" }, s[2]!], at: 1, expected: true },
    { why: "a server joined", change: (s) => [...s, { ...s[0]!, name: "d" }], at: 1, expected: true },
    { why: "a server left", change: (s) => s.slice(0, 2), at: 1, expected: true },
    { why: "reordered", change: (s) => [s[1]!, s[0]!, s[2]!], at: 1, expected: true },
    { why: "a weight to 0: at once", change: (s) => ((s[1]!.weight = 0), s), at: 1, expected: true },
    { why: "a weight from 0: at once", weights: [1, 0, 1], change: (s) => ((s[1]!.weight = 2), s), at: 1, expected: true },
    { why: "a weight to NaN (as 0): at once", change: (s) => ((s[1]!.weight = NaN), s), at: 1, expected: true },
    { why: "a weight from -1 to 0: both count as 0", weights: [1, -1, 1], change: (s) => ((s[1]!.weight = 0), s), at: S, expected: false },
    { why: "a weight from NaN to NaN", weights: [1, NaN, 1], change: (s) => s, at: S, expected: false },
    { why: "a positive weight change within the settle time", change: (s) => ((s[1]!.weight = 2), s), at: S - 1, expected: false },
    { why: "a positive weight change once settled", change: (s) => ((s[1]!.weight = 2), s), at: S, expected: true },
    { why: "availability, not watched", change: (s) => ((s[1]!.available = false), s), at: S, expected: false },
    { why: "availability, watched, within the settle time", availability: true, change: (s) => ((s[1]!.available = false), s), at: S - 1, expected: false },
    { why: "availability, watched, once settled", availability: true, change: (s) => ((s[1]!.available = false), s), at: S, expected: true },
    { why: "back up, watched, once settled", availability: true, change: (s) => ((s[0]!.available = true), s), at: S, expected: true },
  ];
  for (const { why, availability = false, weights = [1, 1, 1], change, at, expected } of cases) {
    it(`${why} → ${expected ? "rebuild" : "keep"}`, () => {
      const watch = new ServerSetWatch({ availability });
      const servers = makeServers(weights);
      if (why.startsWith("back up")) servers[0]!.available = false;
      assert.equal(watch.changed(servers, 0), true, "the first build");
      assert.equal(watch.changed(servers, 0), false, "nothing new");
      assert.equal(watch.changed(change(servers), at), expected);
    });
  }

  it("settles from the last rebuild, and forgets a change once rebuilt", () => {
    const watch = new ServerSetWatch({ availability: false });
    const servers = makeServers([1, 1]);
    watch.changed(servers, 0);
    servers[0]!.weight = 2;
    assert.equal(watch.changed(servers, 5000), true, "quiet for 5 s: at once");
    servers[0]!.weight = 3;
    assert.equal(watch.changed(servers, 5000 + REBUILD_SETTLE_MS - 1), false);
    assert.equal(watch.changed(servers, 5000 + REBUILD_SETTLE_MS), true);
    assert.equal(watch.changed(servers, 9e9), false, "recorded: nothing new");
  });

  it("the first call builds, even for no server", () => {
    const watch = new ServerSetWatch({ availability: true });
    assert.equal(watch.changed([], 0), true);
    assert.equal(watch.changed([], 0), false);
  });
});
