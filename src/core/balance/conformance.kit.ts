import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Balancer } from "./types.ts";
import { makeServers, mulberry32, pickCtx, simulate, tally, type TestServer } from "./testing.kit.ts";

/**
 * Options of {@link runBalancerConformance}.
 *
 * @example
 * runBalancerConformance("consistent-hash", () => consistentHash(), { shareTolerance: 0.3 });
 */
export interface ConformanceOptions {
  /**
   * Largest accepted relative error of each server's share of the picks (0.1: a server
   * expected to get 1,000 of 9,000 picks must get 900..1,100). Default 0.1, which holds
   * for exact schedules and is over 3σ of the sampling noise of a draw with 9,000 trials
   * (the rarest server, p = 1/9: σ ≈ 3% relative). Ring policies pass their own,
   * derived from their vnode count.
   */
  readonly shareTolerance?: number;
  /**
   * Checks the policy does not satisfy by design, each with the reason (hono's router
   * suite skips cases per router the same way). An exempted check is not dropped: it is
   * replaced by one that asserts what the policy does instead, so the exemption cannot
   * outlive its reason. `weights`: the policy ignores weights (the shares must then be
   * equal).
   */
  readonly exempt?: { readonly weights?: string };
}

const PICKS = 9000;
const WEIGHTS = [5, 3, 1] as const;

/**
 * The contract every balancing policy meets (hono's `common.case.test.ts` pattern): each
 * policy's test file calls this with a factory, then adds its own cases.
 *
 * - `undefined` with no server, or none available, or only weight 0;
 * - never an unavailable or weight-0 server, with or without a key, while servers flap
 *   and load comes and goes;
 * - shares follow weights 5:3:1 over 9,000 picks, with 9,000 distinct keys and with
 *   none (the hash policies' round-robin fallback), and fractional weights 0.5:1.5
 *   (unless exempted: see {@link ConformanceOptions.exempt});
 *   requests complete between arrivals (the idle regime, where weights alone decide);
 * - deterministic: two instances driven by the same seeded PRNG pick the same sequence;
 * - servers joining, leaving and being reordered between picks.
 *
 * @example
 * runBalancerConformance("p2c", () => p2c());
 */
