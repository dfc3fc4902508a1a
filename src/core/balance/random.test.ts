import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { random } from "./random.ts";
import { makeServers, pickCtx } from "./testing.kit.ts";

runBalancerConformance("random", () => random());

describe("random: ctx.random maps onto the weights laid end to end", () => {
  // weights a=5, b=0 (skipped), c=3, d=1 (down), e=1 → cumulative a [0,5) c [5,8) e [8,9)
  const cases = [
    { u: 0, expected: "a" },
    { u: 4.99 / 9, expected: "a" },
    { u: 5 / 9, expected: "c" },
    { u: 7.99 / 9, expected: "c" },
    { u: 8.01 / 9, expected: "e" },
    { u: 0.999999999, expected: "e" },
  ];
  for (const { u, expected } of cases) {
    it(`random() = ${u.toFixed(4)} → ${expected}`, () => {
      const servers = makeServers([5, 0, 3, 1, 1]);
      servers[3]!.available = false;
      assert.equal(random().pick(servers, pickCtx(undefined, 0, () => u))?.name, expected);
    });
  }
});
