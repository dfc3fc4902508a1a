import assert from "node:assert/strict";
import { test } from "node:test";
import { DeliveryAudit } from "./audit.ts";

// The check behind the end-to-end proof (test/integration/client-e2e.test.ts, bench/e2e.ts):
// if it miscounts, a lost or repeated message passes as exactly once.

const counts = (r: { lost: number; duplicates: number; outOfOrder: number }) => [r.lost, r.duplicates, r.outOfOrder];

test("delivery audit: a complete, in-order stream is clean at every checkpoint, deliveries past the checkpoint included", () => {
  const a = new DeliveryAudit();
  const got = [1, 2, 3, 4];
  assert.deepEqual(a.audit(got, 0, 3), { lost: 0, duplicates: 0, outOfOrder: 0, first: null });
  got.push(5, 6);
  assert.deepEqual(a.audit(got, 3, 6), { lost: 0, duplicates: 0, outOfOrder: 0, first: null });
});

test("delivery audit: a missing message is lost in its window only; a gap past the checkpoint counts at the next one", () => {
  const a = new DeliveryAudit();
  const got = [1, 2, 4, 5, 7];
  assert.deepEqual(a.audit(got, 0, 5), { lost: 1, duplicates: 0, outOfOrder: 0, first: "lost 3" });
  got.push(8);
  assert.deepEqual(a.audit(got, 5, 8), { lost: 1, duplicates: 0, outOfOrder: 0, first: "lost 6" });
});

test("delivery audit: a repeat is a duplicate, wherever it falls; an earlier message after a later one is out of order", () => {
  const a = new DeliveryAudit();
  const got = [1, 3, 2, 3];
  assert.deepEqual(a.audit(got, 0, 3), { lost: 0, duplicates: 1, outOfOrder: 1, first: "2 after 3 (delivery 3)" });
  got.push(4, 1);
  assert.deepEqual(a.audit(got, 3, 4), { lost: 0, duplicates: 1, outOfOrder: 0, first: "duplicate 1 (delivery 6)" });
});

test("delivery audit: a message lost at one checkpoint that arrives later is out of order then, not lost again", () => {
  const a = new DeliveryAudit();
  const got = [1, 3];
  assert.deepEqual(counts(a.audit(got, 0, 3)), [1, 0, 0]);
  got.push(2, 4);
  assert.deepEqual(counts(a.audit(got, 3, 4)), [0, 0, 1]);
});

test("delivery audit: checkpoints after every few messages add up to one audit of the whole stream", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 50; round++) {
    const n = 200;
    const stream: number[] = [];
    for (let x = 1; x <= n; x++) {
      const r = rnd();
      if (r < 0.03) continue; // lost
      if (r < 0.06 && stream.length) stream.push(stream[Math.floor(rnd() * stream.length)]!); // repeated
      if (r < 0.09 && stream.length > 2) stream.splice(stream.length - 2, 0, x); // early
      else stream.push(x);
    }
    const whole = counts(new DeliveryAudit().audit(stream, 0, n));
    const a = new DeliveryAudit();
    const sum = [0, 0, 0];
    let checked = 0;
    for (let len = 0; len < stream.length;) {
      len = Math.min(stream.length, len + 1 + Math.floor(rnd() * 20));
      // As in the fleet, which waits for every client to catch up: nothing up to the
      // checkpoint is delivered for the first time after it (else it counts lost, then out of order).
      const to = Math.max(checked, Math.min(n, ...stream.slice(len).map((x) => x - 1)));
      const c = counts(a.audit(stream.slice(0, len), checked, to));
      for (let i = 0; i < 3; i++) sum[i]! += c[i]!;
      checked = to;
    }
    sum.forEach((_, i) => (sum[i]! += counts(a.audit(stream, checked, n))[i]!));
    assert.deepEqual(sum, whole, `round ${round}: ${JSON.stringify(stream)}`);
    assert.ok(whole.some((x) => x > 0), "the stream has faults to find");
  }
});
