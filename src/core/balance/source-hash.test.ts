import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { sourceHash } from "./source-hash.ts";
import { makeServers, mulberry32, pickCtx } from "./testing.kit.ts";

runBalancerConformance("source-hash", () => sourceHash());

describe("source-hash: same key, same server", () => {
  it("maps each key to one server while the set is unchanged", () => {
    const b = sourceHash();
    const servers = makeServers([2, 1, 1]);
    const random = mulberry32(1);
    const owner = new Map<string, string>();
    for (let i = 0; i < 512; i++) {
      const key = `203.0.113.${i % 256}`; // each key asked twice, 256 picks apart
      const name = b.pick(servers, pickCtx(key, i, random))!.name;
      if (!owner.has(key)) owner.set(key, name);
      assert.equal(name, owner.get(key), `${key} at pick ${i}`);
    }
    assert.equal(new Set(owner.values()).size, 3, "the keys spread over every server");
  });

  it("falls back to smooth weighted round-robin without a key", () => {
    const b = sourceHash();
    const servers = makeServers([5, 1, 1]);
    const ctx = pickCtx(undefined, 0, mulberry32(1));
    assert.equal(Array.from({ length: 7 }, () => b.pick(servers, ctx)!.name).join(" "), "a a b a c a a");
  });

  it("sends the keys of a server that goes down elsewhere, never to it", () => {
    const b = sourceHash();
    const servers = makeServers([1, 1, 1, 1]);
    const random = mulberry32(1);
    servers[2]!.available = false;
    for (let i = 0; i < 2000; i++) assert.notEqual(b.pick(servers, pickCtx(`k${i}`, 0, random))?.name, "c");
  });
});
