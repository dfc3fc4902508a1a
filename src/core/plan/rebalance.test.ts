import assert from "node:assert/strict";
import { test } from "node:test";
import {
  fairShares,
  isBalanced,
  lifetimeDeadline,
  newestFirst,
  planRebalance,
  Rebalancer,
  type OpenTunnel,
  type RebalanceServer,
} from "./rebalance.ts";
import { maxInWindow, mulberry32 } from "./testing.kit.ts";

const s = (name: string, tunnels: number, weight = 1, available = true): RebalanceServer => ({ name, weight, available, tunnels });

test("fairShares: weighted, among available servers only", () => {
  const cases: [RebalanceServer[], Record<string, number>][] = [
    [[s("a", 500, 2), s("b", 100), s("c", 300, 1, false)], { a: 400, b: 200 }],
    [[s("a", 450), s("b", 450), s("c", 0)], { a: 300, b: 300, c: 300 }],
    [[s("a", 10, 0), s("b", 10)], { a: 0, b: 20 }],
    [[s("a", 10, 0), s("b", 10, 0)], {}],
    [[s("a", 10, 1, false)], {}],
    [[], {}],
  ];
  for (const [servers, want] of cases) assert.deepEqual(Object.fromEntries(fairShares(servers)), want, JSON.stringify(servers));
});

test("planRebalance / isBalanced: table", () => {
  const cases: { name: string; servers: RebalanceServer[]; budget?: number; balanced: boolean; want: Record<string, number> }[] = [
    { name: "even", servers: [s("a", 300), s("b", 300), s("c", 300)], balanced: true, want: {} },
    { name: "after the scale-out plan (JSDoc example)", servers: [s("a", 330), s("b", 330), s("c", 240)], balanced: true, want: {} },
    { name: "at the bounds exactly (375 / 240)", servers: [s("a", 375), s("b", 285), s("c", 240)], balanced: true, want: {} },
    { name: "single server", servers: [s("a", 900)], balanced: true, want: {} },
    { name: "single available server", servers: [s("a", 900), s("b", 0, 1, false)], balanced: true, want: {} },
    { name: "never towards an unavailable server", servers: [s("a", 450), s("b", 450), s("c", 0, 1, false)], balanced: true, want: {} },
    { name: "a draining server's tunnels are not rebalance's", servers: [s("a", 100), s("b", 100), s("c", 800, 1, false)], balanced: true, want: {} },
    { name: "scale-out 2 → 3", servers: [s("a", 450), s("b", 450), s("c", 0)], balanced: false, want: { a: 120, b: 120 } },
    { name: "scale-out under a budget", servers: [s("a", 450), s("b", 450), s("c", 0)], budget: 20, balanced: false, want: { a: 10, b: 10 } },
    { name: "a budget goes to the most loaded first", servers: [s("a", 460), s("b", 440), s("c", 0)], budget: 25, balanced: false, want: { a: 23, b: 2 } },
    { name: "scale-out 9 → 10: only the new one is out of bounds", servers: [...Array.from({ length: 9 }, (_, i) => s(`o${i}`, 100)), s("new", 0)], balanced: false, want: { o0: 8, o1: 8, o2: 8, o3: 8, o4: 8, o5: 8, o6: 8, o7: 8, o8: 8 } },
    { name: "weights 2:1:1, one overloaded", servers: [s("a", 100, 2), s("b", 100), s("c", 200)], balanced: false, want: { c: 75 } },
    { name: "tiny: 3 / 0 moves one (2 / 1 is as even as it gets)", servers: [s("a", 3), s("b", 0)], balanced: false, want: { a: 1 } },
    { name: "tiny: 1 / 0 moves nothing (it would only flip)", servers: [s("a", 1), s("b", 0)], balanced: false, want: {} },
    { name: "weight 0 and available: all of its tunnels are excess", servers: [s("a", 10, 0), s("b", 10)], balanced: false, want: { a: 10 } },
    { name: "an unavailable server does not stop the plan of the others", servers: [s("a", 450), s("b", 450), s("c", 0), s("d", 5, 1, false)], balanced: false, want: { a: 120, b: 120 } },
    // shares 250 / 125 / 125; load per weight: a 150, b 200: b gives first, a never reaches b's level here
    { name: "a budget goes by load per weight, not by count", servers: [s("a", 300, 2), s("b", 200), s("c", 0)], budget: 10, balanced: false, want: { b: 10 } },
    { name: "zero budget", servers: [s("a", 450), s("b", 450), s("c", 0)], budget: 0, balanced: false, want: {} },
  ];
  for (const c of cases) {
    assert.equal(isBalanced(c.servers, 1.25), c.balanced, `${c.name}: isBalanced`);
    const plan = planRebalance(c.servers, 1.25, c.budget);
    assert.deepEqual(Object.fromEntries(plan.map((p) => [p.name, p.count])), c.want, c.name);
  }
});

