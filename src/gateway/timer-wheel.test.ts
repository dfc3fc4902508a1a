// The timer wheel under a fake clock: when deadlines fire (never early, at most one
// tick late), moving them later or earlier, disarming, deadlines past the wheel's
// horizon, and a long stall.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TimerWheel, type Expirable } from "./timer-wheel.ts";

class Item implements Expirable {
  deadline = 0;
  wheelSlot = -1;
  fired: number[] = [];
  expire(now: number): void {
    this.fired.push(now);
  }
}

/** A wheel on a clock the test moves; `stepTo` advances in 10 ms steps, as a 10 ms interval would. */
function fakeWheel(resolution = 100, slots = 256) {
  let t = 1_000;
  const wheel = new TimerWheel(resolution, slots, () => t);
  return {
    wheel,
    stepTo(until: number): void {
      while (t < until) {
        t = Math.min(until, t + 10);
        wheel.advance();
      }
    },
    /** One advance after the clock jumped (a GC pause, a debugger, a busy loop). */
    jumpTo(at: number): void {
      t = at;
      wheel.advance();
    },
    get now() {
      return t;
    },
  };
}

test("timer wheel: a deadline fires once, not before it, at most one tick late", () => {
  const cases = [
    { after: 250, resolution: 100, fireBy: 300 },
    { after: 100, resolution: 100, fireBy: 200 },
    { after: 1, resolution: 100, fireBy: 100 },
    { after: 5_000, resolution: 100, fireBy: 5_100 },
    { after: 999, resolution: 50, fireBy: 1_050 },
  ];
  for (const c of cases) {
    const f = fakeWheel(c.resolution);
    const item = new Item();
    const start = f.now;
    f.wheel.arm(item, start + c.after);
    f.stepTo(start + c.after - 10);
    assert.deepEqual(item.fired, [], `${c.after} ms: fired early`);
    f.stepTo(start + c.fireBy + 10);
    assert.equal(item.fired.length, 1, `${c.after} ms: fired ${item.fired.length} times`);
    assert.ok(item.fired[0]! >= start + c.after && item.fired[0]! <= start + c.fireBy, `${c.after} ms: fired at +${item.fired[0]! - start}`);
    assert.equal(item.deadline, 0);
    assert.equal(item.wheelSlot, -1);
    f.stepTo(start + c.fireBy + 2_000);
    assert.equal(item.fired.length, 1, "fires only once");
  }
});

test("timer wheel: moving a deadline later (a field write) or earlier, and disarming", () => {
  const f = fakeWheel();
  const start = f.now;
  const later = new Item();
  const earlier = new Item();
  const off = new Item();
  f.wheel.arm(later, start + 300);
  f.wheel.arm(earlier, start + 3_000);
  f.wheel.arm(off, start + 300);
  f.stepTo(start + 200);
  later.deadline = start + 1_000; // what a session does on activity: no call at all
  f.wheel.arm(earlier, start + 400);
  f.wheel.disarm(off);
  f.stepTo(start + 600);
  assert.deepEqual(later.fired, [], "moved later: not at its first deadline");
  assert.equal(earlier.fired.length, 1, "moved earlier: fired once");
  assert.ok(earlier.fired[0]! >= start + 400 && earlier.fired[0]! <= start + 500, `moved earlier: fired at +${earlier.fired[0]! - start}, not at +400..500`);
  f.stepTo(start + 1_200);
  assert.equal(later.fired.length, 1, "moved later: fired once");
  assert.ok(later.fired[0]! >= start + 1_000 && later.fired[0]! <= start + 1_100, `moved later: fired at +${later.fired[0]! - start}, not at +1000..1100`);
  assert.deepEqual(off.fired, [], "disarmed: never fires");
  assert.equal(off.wheelSlot, -1);
});

test("timer wheel: deadlines past the horizon fire on time; a long stall fires what is due once", () => {
  const f = fakeWheel(100, 8); // an 800 ms horizon
  const start = f.now;
  const far = new Item();
  f.wheel.arm(far, start + 5_000);
  f.stepTo(start + 4_950);
  assert.deepEqual(far.fired, []);
  f.stepTo(start + 5_200);
  assert.equal(far.fired.length, 1);

  const g = fakeWheel(100, 8);
  const items = Array.from({ length: 20 }, (_, i) => {
    const it = new Item();
    g.wheel.arm(it, g.now + 100 * (i + 1));
    return it;
  });
  const late = new Item();
  g.wheel.arm(late, g.now + 20_000);
  // One advance after a 10 s stall: every due item fires once, the later one stays armed.
  g.jumpTo(g.now + 10_000);
  assert.deepEqual(items.map((it) => it.fired.length), items.map(() => 1));
  assert.deepEqual(late.fired, []);
  g.stepTo(g.now + 10_200);
  assert.equal(late.fired.length, 1);
});

test("timer wheel: now follows the clock at every advance and clock()", () => {
  const f = fakeWheel();
  f.stepTo(f.now + 1_234);
  assert.equal(f.wheel.now, f.now);
  assert.equal(f.wheel.clock(), f.now);
});
