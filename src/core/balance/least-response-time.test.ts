import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runBalancerConformance } from "./conformance.kit.ts";
import { leastConn } from "./least-conn.ts";
import { EWMA_DECAY_MS, leastResponseTime } from "./least-response-time.ts";
import { makeServers, mulberry32, pickCtx, simulate, tally, type TestServer } from "./testing.kit.ts";

runBalancerConformance("least-response-time", () => leastResponseTime());

function shareOf(name: string, picks: readonly string[]): number {
  return (tally(picks).get(name) ?? 0) / picks.length;
}

describe("least-response-time: peak-EWMA latency", () => {
  it("shifts traffic away from a server that turns slow, and back when it recovers", () => {
    // One request every 100 ms, so nothing is in flight at a pick: only latency can tell
    // the servers apart (least-conn sees three idle servers). c serves in 5 ms, then in
    // 50 ms from t = 1,000 s to 2,000 s, then in 5 ms again.
    const slow = (t: number): boolean => t >= 1_000_000 && t < 2_000_000;
    const run = (balancer = leastResponseTime()) =>
      simulate({
        balancer,
        servers: makeServers([1, 1, 1]),
        requests: 30_000,
        interval: 100,
        random: mulberry32(1),
        duration: (s, t) => (s.name === "c" && slow(t) ? 50 : 5),
      });
    const picks = run();
    const phases = [
      { from: 0, to: 10_000, min: 0.3, max: 0.37 }, // all alike: 1/3
      { from: 10_100, to: 20_000, min: 0, max: 0.03 }, // c slow: periodic re-probes only
      { from: 23_000, to: 30_000, min: 0.3, max: 0.37 }, // recovered (after ~τ of probing)
    ];
    for (const { from, to, min, max } of phases) {
      const share = shareOf("c", picks.slice(from, to));
      assert.ok(share >= min && share <= max, `requests ${from}..${to}: c has ${share.toFixed(3)}, want ${min}..${max}`);
    }
    assert.ok(Math.abs(shareOf("c", run(leastConn()).slice(10_100, 20_000)) - 1 / 3) < 0.01, "least-conn baseline: 1/3");
  });

  it("avoids a server from its first slow response (peak), forgives it gradually", () => {
    const b = leastResponseTime();
    const [a, c] = makeServers([1, 1]) as [TestServer, TestServer];
    b.onEnd!(a, 10, true, 0);
    b.onEnd!(c, 10, true, 0);
    b.onEnd!(c, 10, true, 1000);
    b.onEnd!(c, 500, true, 1001); // one slow response
    const random = mulberry32(1);
    const picksAt = (now: number): number => {
      let n = 0;
      for (let i = 0; i < 1000; i++) if (b.pick([a, c], pickCtx(undefined, now, random)) === c) n++;
      return n;
    };
    assert.equal(picksAt(1002), 0, "avoided at once");
    const feedA = (from: number, to: number): void => {
      for (let t = from; t <= to; t += 1000) b.onEnd!(a, 10, true, t); // a stays at 10
    };
    feedA(2000, 2 * EWMA_DECAY_MS);
    assert.equal(picksAt(2 * EWMA_DECAY_MS), 0, "20 s later c's 500 ms has only decayed to ~68");
    feedA(2 * EWMA_DECAY_MS + 1000, 5 * EWMA_DECAY_MS);
    // 50 s without a sample: c's estimate ≈ 500 × e^-5 ≈ 3.4 < a's 10 → retried
    assert.ok(picksAt(1001 + 5 * EWMA_DECAY_MS) > 900, "retried once its estimate has decayed");
  });

  it("never lets a failure make a server look faster", () => {
    const b = leastResponseTime();
    const [a, c] = makeServers([1, 1]) as [TestServer, TestServer];
    b.onEnd!(a, 20, true, 0);
    b.onEnd!(c, 20, true, 0);
    for (let t = 1; t <= 100; t++) b.onEnd!(c, 1, false, t * 10); // fast 503s
    for (let t = 1; t <= 100; t++) b.onEnd!(a, 20, true, t * 10);
    const random = mulberry32(1);
    let toC = 0;
    for (let i = 0; i < 1000; i++) if (b.pick([a, c], pickCtx(undefined, 1000, random)) === c) toC++;
    assert.ok(toC > 350 && toC < 650, `alike servers split evenly, got ${toC} of 1000 to the failing one`);
  });

  it("starts a new server optimistic but not flooded: its active count still counts", () => {
    const b = leastResponseTime();
    const servers = makeServers([1, 1, 1]);
    for (const s of servers.slice(0, 2)) b.onEnd!(s, 10, true, 0);
    const random = mulberry32(1);
    const picks: string[] = [];
    for (let i = 0; i < 30; i++) {
      const s = b.pick(servers, pickCtx(undefined, 1, random)) as TestServer;
      s.active++; // held open, no response yet
      picks.push(s.name);
    }
    const newcomer = shareOf("c", picks);
    assert.ok(newcomer > 0.2 && newcomer < 0.5, `new server got ${newcomer.toFixed(2)} of 30 held requests`);
  });
});

