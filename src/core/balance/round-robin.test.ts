import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { makeServers, mulberry32, pickCtx } from "./testing.kit.ts";
import { roundRobin } from "./round-robin.ts";

runBalancerConformance("round-robin", () => roundRobin(), {
  exempt: { weights: "plain round-robin ignores weights by definition; weighted-round-robin honours them" },
});

describe("round-robin: sequences", () => {
  const cases = [
    { name: "three servers in turn", available: [true, true, true], expected: "a b c a b c" },
    { name: "an unavailable server is skipped, the turn continues after it", available: [true, false, true], expected: "a c a c a c" },
    { name: "one server left", available: [false, false, true], expected: "c c c c c c" },
  ];
  for (const { name, available, expected } of cases) {
    it(`${name}: ${expected}`, () => {
      const b = roundRobin();
      const servers = makeServers([1, 1, 1]);
      servers.forEach((s, i) => (s.available = available[i]!));
      const random = mulberry32(1);
      const got = Array.from({ length: 6 }, (_, i) => b.pick(servers, pickCtx(undefined, i, random))?.name).join(" ");
      assert.equal(got, expected);
    });
  }

  it("a server coming back rejoins the turn where the rotation is", () => {
    const b = roundRobin();
    const servers = makeServers([1, 1, 1]);
    const random = mulberry32(1);
    const pick = (i: number) => b.pick(servers, pickCtx(undefined, i, random))?.name;
    servers[1]!.available = false;
    assert.deepEqual([pick(0), pick(1)], ["a", "c"]);
    servers[1]!.available = true;
    assert.deepEqual([pick(2), pick(3), pick(4)], ["a", "b", "c"]);
  });
});
