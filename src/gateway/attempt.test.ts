// UpstreamAttempt's accounting against a real Backend on a fake clock: a failed connect
// is no latency sample for least-response-time, so the dead server does not look fast.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UpstreamAttempt } from "./attempt.ts";
import { T0, backend, view } from "./backend.kit.ts";

test("a failed connect is no latency sample: least-response-time does not lower the failed server's estimate, and stops preferring it", () => {
  const { b } = backend("balance: least-response-time", ["a", "b"]);
  const a = b.servers[0]!;
  const other = b.servers[1]!;
  b.begin(a);
  b.end(a, 100, true, T0);
  const now = T0 + 5_000;
  b.begin(other);
  b.end(other, 80, true, now);
  // Both drawn each time (two servers); the cheaper wins by more than the tie margin.
  const picks = () => Array.from({ length: 8 }, () => b.select(view(), false, now)!.name);
  // a's 100 ms has decayed over 5 s to 100·e^-0.5 ≈ 61 ms, below b's fresh 80 ms.
  assert.deepEqual(picks(), Array(8).fill("a"));
  const attempt = new UpstreamAttempt();
  attempt.reset(b);
  b.begin(a);
  attempt.server = a;
  assert.equal(attempt.connectFailed("refused", now), a);
  assert.equal(a.active, 0, "the attempt's slot is given back");
  assert.equal(attempt.server, null);
  // The failure holds a at its undecayed 100 ms (a 0 ms success would leave it at 61).
  assert.deepEqual(picks(), Array(8).fill("b"));
});
