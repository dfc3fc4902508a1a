import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { p2c } from "./p2c.ts";
import { random } from "./random.ts";
import { makeServers, mulberry32, pickCtx, simulate, tally } from "./testing.kit.ts";

runBalancerConformance("p2c", () => p2c());

describe("p2c: the less loaded of two weighted draws", () => {
  // Two draws from a scripted random(): the first over a:b:c = 2:1:1 laid end to end,
  // the second over the remaining servers.
  const cases = [
    { draws: [0, 0], active: [4, 1, 0], expected: "b" }, // a vs b: 4/2 > 1/1
    { draws: [0, 0.99], active: [4, 1, 0], expected: "c" }, // a vs c
    { draws: [0.6, 0], active: [0, 0, 0], expected: "b" }, // tie: first drawn
    { draws: [0.9, 0.1], active: [2, 1, 0], expected: "c" }, // c vs a
    { draws: [0.1, 0.4], active: [2, 1, 9], expected: "a" }, // a vs b: 2/2 = 1/1, first drawn
    { draws: [0.9, 0.1], active: [1, 0, 2], expected: "a" }, // c vs a: 1/2 < 2/1, the weight of each divides its own load
  ];
  for (const { draws, active, expected } of cases) {
    it(`draws ${draws.join(",")}, active ${active.join(",")} → ${expected}`, () => {
      const servers = makeServers([2, 1, 1]);
      servers.forEach((s, i) => (s.active = active[i]!));
      let k = 0;
      assert.equal(p2c().pick(servers, pickCtx(undefined, 0, () => draws[k++]!))?.name, expected);
    });
  }

  it("returns the only usable server without drawing", () => {
    const servers = makeServers([1, 0, 1]);
    servers[0]!.available = false;
    assert.equal(p2c().pick(servers, pickCtx(undefined, 0, () => assert.fail("no draw")))?.name, "c");
  });

  it("one usable server left after a pick of two: it, not the second of the last pair", () => {
    const b = p2c();
    const servers = makeServers([1, 1]);
    servers[0]!.active = 3;
    assert.equal(b.pick(servers, pickCtx(undefined, 0, () => 0))?.name, "b"); // a vs b
    servers[1]!.available = false;
    assert.equal(b.pick(servers, pickCtx(undefined, 0, () => 0))?.name, "a");
  });

  it("sends clearly fewer requests to a server whose requests last 10× longer", () => {
    // Same scenario as least-conn: c's share is 1/21 ≈ 0.048 with perfect knowledge,
    // a bit more with two random candidates (c still wins when paired with a busier
    // server); random gives it 1/3.
    const run = (balancer = p2c()) => {
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
    assert.ok(share < 0.1, `slow server share ${share.toFixed(3)} should be < 0.1`);
    assert.ok(Math.abs(run(random()) - 1 / 3) < 0.02, "random baseline gives it 1/3");
  });
});
