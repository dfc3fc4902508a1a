import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeServers } from "./testing.kit.ts";
import type { ServerView } from "./types.ts";
import { drawTwo, SmoothWeights, usable, usableWeight, weightedDraw } from "./weighted.ts";

describe("weighted: what a policy may use of a server's weight", () => {
  const cases = [
    { weight: 2, available: true, expected: 2 },
    { weight: 0.5, available: true, expected: 0.5 },
    { weight: 2, available: false, expected: 0 },
    { weight: 0, available: true, expected: 0 },
    { weight: -1, available: true, expected: 0 },
    { weight: NaN, available: true, expected: 0 },
  ];
  for (const { weight, available, expected } of cases) {
    it(`weight ${weight}, ${available ? "available" : "unavailable"} → ${expected}`, () => {
      assert.equal(usable({ index: 0, name: "a", weight, available, active: 0 }), expected);
    });
  }

  it("usableWeight sums them: 2 + 0 (down) + 0.5 + 0 (NaN) = 2.5", () => {
    const servers = makeServers([2, 3, 0.5, NaN]);
    servers[1]!.available = false;
    assert.equal(usableWeight(servers), 2.5);
  });
});

describe("weightedDraw: u × total laid over the usable weights, in order", () => {
  // a:b:c:d = 2:0:1:1 with d down: a covers [0, 2), c [2, 3) of the total 3.
  const servers = makeServers([2, 0, 1, 1]);
  servers[3]!.available = false;
  const cases = [
    { u: 0, total: 3, skip: -1, expected: 0 },
    { u: 0.5, total: 3, skip: -1, expected: 0 }, // 1.5
    { u: 2 / 3, total: 3, skip: -1, expected: 2 }, // exactly 2: the start of c's range
    { u: 0.99, total: 3, skip: -1, expected: 2 },
    { u: 0, total: 1, skip: 0, expected: 2 }, // a skipped: c is all that is left
  ];
  for (const { u, total, skip, expected } of cases) {
    it(`u ${u.toFixed(3)}, total ${total}, skip ${skip} → ${expected}`, () => {
      assert.equal(weightedDraw(servers, total, u, skip), expected);
    });
  }

  it("rounding past the last weight lands on the last usable server, not on nothing", () => {
    // 0.1 + 0.2 + 0.7 sums to 1, but subtracting them from (1 − 2⁻⁵³) × 1 leaves exactly 0.
    const three = makeServers([0.1, 0.2, 0.7, 0]);
    assert.equal(weightedDraw(three, 0.1 + 0.2 + 0.7, 1 - 2 ** -53, -1), 2);
  });

  it("returns -1 when nothing is usable but the skipped server, or no server at all", () => {
    const two = makeServers([0, 1]);
    assert.equal(weightedDraw(two, 0, 0.5, 1), -1);
    assert.equal(weightedDraw([], 0, 0.5, -1), -1);
  });
});

describe("drawTwo: two distinct usable servers by weight", () => {
  // a:b:c:d = 2:0:1:1, d down: usable a (2) and c (1), total 3.
  const cases = [
    { draws: [0, 0], expected: [0, 2, 3] }, // a, then c (all that is left)
    { draws: [0.9, 0], expected: [2, 0, 3] }, // 2.7 → c, then a
    { draws: [0.9, 0.99], expected: [2, 0, 3] },
  ];
  for (const { draws, expected } of cases) {
    it(`draws ${draws.join(",")} → positions ${expected[0]}, ${expected[1]}, total ${expected[2]}`, () => {
      const servers = makeServers([2, 0, 1, 1]);
      servers[3]!.available = false;
      const out = new Float64Array(3);
      let k = 0;
      assert.equal(drawTwo(servers, () => draws[k++]!, out), 2);
      assert.deepEqual(Array.from(out), expected);
      assert.equal(k, 2, "two draws");
    });
  }

  it("a:b:c = 1:2:1, draws 0.3, 0.4 → b (1.2 of 4, none skipped), then a (0.8 of the 2 left) → positions 1, 0, total 4", () => {
    const out = new Float64Array(3);
    let k = 0;
    const draws = [0.3, 0.4];
    assert.equal(drawTwo(makeServers([1, 2, 1]), () => draws[k++]!, out), 3);
    assert.deepEqual(Array.from(out), [1, 0, 4]);
  });

  it("one usable server: its position, no draw; none: 0", () => {
    const servers = makeServers([0, 1, 1]);
    servers[2]!.available = false;
    const out = new Float64Array([9, 9, 9]);
    const never = (): number => assert.fail("no draw");
    assert.equal(drawTwo(servers, never, out), 1);
    assert.equal(out[0], 1);
    servers[1]!.available = false;
    assert.equal(drawTwo(servers, never, out), 0);
  });
});

describe("SmoothWeights: current weights follow the servers by name", () => {
  it("keeps the array while the servers are the same, even as new view objects", () => {
    const sw = new SmoothWeights();
    const servers = makeServers([1, 1]);
    const current = sw.sync(servers);
    current[0] = 5;
    assert.equal(sw.sync(servers), current);
    assert.equal(sw.sync(servers.map((s) => ({ ...s }))), current);
    assert.equal(sw.sync(servers), current);
  });

  it("carries each server's current weight to its new position; a newcomer starts at 0", () => {
    const sw = new SmoothWeights();
    const [a, b, c] = makeServers([1, 1, 1]);
    const current = sw.sync([a!, b!]);
    current[0] = 5;
    current[1] = -5;
    assert.deepEqual(Array.from(sw.sync([c!, b!, a!])), [0, -5, 5]);
    assert.deepEqual(Array.from(sw.sync([b!])), [-5]);
    assert.deepEqual(Array.from(sw.sync([a!, b!])), [0, -5], "a left and came back: it starts over");
  });

  // Each row: current weights a = 5, b = -5 for [a, b], then the servers as `next`.
  const [a, b, c] = makeServers([1, 1, 1]);
  const rows: { why: string; next: () => ServerView[]; expected: number[] }[] = [
    { why: "swapped (the same count)", next: () => [b!, a!], expected: [-5, 5] },
    { why: "b replaced by c (the same count)", next: () => [a!, c!], expected: [5, 0] },
    { why: "b replaced by c, as new view objects", next: () => [{ ...a! }, { ...c! }], expected: [5, 0] },
    { why: "the last one left", next: () => [a!], expected: [5] },
  ];
  for (const { why, next, expected } of rows) {
    it(`${why} → ${expected.join(", ")}`, () => {
      const sw = new SmoothWeights();
      const current = sw.sync([a!, b!]);
      current[0] = 5;
      current[1] = -5;
      assert.deepEqual(Array.from(sw.sync(next())), expected);
    });
  }

  it("b replaced by c in the caller's own array (in place) → 5, 0; b back → 5, 0 (it starts over)", () => {
    const sw = new SmoothWeights();
    const list = [a!, b!];
    const current = sw.sync(list);
    current[0] = 5;
    current[1] = -5;
    list[1] = c!;
    assert.deepEqual(Array.from(sw.sync(list)), [5, 0]);
    list[1] = b!;
    assert.deepEqual(Array.from(sw.sync(list)), [5, 0]);
  });
});
