import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { makeServers, mulberry32, pickCtx } from "./testing.kit.ts";
import { weightedRoundRobin } from "./weighted-round-robin.ts";

runBalancerConformance("weighted-round-robin", () => weightedRoundRobin());

describe("weighted-round-robin: smooth interleaving (NGINX's sequences)", () => {
  const cases = [
    // NGINX commit "Upstream: smooth weighted round-robin balancing" (1.3.1, 2012):
    // "for edge case weights like { 5, 1, 1 } we now produce { a, a, b, a, c, a, a }"
    { weights: [5, 1, 1], expected: "a a b a c a a" },
    { weights: [5, 3, 1], expected: "a b a c a b a b a" },
    { weights: [1, 1, 1], expected: "a b c" },
    { weights: [2, 0, 1], expected: "a c a" },
    { weights: [0.5, 0.25, 0.25], expected: "a b c a" }, // fractional = same as 2:1:1,
  ];
  for (const { weights, expected } of cases) {
    it(`${weights.join(":")} → ${expected}, and again`, () => {
      const b = weightedRoundRobin();
      const servers = makeServers(weights);
      const ctx = pickCtx(undefined, 0, mulberry32(1));
      const cycle = expected.split(" ").length;
      const got = Array.from({ length: 2 * cycle }, () => b.pick(servers, ctx)!.name).join(" ");
      assert.equal(got, `${expected} ${expected}`);
    });
  }

  it("skips a server while it is down and keeps the others' rhythm", () => {
    const b = weightedRoundRobin();
    const servers = makeServers([5, 1, 1]);
    const ctx = pickCtx(undefined, 0, mulberry32(1));
    servers[1]!.available = false;
    const got = Array.from({ length: 6 }, () => b.pick(servers, ctx)!.name).join(" ");
    assert.equal(got, "a a a c a a");
  });
});
