import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { leastConn } from "./least-conn.ts";
import { roundRobin } from "./round-robin.ts";
import { makeServers, mulberry32, pickCtx, simulate, tally } from "./testing.kit.ts";

runBalancerConformance("least-conn", () => leastConn());

describe("least-conn: fewest in flight", () => {
  const cases = [
    { active: [3, 1, 2], weights: [1, 1, 1], expected: "b" },
    { active: [0, 0, 0], weights: [1, 1, 1], expected: "a b c a" }, // ties share
    { active: [2, 1, 1], weights: [1, 1, 1], expected: "b c" },
    { active: [1, 1, 0], weights: [9, 9, 1], expected: "c" }, // weight does not beat load
    { active: [0, 0, 5], weights: [2, 1, 1], expected: "a b a a b a" }, // ties split 2:1
  ];
  for (const { active, weights, expected } of cases) {
    it(`active ${active.join(",")} weights ${weights.join(":")} → ${expected}`, () => {
      const b = leastConn();
      const servers = makeServers(weights);
      servers.forEach((s, i) => (s.active = active[i]!));
      const ctx = pickCtx(undefined, 0, mulberry32(1));
      // picks are not held open: each request ends before the next
      const got = expected.split(" ").map(() => b.pick(servers, ctx)!.name);
      assert.equal(got.join(" "), expected);
    });
  }

  it("sends clearly fewer requests to a server whose requests last 10× longer", () => {
    // 3 equal servers, c serves in 200 ms instead of 20, one arrival per ms. Least-conn
    // keeps in-flight counts even, so throughput follows 1/duration: c's share → 1/21 ≈ 0.048;
    // round-robin gives it 1/3 regardless.
    const run = (balancer = leastConn()) => {
      const picks = simulate({
        balancer,
        servers: makeServers([1, 1, 1]),
        requests: 30_000,
        random: mulberry32(1),
        duration: (s) => (s.name === "c" ? 200 : 20),
      });
      return (tally(picks).get("c") ?? 0) / picks.length;
    };
    const share = run();
    assert.ok(share < 0.08, `slow server share ${share.toFixed(3)} should be < 0.08`);
    assert.ok(Math.abs(run(roundRobin()) - 1 / 3) < 0.01, "round-robin baseline gives it 1/3");
  });
});