test("planRebalance: a backend within bounds never gets a close; otherwise no server is taken below its share", () => {
  const random = mulberry32(5);
  let within = 0;
  for (let i = 0; i < 5000; i++) {
    const n = 2 + Math.floor(random() * 5);
    const servers = Array.from({ length: n }, (_, k) =>
      s(`s${k}`, Math.floor(random() * 400), 1 + Math.floor(random() * 4), random() > 0.15),
    );
    const maxSkew = 1.05 + random();
    const plan = planRebalance(servers, maxSkew);
    if (isBalanced(servers, maxSkew)) {
      within++;
      assert.deepEqual(plan, [], JSON.stringify({ servers, maxSkew }));
      continue;
    }
    const shares = fairShares(servers);
    for (const p of plan) {
      const server = servers.find((x) => x.name === p.name)!;
      assert.ok(server.available);
      assert.ok(server.tunnels - p.count >= shares.get(p.name)! - 1e-9, JSON.stringify({ servers, maxSkew, plan }));
    }
  }
  assert.ok(within > 100, "the random cases include balanced backends");
});

// A backend under a virtual clock: the Rebalancer closes newest first, each closed
// client reconnects after `reconnectDelay` through `place`, like the gateway's balancer.
interface SimServer {
  name: string;
  weight: number;
  available: boolean;
  open: OpenTunnel<number>[];
}
type Place = (servers: SimServer[]) => SimServer;

const leastConn: Place = (servers) => {
  let best = servers.find((x) => x.available)!;
  for (const x of servers) if (x.available && (x.open.length + 1) / x.weight < (best.open.length + 1) / best.weight) best = x;
  return best;
};
const weightedRandom = (random: () => number): Place => (servers) => {
  const up = servers.filter((x) => x.available);
  let r = random() * up.reduce((sum, x) => sum + x.weight, 0);
  for (const x of up) if ((r -= x.weight) < 0) return x;
  return up.at(-1)!;
};

function simulate(opts: { counts: number[]; weights?: number[]; place: Place; rate?: number; reconnectDelay: number; seconds: number }) {
  let nextId = 0;
  const servers: SimServer[] = opts.counts.map((n, i) => ({
    name: `s${i}`,
    weight: opts.weights?.[i] ?? 1,
    available: true,
    open: Array.from({ length: n }, () => ({ id: nextId++, openedAt: -nextId })),
  }));
  const rebalancer = new Rebalancer({ maxSkew: 1.25, rate: opts.rate ?? 20 });
  const closes: number[] = [];
  let reconnects: number[] = [];
  for (let now = 0; now <= opts.seconds * 1000; now += 100) {
    for (const _ of reconnects.filter((at) => at <= now)) place(now);
    reconnects = reconnects.filter((at) => at > now);
    const views = servers.map((x) => ({ name: x.name, weight: x.weight, available: x.available, tunnels: x.open.length }));
    for (const { name, count } of rebalancer.plan(views, now)) {
      const server = servers.find((x) => x.name === name)!;
      const victims = new Set(newestFirst(server.open, count));
      server.open = server.open.filter((t) => !victims.has(t.id));
      for (let i = 0; i < count; i++) {
        closes.push(now);
        reconnects.push(now + opts.reconnectDelay);
      }
    }
  }
  function place(now: number): void {
    opts.place(servers).open.push({ id: nextId++, openedAt: now });
  }
  const views = servers.map((x) => ({ name: x.name, weight: x.weight, available: x.available, tunnels: x.open.length }));
  return { counts: servers.map((x) => x.open.length), views, closes, inFlight: reconnects.length };
}

