import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Backend } from "../gateway/backend.ts";
import type { TimerWheel } from "../gateway/timer-wheel.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import type { Logger } from "../log.ts";
import { Drainer } from "./drainer.ts";
import { RebalanceRunner } from "./rebalancer.ts";

// The runner's own part, on a fake clock and fake tunnels: which backends it looks at,
// which tunnels it closes (newest first, at the rate), when a tunnel's maxLifetime is
// up, what it logs, and its timer. The decisions are core/plan/rebalance.ts's (tested
// there); the WebSockets closed on the wire are test/integration/rebalance.test.ts's.

type Settings = { maxSkew: number; rate: number } | undefined;

function setup(opts: { random?: () => number; log?: Logger } = {}) {
  const clock = { now: 100_000 };
  const backends = new Map<string, Backend>();
  const tunnels = new Set<Tunnel>();
  /** Each closed tunnel's [code, retry-after ms]; a closed tunnel leaves the set, as a real one does. */
  const calls = new Map<Tunnel, [code: number, retryAfterMs: number]>();
  const wheel = { clock: () => clock.now } as TimerWheel;
  const drainer = new Drainer(tunnels, new Set(), wheel, undefined, opts.random ?? (() => 0.5));
  const runner = new RebalanceRunner(backends, tunnels, drainer, wheel, opts.log);
  /** A backend with `servers` as [name, weight, up]. */
  const backend = (name: string, config: { rebalance?: Settings; maxLifetime?: number }, servers: [string, number, boolean][]) => {
    const servs = servers.map(([n, weight, up]) => ({ name: n, weight, up }) as UpstreamServer);
    const b = { name, config: { rebalance: config.rebalance, maxLifetime: config.maxLifetime ?? 0 }, servers: servs } as unknown as Backend;
    backends.set(name, b);
    return b;
  };
  /** A tunnel on `b`'s server `server`, opened at `openedAt`. */
  const open = (b: Backend | null, server: string | null, openedAt = clock.now) => {
    const s = server === null ? null : b!.servers.find((x) => x.name === server)!;
    const t = {
      backend: b,
      server: s,
      openedAt,
      closeWith(code: number, retryAfterMs: number) {
        calls.set(t, [code, retryAfterMs]);
        tunnels.delete(t);
      },
    } as unknown as Tunnel;
    tunnels.add(t);
    return t;
  };
  return { clock, backends, tunnels, calls, runner, backend, open };
}

function recordingLog() {
  const logged: unknown[] = [];
  return { logged, log: { info: (fields: unknown, msg: string) => logged.push([fields, msg]) } as unknown as Logger };
}

test("rebalance: a server over maxSkew × its share closes its newest tunnels down to the share, each with 1012 and the 250 ms hint jittered (375 ms at 0.5), one log line per server", () => {
  const { logged, log } = recordingLog();
  const { clock, calls, runner, backend, open } = setup({ log });
  const be = backend("be", { rebalance: { maxSkew: 1.25, rate: 100 } }, [["a", 1, true], ["b", 1, true]]);
  // Opened at these ages (ms ago), not in order: the three youngest are 10, 20, 30.
  const onA = [40, 10, 60, 30, 50, 20].map((age) => open(be, "a", clock.now - age));
  backend("empty", { rebalance: { maxSkew: 1.25, rate: 100 } }, [["c", 1, true], ["d", 1, true]]); // no tunnels at all
  const plain = backend("plain", {}, [["x", 1, true], ["y", 1, true]]); // neither rebalance nor maxLifetime
  const onX = [1, 2, 3, 4].map(() => open(plain, "x"));
  const loose = open(null, null); // no backend (not counted anywhere)
  runner.tick();
  // 6 on a, 0 on b: shares 3 and 3, a over 3 × 1.25; three closes bring a to its share.
  assert.deepEqual(onA.map((t) => calls.get(t)), [undefined, [1012, 375], undefined, [1012, 375], undefined, [1012, 375]], "the three newest on a");
  assert.deepEqual([...onX, loose].map((t) => calls.get(t)), [undefined, undefined, undefined, undefined, undefined], "a backend without rebalance is left as it is");
  assert.deepEqual(logged, [[{ backend: "be", server: "a", closed: 3 }, "rebalance"]]);
});

test("rebalance: at most `rate` closes within a second over several ticks, and the next ones a second after the first", () => {
  const { clock, calls, runner, backend, open } = setup(); // and no logger
  const be = backend("be", { rebalance: { maxSkew: 1.25, rate: 2 } }, [["a", 1, true], ["b", 1, true]]);
  for (let i = 0; i < 10; i++) open(be, "a", clock.now - i);
  const t0 = clock.now;
  runner.tick();
  assert.equal(calls.size, 2, "the first tick spends the second's budget");
  clock.now = t0 + 500;
  runner.tick();
  assert.equal(calls.size, 2, "half a second later: nothing, though a still holds 8 to b's 0");
  clock.now = t0 + 1000;
  runner.tick();
  assert.equal(calls.size, 4, "a second after the first closes, two more");
});

test("rebalance: only available servers share the tunnels, in proportion to their weights", () => {
  const { calls, runner, backend, open } = setup();
  const down = backend("down", { rebalance: { maxSkew: 1.25, rate: 100 } }, [["a", 1, true], ["b", 1, false]]);
  for (let i = 0; i < 6; i++) open(down, "a");
  const weighted = backend("weighted", { rebalance: { maxSkew: 1.25, rate: 100 } }, [["c", 2, true], ["d", 1, true]]);
  for (let i = 0; i < 4; i++) open(weighted, "c");
  for (let i = 0; i < 2; i++) open(weighted, "d");
  runner.tick();
  assert.equal(calls.size, 0, "6 / 0 with b down, and 4 / 2 at weights 2 / 1, are balanced");
});

