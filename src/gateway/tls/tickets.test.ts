import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { TicketKeys } from "./tickets.ts";

// Ticket keys are a function of the shared secret and the clock's period: every worker
// computes the same keys without talking to the others, and they change at each period.

const HOUR = 3600_000;

test("ticket keys: 48 bytes, the same for the same secret and period, different across periods and secrets", () => {
  const secret = Buffer.alloc(32, 7);
  let now = 5 * HOUR + 10;
  const a = new TicketKeys(secret, HOUR, () => now);
  const b = new TicketKeys(Buffer.from(secret), HOUR, () => now);
  assert.equal(a.current().length, 48);
  assert.deepEqual(a.current(), b.current(), "two workers with one secret agree");
  const first = Buffer.from(a.current());
  now = 6 * HOUR - 1;
  assert.deepEqual(a.current(), first, "the same period, the same keys");
  now = 6 * HOUR;
  assert.notDeepEqual(a.current(), first, "a new period rotates them");
  assert.deepEqual(a.current(), b.current());
  assert.notDeepEqual(new TicketKeys(Buffer.alloc(32, 8), HOUR, () => now).current(), a.current(), "another secret, other keys");
  // The three parts (name, HMAC key, AES key) are not all-zero or repeated.
  const k = a.current();
  assert.notDeepEqual(k.subarray(0, 16), k.subarray(16, 32));
  assert.notDeepEqual(k.subarray(16, 32), k.subarray(32, 48));
});

test("ticket keys: subscribers get the new keys at the period boundary; unsubscribing the last stops the timer", async () => {
  // The clock is read by current() and by each re-arm: counting reads shows a timer
  // still running after the last unsubscribe, which no listener could show.
  const period = 150;
  let reads = 0;
  let lastRead = 0;
  const keys = new TicketKeys(Buffer.alloc(32, 1), period, () => (reads++, (lastRead = Date.now())));
  const before = Buffer.from(keys.current());
  const boundary = (Math.floor(lastRead / period) + 1) * period;
  const got: { keys: Buffer; at: number }[] = [];
  const off = keys.subscribe((k) => got.push({ keys: Buffer.from(k), at: lastRead }));
  const t0 = Date.now();
  while (got.length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
  off();
  assert.ok(got.length >= 1, `no rotation within 3 s (the period is ${period} ms)`);
  assert.ok(got[0]!.at >= boundary, `handed out at ${got[0]!.at}, before the boundary ${boundary}`);
  assert.notDeepEqual(got[0]!.keys, before);
  assert.deepEqual(got[0]!.keys, new TicketKeys(Buffer.alloc(32, 1), period, () => got[0]!.at).current(), "the keys of the period they were handed out in");
  const [n, readsAtOff] = [got.length, reads];
  await new Promise((r) => setTimeout(r, 400)); // more than two periods
  assert.equal(got.length, n, "no call after unsubscribing");
  assert.equal(reads, readsAtOff, "no timer fired after the last unsubscribe");
});

test("ticket keys: the default period is 12 hours", () => {
  let now = 0;
  const keys = new TicketKeys(Buffer.alloc(32, 3), undefined, () => now);
  const first = Buffer.from(keys.current());
  now = 12 * HOUR - 1;
  assert.deepEqual(keys.current(), first, "the same keys until 12 h");
  now = 12 * HOUR;
  assert.notDeepEqual(keys.current(), first, "new keys at 12 h");
});

test("ticket keys: two subscribers share one timer: each is called once per rotation, and none fires after both unsubscribe", async () => {
  const period = 150;
  let reads = 0;
  const keys = new TicketKeys(Buffer.alloc(32, 2), period, () => (reads++, Date.now()));
  // The period each call came in: a second timer would call both again within a period.
  const epochs: number[][] = [[], []];
  const offs = [0, 1].map((i) => keys.subscribe(() => epochs[i]!.push(Math.floor(Date.now() / period))));
  const t0 = Date.now();
  while (epochs[0]!.length < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
  for (const f of offs) f();
  const readsAtOff = reads;
  assert.ok(epochs[0]!.length >= 2, `fewer than two rotations within 3 s (the period is ${period} ms)`);
  for (const e of epochs) assert.deepEqual(e, [...new Set(e)], `one call per period: ${e.join(", ")}`);
  assert.deepEqual(epochs[1], epochs[0]);
  await new Promise((r) => setTimeout(r, 400)); // more than two periods
  assert.equal(reads, readsAtOff, "no timer fired after the last unsubscribe");
});

test("ticket keys: HMAC-SHA256 of the secret over `holdfast tls tickets <period> a` and `… b`, the first 48 bytes (workers of two versions must agree), from the very first period on", () => {
  const secret = Buffer.alloc(32, 5);
  const expected = (epoch: number) => Buffer.concat(["a", "b"].map((x) => createHmac("sha256", secret).update(`holdfast tls tickets ${epoch} ${x}`).digest())).subarray(0, 48);
  for (const epoch of [0, 1, 2, 500]) {
    const keys = new TicketKeys(secret, HOUR, () => epoch * HOUR + 7);
    assert.deepEqual(keys.current(), expected(epoch), `period ${epoch}`);
  }
});

test("ticket keys: one of two subscribers leaving keeps the timer for the other", async () => {
  const period = 150;
  const keys = new TicketKeys(Buffer.alloc(32, 4), period, () => Date.now());
  let calls = 0;
  const offFirst = keys.subscribe(() => {});
  const offSecond = keys.subscribe(() => calls++);
  offFirst();
  const t0 = Date.now();
  while (calls === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
  offSecond();
  assert.ok(calls >= 1, `the remaining subscriber got no rotation within 3 s (the period is ${period} ms)`);
});