describe("least-response-time: one pick between a and b, from the samples it was given", () => {
  // Each row feeds `samples` (server, latency ms, ok, clock) to a fresh balancer, then
  // picks at `now` with `first` drawn first (a scripted random(): 0 draws a, 0.99 draws
  // b; the second draw takes the other). The second wins only when its cost × 1.1 is
  // below the first's; cost = estimate × (active / weight + 2 / Σ weight).
  const T = EWMA_DECAY_MS;
  type Sample = readonly ["a" | "b", number, boolean, number];
  const cases: readonly {
    why: string;
    samples: readonly Sample[];
    active?: readonly [number, number];
    weights?: readonly [number, number];
    now?: number;
    first: "a" | "b";
    expected: "a" | "b";
  }[] = [
    { why: "neither measured: the load decides", samples: [], active: [1, 0], first: "a", expected: "b" },
    { why: "neither measured, same load: the first drawn", samples: [], first: "b", expected: "b" },
    { why: "b unmeasured: the load decides", samples: [["a", 10, true, 0]], active: [0, 1], first: "a", expected: "a" },
    { why: "a unmeasured: the load decides", samples: [["b", 10, true, 0]], active: [1, 0], first: "a", expected: "b" },
    { why: "a measured at 0 ms beside an unmeasured b: the load decides", samples: [["a", 0, true, 0]], active: [1, 0], first: "a", expected: "b" },
    { why: "a measured at 0 ms is measured, and the cheapest", samples: [["a", 0, true, 0], ["b", 10, true, 0]], first: "b", expected: "a" },
    { why: "b measured at 0 ms is measured, and the cheapest", samples: [["a", 10, true, 0], ["b", 0, true, 0]], first: "a", expected: "b" },
    { why: "a at 0 ms costs 0 whatever its load", samples: [["a", 0, true, 0], ["b", 10, true, 0]], active: [5, 0], first: "a", expected: "a" },
    { why: "both at 0 ms: nothing to beat by 10%, the first drawn", samples: [["a", 0, true, 0], ["b", 0, true, 0]], first: "a", expected: "a" },
    { why: "b only 10% cheaper (10 × 1.1 = 11): not enough", samples: [["a", 11, true, 0], ["b", 10, true, 0]], first: "a", expected: "a" },
    { why: "b more than 10% cheaper", samples: [["a", 12, true, 0], ["b", 10, true, 0]], first: "a", expected: "b" },
    { why: "a slower per request but b busier: 10 × (0 + 1) vs 2 × (4 + 1)", samples: [["a", 10, true, 0], ["b", 2, true, 0]], active: [0, 4], first: "a", expected: "a" },
    { why: "same latency, a busier: 10 × (1 + 1) vs 10 × (0 + 1)", samples: [["a", 10, true, 0], ["b", 10, true, 0]], active: [1, 0], first: "a", expected: "b" },
    { why: "a busier but b slower: 10 × (1 + 1) vs 30 × (0 + 1)", samples: [["a", 10, true, 0], ["b", 30, true, 0]], active: [1, 0], first: "a", expected: "a" },
    { why: "load per weight: 2 on weight 2 is 1 on weight 1", samples: [["a", 10, true, 0], ["b", 10, true, 0]], active: [2, 1], weights: [2, 1], first: "a", expected: "a" },
    { why: "load per weight, b drawn first", samples: [["a", 10, true, 0], ["b", 10, true, 0]], active: [2, 1], weights: [2, 1], first: "b", expected: "b" },
    { why: "load per weight: 2 on weight 2 is half of 2 on weight 1", samples: [["a", 10, true, 0], ["b", 10, true, 0]], active: [2, 2], weights: [1, 2], first: "a", expected: "b" },
    { why: "the average request is 2 / Σ weight: 10 × (0 + 1/2) vs 4 × (2/2 + 1/2)", samples: [["a", 10, true, 0], ["b", 4, true, 0]], weights: [2, 2], active: [0, 2], first: "a", expected: "a" },
    { why: "an older sample has decayed: a 20 → 20/e ≈ 7.4 after 10 s, b 20 fresh", samples: [["a", 20, true, 0], ["b", 20, true, T]], now: T, first: "b", expected: "a" },
    { why: "decay is e^(−Δt/10 s): 20 after 1 s is 18.1, not below 15/1.1", samples: [["a", 20, true, 0], ["b", 15, true, T / 10]], now: T / 10, first: "b", expected: "b" },
    { why: "a sample stamped after the pick's clock is not grown", samples: [["a", 10, true, T], ["b", 10, true, 0]], now: 0, first: "a", expected: "a" },
    { why: "a failure as the first sample leaves a unmeasured", samples: [["a", 1, false, 0], ["b", 10, true, 0]], first: "b", expected: "b" },
    { why: "a negative latency counts as 0 ms, not as unmeasured", samples: [["a", -5, true, 0], ["b", 10, true, 0]], first: "b", expected: "a" },
    { why: "a failure slower than the estimate raises it (peak)", samples: [["a", 10, true, 0], ["a", 500, false, 1], ["b", 100, true, 1]], now: 1, first: "a", expected: "b" },
    { why: "a faster success lowers it by the decayed weight: 100/e + 10 × (1 − 1/e) ≈ 43.1 < 48/1.1", samples: [["a", 100, true, T], ["a", 10, true, 2 * T], ["b", 48, true, 2 * T]], now: 2 * T, first: "b", expected: "a" },
    { why: "…and not below 47/1.1 ≈ 42.7", samples: [["a", 100, true, T], ["a", 10, true, 2 * T], ["b", 47, true, 2 * T]], now: 2 * T, first: "b", expected: "b" },
    { why: "a faster failure does not lower it: held at 100", samples: [["a", 100, true, 0], ["a", 10, false, T], ["b", 48, true, T]], now: T, first: "b", expected: "b" },
    { why: "a sample equal to the decayed estimate keeps it (100/e ≈ 36.8 < 41/1.1)", samples: [["a", 100, true, 0], ["a", 100 * Math.exp(-1), true, T], ["b", 41, true, T]], now: T, first: "b", expected: "a" },
    { why: "a late sample (clock before the stamp) does not move the stamp back: 100/e at 2T, not 100/e^1.5", samples: [["a", 10, true, T], ["a", 100, true, T / 2], ["b", 38, true, 2 * T]], now: 2 * T, first: "b", expected: "b" },
    { why: "a late faster sample does not lower the estimate", samples: [["a", 100, true, T], ["a", 10, true, T / 2], ["b", 108, true, T]], now: T, first: "b", expected: "b" },
  ];
  for (const { why, samples, active = [0, 0], weights = [1, 1], now = 0, first, expected } of cases) {
    it(`${why} → ${expected}`, () => {
      const b = leastResponseTime();
      const servers = makeServers(weights);
      const byName = { a: servers[0]!, b: servers[1]! };
      for (const [name, latency, ok, t] of samples) b.onEnd!(byName[name], latency, ok, t);
      servers.forEach((s, i) => (s.active = active[i]!));
      const draws = first === "a" ? [0, 0] : [0.99, 0];
      let k = 0;
      assert.equal(b.pick(servers, pickCtx(undefined, now, () => draws[k++]!))?.name, expected);
    });
  }
});