test("Rebalancer: converges within bounds at ≤ rate closes per second, each surplus tunnel moved at most once", () => {
  const cases: { name: string; counts: number[]; weights?: number[]; reconnectDelay: number; bounds: [number, number][]; maxCloses: number }[] = [
    // shares 300, bounds [240, 375]; surplus above the share Σ⌊t − s⌋ = 300
    { name: "2 → 3 servers, 900 tunnels", counts: [450, 450, 0], reconnectDelay: 300, bounds: [[240, 375], [240, 375], [240, 375]], maxCloses: 300 },
    // reconnects slower than a tick: plans overshoot by about rate × delay, towards the share
    { name: "2 → 3, slow reconnects (2.5 s)", counts: [450, 450, 0], reconnectDelay: 2500, bounds: [[240, 375], [240, 375], [240, 375]], maxCloses: 300 },
    { name: "9 → 10 servers", counts: [...new Array<number>(9).fill(100), 0], reconnectDelay: 300, bounds: new Array(10).fill([72, 112.5]), maxCloses: 90 },
    // weights 2:1:1 + a new weight-2 server: shares 300 / 150 / 150 / 300
    { name: "weighted scale-out", counts: [500, 200, 200, 0], weights: [2, 1, 1, 2], reconnectDelay: 300, bounds: [[240, 375], [120, 187.5], [120, 187.5], [240, 375]], maxCloses: 300 },
  ];
  for (const c of cases) {
    const r = simulate({ counts: c.counts, weights: c.weights, place: leastConn, reconnectDelay: c.reconnectDelay, seconds: 60 });
    assert.equal(r.inFlight, 0);
    assert.equal(r.counts.reduce((a, b) => a + b), c.counts.reduce((a, b) => a + b), `${c.name}: no tunnel lost`);
    r.counts.forEach((n, i) => assert.ok(n >= c.bounds[i]![0] && n <= c.bounds[i]![1], `${c.name}: s${i} holds ${n} (${r.counts})`));
    assert.ok(isBalanced(r.views, 1.25), c.name);
    assert.ok(r.closes.length <= c.maxCloses, `${c.name}: ${r.closes.length} closes`);
    assert.ok(maxInWindow(r.closes, 1000) <= 20, `${c.name}: rate`);
    assert.ok(r.closes.at(-1)! < 30_000, `${c.name}: settled early, then no more closes`);
  }
});

test("Rebalancer: random placement still converges, with ~3× the closes the new server needs (a reconnect lands on it 1 time in 3)", () => {
  for (let seed = 1; seed <= 5; seed++) {
    const r = simulate({ counts: [450, 450, 0], place: weightedRandom(mulberry32(seed)), reconnectDelay: 300, seconds: 120 });
    assert.ok(isBalanced(r.views, 1.25), `seed ${seed}: ${r.counts}`);
    // the new server needs 240 (its lower bound) to 300 (its share); a close lands there
    // 1 time in 3: about 720 to 900 closes, never the ≤ 300 of a least-conn placement
    assert.ok(r.closes.length >= 600 && r.closes.length <= 900, `seed ${seed}: ${r.closes.length} closes`);
    assert.ok(maxInWindow(r.closes, 1000) <= 20);
  }
});

