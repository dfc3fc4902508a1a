import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { consistentHash } from "./consistent-hash.ts";
import { REBUILD_SETTLE_MS } from "./hash.ts";
import { keyMovement, makeServers, mulberry32, pickCtx } from "./testing.kit.ts";

// A weight-1 server owns 100 vnodes; its ring share is a sum of 100 arcs, so it is off
// by ~1/√100 = 10% (1σ) from its weight: 30% = 3σ (for the 0.5-weight server of the
// fractional case, 50 vnodes, it is ~2σ). Maglev is the policy for tight shares.
runBalancerConformance("consistent-hash", () => consistentHash(), { shareTolerance: 0.3 });

describe("consistent-hash: only the leaving server's keys move", () => {
  // The leaving server owns 1/5 ± the ring noise above (σ ≈ 0.02 absolute): bound 0.2 +
  // 3σ. And consistent hashing is minimal: every key that moves was on the leaver.
  for (const how of ["down", "removed"] as const) {
    for (const leave of [0, 2, 4]) {
      it(`server ${leave} of 5 ${how}: moved = its keys, ≤ 0.26 of 10,000`, () => {
        const { moved, owned } = keyMovement(() => consistentHash(), [1, 1, 1, 1, 1], leave, how);
        assert.equal(moved, owned);
        assert.ok(moved <= 0.26, `moved ${moved}`);
      });
    }
  }

  it("moves nothing when the servers are reordered", () => {
    const b = consistentHash();
    const servers = makeServers([1, 2, 1, 3]);
    const random = mulberry32(1);
    const before = Array.from({ length: 2000 }, (_, i) => b.pick(servers, pickCtx(`k${i}`, 0, random))!.name);
    const shuffled = [servers[2]!, servers[0]!, servers[3]!, servers[1]!];
    const after = Array.from({ length: 2000 }, (_, i) => b.pick(shuffled, pickCtx(`k${i}`, 1, random))!.name);
    assert.deepEqual(after, before);
  });

  it("a sixth server takes ~1/6 of the keys, all from the others, none between them", () => {
    const b = consistentHash();
    const five = makeServers([1, 1, 1, 1, 1]);
    const six = makeServers([1, 1, 1, 1, 1, 1]);
    const random = mulberry32(1);
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const before = b.pick(five, pickCtx(`user-${i}`, 0, random))!.name;
      const after = b.pick(six, pickCtx(`user-${i}`, 0, random))!.name;
      if (before !== after) {
        assert.equal(after, "f");
        moved++;
      }
    }
    assert.ok(Math.abs(moved / 10_000 - 1 / 6) <= 0.05, `moved ${moved / 10_000}`);
  });

  it("the last server up gets every key, however far past 64 points its walk goes", () => {
    // 99 of 100 servers down: a key walks ~100 points on average to the one up (the
    // walk checks whether any server is usable after 64 steps).
    const b = consistentHash();
    const servers = makeServers(Array.from({ length: 100 }, () => 1));
    for (const s of servers) s.available = s.name === "s42";
    const random = mulberry32(1);
    const got = new Set(Array.from({ length: 1000 }, (_, i) => b.pick(servers, pickCtx(`k${i}`, 0, random))?.name));
    assert.deepEqual([...got], ["s42"]);
  });

  it("applies a positive weight change after it has settled, a weight of 0 at once", () => {
    const b = consistentHash();
    const servers = makeServers([1, 1, 1]);
    const random = mulberry32(1);
    const share = (now: number): number => {
      let n = 0;
      for (let i = 0; i < 3000; i++) if (b.pick(servers, pickCtx(`k${i}`, now, random))!.name === "a") n++;
      return n / 3000;
    };
    const base = share(0);
    servers[0]!.weight = 4; // slow start ramping, say
    assert.equal(share(REBUILD_SETTLE_MS - 1), base, "not rebuilt within the settle time");
    assert.ok(share(REBUILD_SETTLE_MS) > 0.55, "rebuilt once settled: a owns 4/6");
    servers[0]!.weight = 0;
    assert.equal(share(REBUILD_SETTLE_MS + 1), 0, "weight 0 applies at once");
  });
});
