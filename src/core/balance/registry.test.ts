import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BalanceName } from "../../config/types.ts";
import { balancers, createBalancer, type BalancerName } from "./registry.ts";

// Compile-time: the registry and the config schema's `balance` enum list the same names.
const sameNames: [BalanceName, BalancerName] extends [BalancerName, BalanceName] ? true : never = true;

describe("registry", () => {
  it("builds every policy under its DESIGN name", () => {
    assert.ok(sameNames);
    for (const name of Object.keys(balancers) as BalancerName[]) assert.equal(createBalancer(name).name, name);
  });
});