test("Rebalancer: a placement that sends tunnels back defeats it, but only at the rate", () => {
  const back: Place = (servers) => servers[0]!;
  const r = simulate({ counts: [900, 0], place: back, reconnectDelay: 100, seconds: 10 });
  assert.ok(!isBalanced(r.views, 1.25), `never balanced: ${r.counts}`);
  assert.deepEqual([r.counts[0]! + r.inFlight, r.counts[1]], [900, 0], "every closed tunnel came back to s0 (the last 20 still on their way)");
  // 20 closes at 0, 1000, ..., 10000 ms: the full budget every second, never more
  assert.equal(r.closes.length, 20 * 11);
  assert.ok(maxInWindow(r.closes, 1000) <= 20);
});

test("Rebalancer: the rate limit is a sliding window, fractional rates included", () => {
  const out = [s("a", 900), s("b", 0)];
  const cases: { rate: number; calls: [now: number, want: number][] }[] = [
    { rate: 20, calls: [[0, 20], [100, 0], [999, 0], [1000, 20], [1500, 0], [2000, 20]] },
    { rate: 2.5, calls: [[0, 2], [799, 0], [800, 2], [1600, 2]] },
    { rate: 0.5, calls: [[0, 1], [1000, 0], [1999, 0], [2000, 1]] },
  ];
  for (const c of cases) {
    const r = new Rebalancer({ maxSkew: 1.25, rate: c.rate });
    for (const [now, want] of c.calls) {
      const got = r.plan(out, now).reduce((sum, p) => sum + p.count, 0);
      assert.equal(got, want, `rate ${c.rate} at ${now}`);
    }
  }
  // an unused budget is not spent by a balanced backend
  const r = new Rebalancer({ maxSkew: 1.25, rate: 20 });
  assert.deepEqual(r.plan([s("a", 300), s("b", 300)], 0), []);
  assert.equal(r.plan(out, 1).reduce((sum, p) => sum + p.count, 0), 20);
  assert.throws(() => new Rebalancer({ maxSkew: 1, rate: 20 }), { name: "RangeError", message: "maxSkew must be > 1, got 1" });
  assert.throws(() => new Rebalancer({ maxSkew: 1.25, rate: 0 }), { name: "RangeError", message: "rate must be a positive number, got 0" });
});

test("newestFirst: newest first, ties in input order", () => {
  const t = (id: string, openedAt: number) => ({ id, openedAt });
  const open = [t("x", 1), t("y", 3), t("z", 2), t("w", 3)];
  const cases: [count: number, want: string[]][] = [
    [2, ["y", "w"]],
    [3, ["y", "w", "z"]],
    [10, ["y", "w", "z", "x"]],
    [0, []],
    [-1, []],
  ];
  for (const [count, want] of cases) assert.deepEqual(newestFirst(open, count), want, String(count));
  assert.deepEqual(open.map((o) => o.id), ["x", "y", "z", "w"], "input untouched");
});

test("lifetimeDeadline: ±10% jitter, off at 0", () => {
  const h6 = 6 * 3600_000;
  assert.equal(lifetimeDeadline(0, h6, () => 0.5), h6);
  assert.equal(lifetimeDeadline(1000, h6, () => 0), 1000 + 0.9 * h6);
  assert.equal(lifetimeDeadline(0, 0, () => 0.5), Infinity);
  assert.equal(lifetimeDeadline(0, -1, () => 0.5), Infinity);
  // a reconnect wave of 10,000 tunnels opened at once expires over 72 minutes, not at once
  const random = mulberry32(8);
  const deadlines = Array.from({ length: 10_000 }, () => lifetimeDeadline(0, h6, random));
  for (const d of deadlines) assert.ok(d >= 0.9 * h6 && d < 1.1 * h6);
  assert.ok(maxInWindow(deadlines, 60_000) < 250, "≈ 139 per minute on average");
});
