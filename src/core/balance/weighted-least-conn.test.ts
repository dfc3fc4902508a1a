import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { makeServers, mulberry32, pickCtx, simulate, tally, type TestServer } from "./testing.kit.ts";
import { weightedLeastConn } from "./weighted-least-conn.ts";

runBalancerConformance("weighted-least-conn", () => weightedLeastConn());

describe("weighted-least-conn: lowest active / weight", () => {
  const cases = [
    { active: [4, 1, 1], weights: [4, 1, 2], expected: "c" }, // 1, 1, 0.5
    { active: [3, 1, 0], weights: [4, 1, 0], expected: "a" }, // c has weight 0
    { active: [2, 1, 3], weights: [2, 1, 3], expected: "c a b c a" }, // all 1: ties share 2:1:3
    { active: [0, 1, 0], weights: [1, 5, 0.5], expected: "a c a" }, // idle a, c split 1:0.5
    { active: [0, 5, 0], weights: [0, 1, 1], expected: "c" }, // a weight-0 server sets no bar
  ];
  for (const { active, weights, expected } of cases) {
    it(`active ${active.join(",")} weights ${weights.join(":")} → ${expected}`, () => {
      const b = weightedLeastConn();
      const servers = makeServers(weights);
      servers.forEach((s, i) => (s.active = active[i]!));
      const ctx = pickCtx(undefined, 0, mulberry32(1));
      const got = expected.split(" ").map(() => b.pick(servers, ctx)!.name);
      assert.equal(got.join(" "), expected);
    });
  }

  it("keeps in-flight counts proportional to weights at every concurrency", () => {
    const b = weightedLeastConn();
    const servers = makeServers([3, 2, 1]);
    const ctx = pickCtx(undefined, 0, mulberry32(1));
    for (let held = 1; held <= 600; held++) {
      (b.pick(servers, ctx) as TestServer).active++;
      for (const s of servers) {
        const fair = (held * s.weight) / 6;
        assert.ok(Math.abs(s.active - fair) <= 1, `after ${held}: ${s.name} holds ${s.active}, fair ${fair}`);
      }
    }
  });

  it("sends clearly fewer requests to a server whose requests last 10× longer", () => {
    // weights 2:1:1, the heavy server a is the slow one (200 ms vs 20). Even in-flight per
    // weight means throughput ∝ weight / duration: a gets 0.1 / 1.1 ≈ 0.09 instead of 0.5.
    const picks = simulate({
      balancer: weightedLeastConn(),
      servers: makeServers([2, 1, 1]),
      requests: 30_000,
      random: mulberry32(1),
      duration: (s) => (s.name === "a" ? 200 : 20),
    });
    const share = (tally(picks).get("a") ?? 0) / picks.length;
    assert.ok(share < 0.13, `slow server share ${share.toFixed(3)} should be < 0.13`);
  });
});
