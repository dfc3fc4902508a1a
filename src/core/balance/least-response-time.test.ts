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
