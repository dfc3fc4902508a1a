import assert from "node:assert/strict";
import { test } from "node:test";
import { simulateStorm, type ClientPolicy } from "../../bench/storm-sim.ts";

// The storm simulator behind bench/storm.ts: it must count what a real hub would see.

const fixed = (ms: number): ClientPolicy => ({ dropped: () => ms, failed: () => ms, opened: () => {} });

test("storm simulation: a hub of any rate sees every client once, when its policy says", () => {
  const r = simulateStorm({ clients: 100, drop: () => ({ code: 1006, reason: "" }), policy: () => fixed(250), capacity: Infinity, connectTimeout: 1000 });
  assert.equal(r.totalAttempts, 100);
  assert.equal(r.accepted[2], 100, "all in the 200-300 ms bucket");
  assert.equal(r.peakAcceptedPerS, 1000);
  assert.equal(r.allBackMs, 250);
  assert.equal(r.stranded, 0);
});

test("storm simulation: a finite hub serves first come first served; a handshake waiting past the timeout is wasted and retried", () => {
  // 10 clients at t = 0, 5 handshakes/s (200 ms each), 500 ms timeout: clients 0 and 1
  // complete (200, 400 ms); the 8 others give up at 500 ms while the hub still owes
  // their handshakes. Retrying every second, they always find the hub busy with the
  // previous round's abandoned handshakes: a retry storm that never ends.
  const drop = () => ({ code: 1006, reason: "" });
  const stuck = simulateStorm({ clients: 10, drop, policy: () => fixed(1000), capacity: 5, connectTimeout: 500, horizonMs: 60_000 });
  assert.equal(stuck.accepted.reduce((a, b) => a + b, 0), 2);
  assert.equal(stuck.stranded, 8);
  assert.equal(stuck.allBackMs, null);
  assert.equal(stuck.totalAttempts - 2, stuck.wasted);
  // Doubling the wait after each failure lets the hub catch up: everyone gets in.
  const backoff = (): ClientPolicy => {
    let d = 1000;
    return { dropped: () => 0, failed: () => (d *= 2), opened: () => {} };
  };
  const drained = simulateStorm({ clients: 10, drop, policy: backoff, capacity: 5, connectTimeout: 500, horizonMs: 60_000 });
  assert.equal(drained.stranded, 0);
  assert.equal(drained.accepted.reduce((a, b) => a + b, 0), 10);
  assert.ok(drained.wasted >= 8, `wasted ${drained.wasted}`);
});

test("storm simulation: the drop's close reaches the policy", () => {
  const seen: string[] = [];
  simulateStorm({
    clients: 3,
    drop: (i) => ({ code: 1012, reason: `retry-after=${i}` }),
    policy: () => ({ dropped: (_t, code, reason) => (seen.push(`${code} ${reason}`), 0), failed: () => 0, opened: () => {} }),
    capacity: Infinity,
    connectTimeout: 1,
  });
  assert.deepEqual(seen, ["1012 retry-after=0", "1012 retry-after=1", "1012 retry-after=2"]);
});
