import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as flush, setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "../../control/clock.ts";
import { HealthChecker, type CheckedServer, type Clock } from "./checker.ts";
import { createHealthRecord, recordFailure, state } from "./state.ts";
import type { Probe, ProbeResult } from "./types.ts";

/** A manual clock: timers fire only inside `advance`, in time order. */
class FakeClock implements Clock {
  t = 0;
  #seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  randoms: number[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  now(): number {
    return this.t;
  }
  random(): number {
    return this.randoms.shift() ?? 0.5;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush(); // let the probe's promise settle
    }
    this.t = end;
    await flush();
  }
}

const server = (name: string): CheckedServer => ({ name, address: { host: "127.0.0.1", port: 1 }, health: createHealthRecord(0, { warm: true }) });
const cfg = { interval: 1000, timeout: 200, rise: 2, fall: 3, jitter: 0.1 };
const pass: ProbeResult = { ok: true, latencyMs: 1, reason: "status 200" };
const failed: ProbeResult = { ok: false, latencyMs: 1, reason: "connect refused" };

describe("HealthChecker", () => {
  it("spreads first checks over the interval, then waits interval ± jitter", async () => {
    const clock = new FakeClock();
    const calls: [string, number][] = [];
    const probe: Probe = async (target) => {
      calls.push([String(target.port), clock.now()]);
      return pass;
    };
    const checker = new HealthChecker({ config: cfg, probe, clock });
    // Five first offsets, then five gaps: 0 → 900ms, 0.5 → 1000ms, 0.999 → ~1100ms, ...
    clock.randoms = [0.1, 0.3, 0.5, 0.7, 0.9, 0, 0.5, 0.999, 0.25, 0.75];
    for (let i = 0; i < 5; i++) checker.add({ ...server(`s${i}`), address: { host: "127.0.0.1", port: i } });
    await clock.advance(999);
    assert.deepEqual(calls, [["0", 100], ["1", 300], ["2", 500], ["3", 700], ["4", 900]]);
    calls.length = 0;
    await clock.advance(1000);
    assert.deepEqual(
      calls.map(([p, t]) => [p, Math.round(t)]),
      [["0", 1000], ["1", 1300], ["2", 1600], ["3", 1650], ["4", 1950]],
    );
    checker.stop();
  });

  it("aborts a probe at the timeout and counts a failure once", async () => {
    const clock = new FakeClock();
    let signal: AbortSignal | undefined;
    const probe: Probe = (_t, s) =>
      new Promise((resolve) => {
        signal = s;
        s.addEventListener("abort", () => resolve({ ok: false, latencyMs: 0, reason: "aborted" }));
      });
    const checker = new HealthChecker({ config: cfg, probe, clock });
    const s = server("a");
    clock.randoms = [0];
    checker.add(s);
    await clock.advance(199);
    assert.equal(signal?.aborted, false);
    await clock.advance(1);
    assert.equal(signal?.aborted, true);
    assert.equal((signal?.reason as DOMException).name, "TimeoutError");
    assert.equal((signal?.reason as DOMException).message, "timeout after 200ms");
    assert.deepEqual(checker.history(s), [{ at: 0, ok: false, latencyMs: 200, reason: "timeout after 200ms", weight: undefined }]);
    assert.equal(s.health.fails, 1);
    checker.stop();
  });

  it("reports each transition once, with a reason", async () => {
    const clock = new FakeClock();
    let result = failed;
    const transitions: string[] = [];
    const checker = new HealthChecker({
      config: cfg,
      probe: async () => result,
      clock,
      onTransition: (srv, from, to, reason) => transitions.push(`${srv.name} ${from}->${to}: ${reason}`),
    });
    const s = server("a");
    checker.add(s);
    await clock.advance(10_000); // ~10 failed checks
    assert.deepEqual(transitions, ["a up->down: 3 consecutive failed checks, last: connect refused"]);
    result = pass;
    await clock.advance(10_000);
    assert.deepEqual(transitions.slice(1), ["a down->up: 2 consecutive passing checks, last: status 200"]);
    assert.equal(state(s.health, clock.now()), "up");
    checker.stop();
  });

  it('ends a "check"-recovery ejection on a passing check and says so', async () => {
    const clock = new FakeClock();
    const transitions: string[] = [];
    const checker = new HealthChecker({ config: cfg, probe: async () => pass, clock, onTransition: (_s, from, to, r) => transitions.push(`${from}->${to}: ${r}`) });
    const s = server("a");
    const passive = { consecutiveFailures: 1, ejectTime: 1500, maxEjectTime: 10_000, maxEjectedPercent: 100, on5xx: false, recovery: "check" as const };
    assert.equal(recordFailure([s.health], s.health, passive, 0), true);
    clock.randoms = [0.5, 0.5, 0.5];
    checker.add(s); // checks at 500 (too early), 1500
    await clock.advance(1600);
    assert.deepEqual(transitions, ["down->up: passing check ended the ejection: status 200"]);
    checker.stop();
  });

  it("counts a rejecting or throwing probe as a failure", async () => {
    const clock = new FakeClock();
    let calls = 0;
    const probe: Probe = (() => {
      if (++calls === 1) throw new Error("boom");
      return Promise.reject(new Error("bang"));
    }) as Probe;
    const checker = new HealthChecker({ config: cfg, probe, clock });
    const s = server("a");
    checker.add(s);
    await clock.advance(2000);
    // Both failed at once: the latency is the time since the check started, 0 here.
    assert.deepEqual(checker.history(s).map((r) => [r.ok, r.reason, r.latencyMs]), [[false, "probe error: boom", 0], [false, "probe error: bang", 0]]);
    checker.stop();
  });

  it("keeps the last historySize results, oldest first", async () => {
    const clock = new FakeClock();
    let n = 0;
    const checker = new HealthChecker({ config: { ...cfg, jitter: 0 }, probe: async () => ({ ...pass, reason: `#${++n}` }), clock, historySize: 3 });
    const s = server("a");
    checker.add(s);
    await clock.advance(5000);
    assert.deepEqual(checker.history(s).map((r) => r.reason), ["#3", "#4", "#5"]);
    assert.deepEqual(checker.history(server("other")), []);
    checker.stop();
  });

  it("history() is a copy, before and after the ring wraps", async () => {
    const clock = new FakeClock();
    let n = 0;
    const checker = new HealthChecker({ config: { ...cfg, jitter: 0 }, probe: async () => ({ ...pass, reason: `#${++n}` }), clock, historySize: 3 });
    const s = server("a");
    checker.add(s);
    await clock.advance(1000); // 1 result: the ring is not full
    checker.history(s).length = 0;
    assert.deepEqual(checker.history(s).map((r) => r.reason), ["#1"]);
    await clock.advance(3000); // 4 results: wrapped
    checker.history(s).reverse();
    assert.deepEqual(checker.history(s).map((r) => r.reason), ["#2", "#3", "#4"]);
    checker.stop();
  });

  it("applies transitions without an onTransition callback", async () => {
    // Probes that never answer: each check ends at its timeout, inside the clock's timer.
    const clock = new FakeClock();
    const checker = new HealthChecker({ config: cfg, probe: () => new Promise<ProbeResult>(() => {}), clock });
    const s = server("a");
    checker.add(s);
    await clock.advance(5000);
    assert.equal(state(s.health, clock.now()), "down");
    checker.stop();
  });

  it("refuses an interval that is not positive", () => {
    for (const interval of [0, -1, Number.NaN]) {
      assert.throws(() => new HealthChecker({ config: { ...cfg, interval }, probe: async () => pass, clock: new FakeClock() }), {
        name: "RangeError",
        message: `interval must be > 0, got ${interval}`,
      });
    }
  });

  it("stop() cancels timers and aborts probes in flight; late results are ignored", async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    let resolveLate: ((r: ProbeResult) => void) | undefined;
    const results: string[] = [];
    const probe: Probe = (_t, signal) => {
      signals.push(signal);
      return new Promise((resolve) => (resolveLate = resolve));
    };
    const checker = new HealthChecker({ config: cfg, probe, clock, onResult: (srv) => results.push(srv.name) });
    const [a, b] = [server("a"), server("b")];
    clock.randoms = [0.1, 0.9];
    checker.add(a);
    checker.add(b);
    await clock.advance(150); // a in flight, b waiting
    assert.equal(signals.length, 1);
    checker.stop();
    assert.equal(clock.timers.size, 0, "no timer left");
    assert.equal(signals[0]!.aborted, true);
    resolveLate!(failed);
    await clock.advance(10_000);
    assert.deepEqual(results, []);
    assert.equal(checker.size, 0);
    assert.throws(() => checker.add(a), /stopped/);
    checker.stop(); // idempotent
  });

  it("remove() stops one server only", async () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const checker = new HealthChecker({ config: cfg, probe: async (t) => (seen.push(String(t.port)), pass), clock });
    const a = { ...server("a"), address: { host: "127.0.0.1", port: 1 } };
    const b = { ...server("b"), address: { host: "127.0.0.1", port: 2 } };
    checker.add(a);
    checker.add(b);
    checker.add(a); // no-op
    assert.equal(checker.remove(a), true);
    assert.equal(checker.remove(a), false);
    await clock.advance(3000);
    assert.deepEqual(seen, ["2", "2", "2"], "b at 500, 1500 and 2500 ms; a never");
    checker.stop();
  });

  it("runs on the real clock and checks nothing more after stop()", async () => {
    let checks = 0;
    const checker = new HealthChecker({ config: { ...cfg, interval: 10, timeout: 5 }, probe: async () => (checks++, pass), clock: systemClock });
    checker.add(server("a"));
    for (let waited = 0; checks < 3; waited += 10) {
      assert.ok(waited < 10_000, `only ${checks} checks in 10 s at a 10 ms interval`);
      await sleep(10);
    }
    checker.stop();
    const atStop = checks;
    await sleep(100); // ten intervals
    assert.equal(checks, atStop, "a check after stop()");
    assert.equal(checker.size, 0);
  });
});