test("rebalance: a reload that changes maxSkew or rate applies at the next tick; one that keeps them keeps the rate's window", () => {
  const { clock, calls, runner, backend, open } = setup();
  const be = backend("be", { rebalance: { maxSkew: 4, rate: 2 } }, [["a", 1, true], ["b", 1, true]]);
  for (let i = 0; i < 6; i++) open(be, "a", clock.now - i);
  open(be, "b");
  runner.tick();
  assert.equal(calls.size, 0, "6 / 1 is within maxSkew 4");
  // Backend.update replaces the config of a backend it keeps, with new objects.
  be.config = { ...be.config, rebalance: { maxSkew: 1.25, rate: 2 } };
  runner.tick();
  assert.equal(calls.size, 2, "6 / 1 is not within 1.25: shares 3.5, two closes");
  be.config = { ...be.config, rebalance: { maxSkew: 1.25, rate: 2 } };
  clock.now += 500;
  open(be, "a");
  open(be, "a");
  runner.tick();
  assert.equal(calls.size, 2, "the same settings again: the second's budget is still spent");
  be.config = { ...be.config, rebalance: { maxSkew: 1.25, rate: 5 } };
  runner.tick();
  assert.equal(calls.size, 4, "a new rate starts a new window");
});

test("a backend that a reload removed is not kept alive by the runner's rate windows", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const { backends, tunnels, runner, backend, open } = setup();
  const ref = (() => {
    const be = backend("be", { rebalance: { maxSkew: 1.25, rate: 100 } }, [["a", 1, true], ["b", 1, true]]);
    open(be, "a");
    runner.tick(); // makes be's window
    backends.delete("be");
    tunnels.clear();
    return new WeakRef(be);
  })();
  await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the turn ends
  gc();
  assert.equal(ref.deref(), undefined);
});

test("maxLifetime: a tunnel closes at the first tick at or past openedAt + its drawn lifetime (× 1.0 at 0.5), with 1012 and the hint; logged with the count", () => {
  const { logged, log } = recordingLog();
  const { clock, calls, runner, backend, open } = setup({ log });
  const LIFETIME = 1000;
  const be = backend("be", { maxLifetime: LIFETIME }, [["a", 1, true]]);
  const t0 = clock.now;
  const [first, second] = [open(be, "a", t0 - 5), open(be, "a", t0 - 5)];
  const young = open(be, "a", t0);
  backend("empty", { maxLifetime: LIFETIME }, [["b", 1, true]]); // no tunnels
  runner.tick();
  clock.now = t0 - 5 + LIFETIME - 1;
  runner.tick();
  assert.equal(calls.size, 0, "1 ms before the lifetime");
  assert.deepEqual(logged, [], "no line while nothing closes");
  clock.now = t0 - 5 + LIFETIME;
  runner.tick();
  assert.deepEqual([first, second, young].map((t) => calls.get(t)), [[1012, 375], [1012, 375], undefined]);
  assert.deepEqual(logged, [[{ backend: "be", tunnels: 2 }, "maxLifetime reached"]]);
});

test("maxLifetime: a tunnel's lifetime is drawn once, at the first tick that sees it; later draws do not move it", () => {
  const draws = [0, 0.99]; // then 0.5
  const { clock, calls, runner, backend, open } = setup({ random: () => draws.shift() ?? 0.5 });
  const be = backend("be", { maxLifetime: 1000 }, [["a", 1, true]]);
  const t0 = clock.now;
  const t = open(be, "a", t0);
  runner.tick(); // draws 0: closes at t0 + 900
  clock.now = t0 + 900;
  runner.tick(); // a second draw (0.99) would put it at t0 + 1098
  assert.deepEqual(calls.get(t)?.[0], 1012);
});

test("maxLifetime turned on by a reload on a rebalancing backend: a tunnel seen before it closes once older than it", () => {
  const { clock, calls, runner, backend, open } = setup();
  const be = backend("be", { rebalance: { maxSkew: 1.25, rate: 100 } }, [["a", 1, true]]);
  const t0 = clock.now;
  const t = open(be, "a", t0);
  runner.tick(); // the runner looks at be (rebalance) while its maxLifetime is 0
  be.config = { ...be.config, maxLifetime: 1000 };
  clock.now = t0 + 1000;
  runner.tick();
  assert.deepEqual(calls.get(t), [1012, 375]);
});

test("start() ticks every 1000 ms, start(n) every n ms; stop() ends the ticks, and does nothing before a start", (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const { runner } = setup();
  let ticks = 0;
  runner.tick = () => void ticks++;
  runner.stop();
  runner.start();
  t.mock.timers.tick(999);
  assert.equal(ticks, 0);
  t.mock.timers.tick(1);
  assert.equal(ticks, 1, "the first tick at 1000 ms");
  runner.stop();
  t.mock.timers.tick(5000);
  assert.equal(ticks, 1, "none after stop()");
  runner.start(250);
  t.mock.timers.tick(1000);
  assert.equal(ticks, 5, "four ticks in 1000 ms at 250 ms");
  runner.stop();
  runner.stop();
  t.mock.timers.tick(1000);
  assert.equal(ticks, 5);
});