describe("least-response-time: one usable server", () => {
  it("one usable server left after a pick of two: it, not the second of the last pair", () => {
    const b = leastResponseTime();
    const servers = makeServers([1, 1]);
    servers[0]!.active = 3;
    assert.equal(b.pick(servers, pickCtx(undefined, 0, () => 0))?.name, "b"); // a vs b, unmeasured: load decides
    servers[1]!.available = false;
    assert.equal(b.pick(servers, pickCtx(undefined, 0, () => 0))?.name, "a");
  });
});

describe("least-response-time: estimates of servers no longer in the list", () => {
  // Swept when there are more than 2 × servers + 16 of them: with a and b, above 20. a is
  // measured at 10, b at 30, x at 500. A pick over a and b (b drawn first) keeps reading
  // theirs; then x, drawn first against a, is unmeasured if swept (the load decides: a
  // tie, x keeps the pick) and avoided if not.
  const run = (others: number): string => {
    const b = leastResponseTime();
    const [a, sb, x] = makeServers([1, 1, 1]) as [TestServer, TestServer, TestServer];
    b.onEnd!(a, 10, true, 0);
    b.onEnd!(sb, 30, true, 0);
    b.onEnd!(x, 500, true, 0);
    for (let i = 0; i < others; i++) b.onEnd!({ ...a, name: `gone-${i}` }, 10, true, 0);
    const draws = [0.99, 0, 0.99, 0]; // b then a; x then a
    let k = 0;
    const random = (): number => draws[k++]!;
    const first = b.pick([a, sb], pickCtx(undefined, 0, random))?.name;
    return `${first} ${b.pick([a, x], pickCtx(undefined, 0, random))?.name}`;
  };
  it("21 estimates for 2 servers: swept, a and b keep theirs, x is unmeasured again", () => assert.equal(run(18), "a c"));
  it("20 estimates for 2 servers: kept, x is still avoided", () => assert.equal(run(17), "a a"));
});
