import { test } from "node:test";
import assert from "node:assert/strict";
import { closeAdvice, isSendableCloseCode, isTerminalCloseCode, parseRetryAfter, retryAfterReason } from "./close.ts";

test("closeAdvice: hint on reconnecting codes, backoff without a hint, stop on 4500-4999", () => {
  const cases: [number, string, string, number | null][] = [
    [1012, "retry-after=2500", "hint", 2500],
    [1013, "retry-after=900; full", "hint", 900],
    [1001, "retry-after=0", "hint", 0],
    [4001, "retry-after=10", "hint", 10],
    [1006, "", "backoff", null],
    [1012, "drained", "backoff", null],
    [4499, "", "backoff", null],
    [4500, "retry-after=100", "stop", null],
    [4999, "", "stop", null],
  ];
  for (const [code, reason, action, ms] of cases) {
    assert.deepEqual(closeAdvice(code, reason), { action, retryAfterMs: ms }, `${code} ${reason}`);
  }
});

test("retry-after: encode rounds up, parse reads only a leading hint", () => {
  assert.equal(retryAfterReason(1234.5), "retry-after=1235");
  assert.throws(() => retryAfterReason(-1), RangeError);
  assert.throws(() => retryAfterReason(Number.NaN), RangeError);
  assert.equal(parseRetryAfter("retry-after=2500"), 2500);
  assert.equal(parseRetryAfter("retry-after=2500 drained"), 2500);
  assert.equal(parseRetryAfter("retry-after=25x"), null);
  assert.equal(parseRetryAfter("x retry-after=25"), null);
  assert.equal(parseRetryAfter("retry-after=1234567890123456"), null);
});

test("close code classes", () => {
  assert.equal(isTerminalCloseCode(4499), false);
  assert.equal(isTerminalCloseCode(4500), true);
  for (const c of [1004, 1005, 1006, 1015, 999, 2999, 5000]) assert.equal(isSendableCloseCode(c), false, String(c));
  for (const c of [1000, 1003, 1007, 1014, 3000, 4999]) assert.equal(isSendableCloseCode(c), true, String(c));
});
