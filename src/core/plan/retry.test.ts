// The retry predicate as a table: a failed connect is retried whatever the request, a
// connection broken before any response byte only for an idempotent request whose
// whole body is still held, and nothing once the retries are spent.
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
