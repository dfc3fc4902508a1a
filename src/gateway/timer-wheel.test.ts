// The timer wheel under a fake clock: when deadlines fire (never early, at most one
// tick late), moving them later or earlier, disarming, deadlines past the wheel's
// horizon, and a long stall.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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

test("timer wheel: without a clock it reads performance.now()", () => {
  const before = performance.now();
  const wheel = new TimerWheel();
  assert.ok(wheel.now >= before && wheel.now <= performance.now(), `now ${wheel.now}, performance.now() from ${before}`);
});

test("timer wheel: start() advances every resolution ms, once however often it is called; stop() ends it, and start() again resumes", (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const { wheel } = fakeWheel(100);
  let advances = 0;
  wheel.advance = () => void advances++;
  wheel.stop(); // before any start: nothing to stop
  wheel.start();
  wheel.start();
  t.mock.timers.tick(300);
  assert.equal(advances, 3, "one interval, every 100 ms");
  wheel.stop();
  t.mock.timers.tick(1000);
  assert.equal(advances, 3, "none after stop()");
  wheel.start();
  t.mock.timers.tick(100);
  assert.equal(advances, 4, "started again");
  wheel.stop();
});

test("timer wheel: a deadline fires at the first advance at or past the tick boundary that follows it (with that advance's now), not at the first advance past the deadline", () => {
  const f = fakeWheel(100); // the clock starts at 1000, on a boundary
  const onBoundary = new Item();
  const between = new Item();
  f.wheel.arm(onBoundary, 1_300);
  f.wheel.arm(between, 1_250);
  f.stepTo(1_290);
  assert.deepEqual([onBoundary.fired, between.fired], [[], []], "1250 is past, its boundary (1300) is not");
  f.stepTo(1_300);
  assert.deepEqual([onBoundary.fired, between.fired], [[1_300], [1_300]]);
});

test("timer wheel: a deadline already due (now, or past) fires at the next tick, not a revolution later", () => {
  const f = fakeWheel(100, 8);
  const now = new Item();
  const past = new Item();
  f.wheel.arm(now, f.now); // 1000: the current tick's own boundary
  f.wheel.arm(past, f.now - 500);
  f.stepTo(1_100);
  assert.deepEqual([now.fired, past.fired], [[1_100], [1_100]]);
});

test("timer wheel: an item stays in its slot until it fires; arming it later, or at the same deadline, leaves it there (the move waits for its slot); arming earlier moves it", () => {
  // 8 slots of 100 ms from 1000 (tick 10): a deadline in (1500, 1600] is tick 16, slot 0.
  for (const deadline of [1_250, 1_600]) {
    const f = fakeWheel(100, 8);
    const item = new Item();
    f.wheel.arm(item, deadline);
    const slot = item.wheelSlot;
    f.wheel.arm(item, deadline);
    f.wheel.arm(item, deadline + 1_000);
    f.wheel.arm(item, deadline + 1_000); // the same deadline again
    item.deadline = deadline; // back, by a field write
    f.stepTo(deadline - 10);
    assert.equal(item.wheelSlot, slot, `${deadline}: moved before its slot came`);
    assert.deepEqual(item.fired, []);
    f.stepTo(deadline + 100);
    assert.equal(item.fired.length, 1, `${deadline}: fired`);
  }
  const f = fakeWheel(100, 8);
  const item = new Item();
  f.wheel.arm(item, 1_600);
  f.wheel.arm(item, 1_250);
  assert.notEqual(item.wheelSlot, 0, "moved earlier: out of slot 0");
});

test("timer wheel: a deadline cleared by a field write (0) never fires and leaves the wheel when its slot comes; armed again, even earlier, it fires then", () => {
  const f = fakeWheel(100, 8);
  const item = new Item();
  f.wheel.arm(item, 1_300);
  item.deadline = 0; // what a session does when it has nothing to wait for
  f.stepTo(1_400);
  assert.deepEqual(item.fired, []);
  assert.equal(item.wheelSlot, -1, "dropped from its slot");
  const again = new Item();
  f.wheel.arm(again, 2_000);
  again.deadline = 0;
  f.wheel.arm(again, 1_500); // earlier than the slot it still sits in
  f.stepTo(1_600);
  assert.deepEqual(again.fired, [1_500]);
});

test("timer wheel: an item out of the wheel whose deadline field was written is placed by the next arm", () => {
  const f = fakeWheel(100, 8);
  const item = new Item();
  item.deadline = 1_200; // written while not in the wheel (wheelSlot -1)
  f.wheel.arm(item, 1_300);
  f.stepTo(1_400);
  assert.deepEqual(item.fired, [1_300]);
});

test("timer wheel: disarming an item never armed does nothing; a disarmed item, and one that fired after being moved earlier, are not held by the wheel", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const f = fakeWheel(100, 8);
  const never = new Item();
  f.wheel.disarm(never);
  assert.equal(never.wheelSlot, -1);
  // Both sit in slot 0 first (deadline 1600: tick 16), which comes up only at 1600.
  const [disarmed, moved] = (() => {
    const d = new Item();
    f.wheel.arm(d, 1_600);
    f.wheel.disarm(d);
    assert.equal(d.wheelSlot, -1);
    const m = new Item();
    f.wheel.arm(m, 1_600);
    f.wheel.arm(m, 1_300);
    return [new WeakRef(d), new WeakRef(m)];
  })();
  f.stepTo(1_400); // the moved one fires at 1300
  await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the turn ends
  gc();
  assert.equal(disarmed.deref(), undefined, "the disarmed item is still referenced");
  assert.equal(moved.deref(), undefined, "the item moved earlier is still referenced from its first slot");
});
