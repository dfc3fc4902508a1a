// The retry predicate as a table: a failed connect is retried whatever the request, a
// connection broken before any response byte only for an idempotent request whose
// whole body is still held, and nothing once the retries are spent; an attempt that broke
// on a reused keep-alive connection is not counted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { shouldRetry, type FailureKind, type RetryState } from "./retry.ts";

test("shouldRetry: connect failures always, broken connections only when idempotent and replayable, within maxRetries", () => {
  // [kind, attempts, maxRetries, idempotent, replayable, retried]
  const cases: [FailureKind, number, number, boolean, boolean, boolean][] = [
    ["connect", 1, 2, false, false, true], // nothing was sent: even a POST
    ["connect", 2, 2, false, false, true], // the last retry allowed
    ["connect", 3, 2, true, true, false], // retries spent
    ["connect", 1, 0, true, true, false], // retries: 0 means the first try only
    ["reset-before-response", 1, 2, true, true, true],
    ["reset-before-response", 2, 2, true, true, true],
    ["reset-before-response", 3, 2, true, true, false],
    ["reset-before-response", 1, 2, false, true, false], // a POST is never sent twice
    ["reset-before-response", 1, 2, true, false, false], // the body is no longer held
    ["reset-before-response", 1, 2, false, false, false],
  ];
  for (const [kind, attempts, maxRetries, idempotent, replayable, want] of cases) {
    const st: RetryState = { attempts, maxRetries, idempotent, replayable };
    assert.equal(shouldRetry(kind, st), want, `${kind} ${JSON.stringify(st)}`);
  }
});

test("shouldRetry: an attempt that broke on a reused keep-alive connection does not count against maxRetries", () => {
  // [attempts, brokenReused, maxRetries, idempotent, replayable, retried]
  const cases: [number, number, number, boolean, boolean, boolean][] = [
    [1, 1, 0, true, true, true], // retries: 0, the pooled connection was stale: sent again
    [1, 0, 0, true, true, false], // the same on a fresh connection: retries: 0 holds
    [2, 1, 0, true, true, false], // the second attempt (fresh) broke too: spent
    [3, 2, 0, true, true, false], // two stale ones, then a fresh one that broke
    [3, 2, 1, true, true, true], // the same with retries: 1: the fresh one's retry is left
    [3, 1, 2, true, true, true], // retries: 2 and one stale connection: four attempts in all
    [4, 1, 2, true, true, false],
    [1, 1, 0, false, true, false], // a POST is never sent twice, stale connection or not
    [1, 1, 0, true, false, false], // the body is no longer held
  ];
  for (const [attempts, brokenReused, maxRetries, idempotent, replayable, want] of cases) {
    const st: RetryState = { attempts, brokenReused, maxRetries, idempotent, replayable };
    assert.equal(shouldRetry("reset-before-response", st), want, JSON.stringify(st));
  }
});