export function runBalancerConformance(name: string, factory: () => Balancer, opts: ConformanceOptions = {}): void {
  const tolerance = opts.shareTolerance ?? 0.1;

  describe(`${name}: balancer conformance`, () => {
    it("is named after its registry entry", () => {
      assert.equal(factory().name, name);
    });

    it("returns undefined when no server can take the request", () => {
      const random = mulberry32(1);
      for (const key of [undefined, "user-1"]) {
        const b = factory();
        assert.equal(b.pick([], pickCtx(key, 0, random)), undefined);
        const servers = makeServers([1, 2, 3]);
        for (const s of servers) s.available = false;
        assert.equal(b.pick(servers, pickCtx(key, 1, random)), undefined);
        const zero = makeServers([0, 0]);
        assert.equal(b.pick(zero, pickCtx(key, 2, random)), undefined);
        // and recovers when one comes back
        servers[1]!.available = true;
        assert.equal(b.pick(servers, pickCtx(key, 3, random))?.name, "b");
      }
    });

    it("never picks an unavailable or weight-0 server, while servers flap and load varies", () => {
      // flap plan: before pick i (every 50th) server `flapAt[i]` goes up or down
      const plan = mulberry32(11);
      const flaps = new Map<number, [number, boolean]>();
      for (let i = 0; i < 4000; i += 50) {
        const at = Math.floor(plan() * 6);
        flaps.set(i, [at === 1 ? 0 : at, plan() < 0.6]); // b keeps weight 0 and stays up
      }
      const flap = (servers: TestServer[], i: number): void => {
        const f = flaps.get(i);
        if (f !== undefined) servers[f[0]]!.available = f[1];
      };
      for (const keyed of [true, false]) {
        const random = mulberry32(7);
        const servers = makeServers([2, 0, 1, 3, 1, 0.5]);
        const picks = simulate({
          balancer: factory(),
          servers,
          requests: 4000,
          random,
          duration: () => Math.floor(random() * 40),
          key: keyed ? (i) => `user-${i % 997}` : undefined,
          before: (i) => flap(servers, i),
        });
        // replay the flaps to check each pick against the state it was made in
        const replay = makeServers([2, 0, 1, 3, 1, 0.5]);
        for (let i = 0; i < picks.length; i++) {
          flap(replay, i);
          const name = picks[i]!;
          if (name === "") {
            assert.ok(replay.every((s) => !s.available || s.weight === 0), `pick ${i}: undefined while a server was up`);
            continue;
          }
          const s = replay.find((x) => x.name === name)!;
          assert.ok(s.available, `pick ${i}: ${name} was unavailable`);
          assert.ok(s.weight > 0, `pick ${i}: ${name} has weight 0`);
        }
        assert.ok(picks.some((n) => n === "f"), "the fractional-weight server gets traffic");
        for (const s of servers) assert.equal(s.active, 0);
      }
    });

    const ignoresWeights = opts.exempt?.weights;
    if (ignoresWeights !== undefined) {
      it(`exempt from weighted shares (${ignoresWeights}): 5:3:1 gets equal shares (±${tolerance * 100}%)`, () => {
        const servers = makeServers(WEIGHTS);
        const picks = simulate({ balancer: factory(), servers, requests: PICKS, random: mulberry32(42), duration: () => 0.5 });
        assertShares(tally(picks), makeServers([1, 1, 1]), tolerance);
      });
    }

    for (const keyed of ignoresWeights === undefined ? [true, false] : []) {
      it(`splits 5:3:1 over ${PICKS} picks ${keyed ? "with distinct keys" : "without a key"} (±${tolerance * 100}%)`, () => {
        const servers = makeServers(WEIGHTS);
        const picks = simulate({
          balancer: factory(),
          servers,
          requests: PICKS,
          random: mulberry32(42),
          duration: () => 0.5, // done before the next arrival, with a real latency
          key: keyed ? (i) => `user-${i}` : undefined,
        });
        assertShares(tally(picks), servers, tolerance);
      });
    }

    if (ignoresWeights === undefined) it(`splits fractional weights 0.5:1.5 as 1:3 (±${tolerance * 100}%)`, () => {
      const servers = makeServers([0.5, 1.5]);
      const picks = simulate({
        balancer: factory(),
        servers,
        requests: 4000,
        random: mulberry32(3),
        duration: () => 0.5,
        key: (i) => `k${i}`,
      });
      assertShares(tally(picks), servers, tolerance);
    });

    it("is deterministic under a seeded PRNG", () => {
      const run = (): string[] => {
        const random = mulberry32(99);
        return simulate({
          balancer: factory(),
          servers: makeServers([3, 1, 2, 1]),
          requests: 2000,
          random,
          duration: () => Math.floor(random() * 30),
          key: (i) => (i % 3 === 0 ? undefined : `user-${i % 500}`),
        });
      };
      assert.deepEqual(run(), run());
    });

    it("follows servers joining, leaving and being reordered between picks", () => {
      const b = factory();
      const random = mulberry32(5);
      let servers: TestServer[] = makeServers([1, 1, 1]);
      let now = 0;
      const pickMany = (count: number): Map<string, number> => {
        const names: string[] = [];
        for (let i = 0; i < count; i++) {
          const s = b.pick(servers, pickCtx(`user-${i}`, now++, random));
          assert.ok(s !== undefined && servers.includes(s as TestServer), "picked a server not in the current list");
          names.push(s.name);
        }
        return tally(names);
      };
      pickMany(300);
      const [a, sb, c] = servers as [TestServer, TestServer, TestServer];
      const d: TestServer = { index: 3, name: "d", weight: 1, available: true, active: 0 };
      const e: TestServer = { index: 4, name: "e", weight: 1, available: true, active: 0 };
      servers = [a, sb, c, d, e];
      const joined = pickMany(1000);
      assert.ok((joined.get("d") ?? 0) > 100 && (joined.get("e") ?? 0) > 100, "new servers get traffic");
      servers = [e, c, a, d]; // b left, the rest reordered
      const left = pickMany(1000);
      assert.equal(left.get("b"), undefined, "a removed server gets nothing");
      assert.equal(left.size, 4);
      servers = [];
      assert.equal(b.pick(servers, pickCtx("user-1", now++, random)), undefined);
    });
  });
}

function assertShares(counts: Map<string, number>, servers: readonly TestServer[], tolerance: number): void {
  const total = servers.reduce((sum, s) => sum + s.weight, 0);
  let picks = 0;
  for (const n of counts.values()) picks += n;
  for (const s of servers) {
    const expected = (picks * s.weight) / total;
    const got = counts.get(s.name) ?? 0;
    const err = Math.abs(got - expected) / expected;
    assert.ok(err <= tolerance, `${s.name}: ${got} picks, expected ${expected.toFixed(0)} ±${(tolerance * 100).toFixed(0)}% (off by ${(err * 100).toFixed(1)}%)`);
  }
}
