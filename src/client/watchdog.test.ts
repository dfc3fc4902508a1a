import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeTimers } from "./testing.kit.ts";
import { Watchdog } from "./watchdog.ts";

interface Case {
  name: string;
  limit: number;
  /** Timer lateness (a throttled background tab). */
  lateness?: number;
  /** [time, what] in order: "seen" records a frame at that time. */
  frames: number[];
  /** Advance until this time. */
  until: number;
  /** When the timeout fired (virtual time) and how silent it was; null: never. */
  fired: [number, number] | null;
}

const cases: Case[] = [
  { name: "silence for the whole limit fires once, at the limit", limit: 1000, frames: [], until: 5000, fired: [1000, 1000] },
  { name: "a frame just before the limit pushes the deadline", limit: 1000, frames: [999], until: 1998, fired: null },
  { name: "frames keep it quiet; silence after the last one fires a limit later", limit: 1000, frames: [300, 900, 1500, 2100], until: 10_000, fired: [3100, 1000] },
  { name: "a steady stream never fires", limit: 1000, frames: Array.from({ length: 50 }, (_, i) => (i + 1) * 200), until: 10_000, fired: null },
  { name: "a throttled timer that fires a minute late after frames kept coming does not fire", limit: 35_000, lateness: 60_000, frames: [20_000, 40_000, 60_000, 80_000], until: 95_000, fired: null },
  { name: "a throttled timer fires late when the connection really went silent, reporting the real silence", limit: 35_000, lateness: 60_000, frames: [10_000], until: 200_000, fired: [95_000, 85_000] },
];

for (const c of cases) {
  test(`Watchdog: ${c.name}`, () => {
    const t = new FakeTimers();
    t.lateness = c.lateness ?? 0;
    const fired: [number, number][] = [];
    const dog = new Watchdog(t, (silent) => fired.push([t.now(), silent]));
    dog.start(c.limit);
    for (const f of c.frames) {
      t.advance(f - t.now());
      dog.seen();
      assert.ok(t.pending <= 1, `at most one timer armed (at ${t.now()}: ${t.pending})`);
    }
    const until = c.fired !== null && c.fired[0] > c.until ? c.fired[0] : c.until;
    t.advance(until - t.now());
    if (c.fired === null) assert.deepEqual(fired, []);
    else assert.deepEqual(fired, [c.fired]);
    assert.ok(t.pending <= 1, "at most one timer armed at any time");
  });
}

test("Watchdog: seen() arms no timer; stop() disarms; start() re-arms with a new limit", () => {
  const t = new FakeTimers();
  let fired = 0;
  const dog = new Watchdog(t, () => fired++);
  dog.start(100);
  for (let i = 0; i < 1000; i++) dog.seen();
  assert.equal(t.pending, 1);
  dog.stop();
  assert.equal(t.pending, 0);
  assert.equal(dog.running, false);
  t.advance(1000);
  assert.equal(fired, 0);
  dog.start(50);
  t.advance(50);
  assert.equal(fired, 1);
  assert.equal(dog.running, false);
  assert.throws(() => dog.start(0), /positive, finite limit/);
  assert.throws(() => dog.start(Infinity), /positive, finite limit/);
});
