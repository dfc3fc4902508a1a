import assert from "node:assert/strict";
import { test } from "node:test";
import type { Publication, SubscribedReply } from "../protocol/hub.ts";
import { Cursor, type Verdict } from "./cursor.ts";

const pub = (offset: number | undefined, epoch = "e1"): Publication => ({ channel: "ch", data: offset, offset, epoch: offset === undefined ? undefined : epoch });
const reply = (r: Partial<SubscribedReply>): SubscribedReply => ({
  id: 1, type: "subscribed", channel: "ch", recovered: false, wasRecovering: false, recoverable: true, offset: 0, epoch: "e1", publications: [], ...r,
});

test("Cursor: live publications are judged by offset and epoch (table)", () => {
  const cases: [string, [number | undefined, string][], Verdict[], number | null][] = [
    ["consecutive offsets are delivered", [[18, "e1"], [19, "e1"], [20, "e1"]], ["deliver", "deliver", "deliver"], 20],
    ["a repeat is a duplicate and does not move the cursor", [[18, "e1"], [18, "e1"], [17, "e1"], [19, "e1"]], ["deliver", "duplicate", "duplicate", "deliver"], 19],
    ["a jump is a gap; the cursor stays for the resubscribe", [[18, "e1"], [20, "e1"], [19, "e1"]], ["deliver", "gap", "deliver"], 19],
    ["another epoch is flagged and not delivered", [[18, "e1"], [1, "e2"], [19, "e1"]], ["deliver", "epoch", "deliver"], 19],
    ["publications without offsets (no history) are always delivered", [[undefined, ""], [undefined, ""]], ["deliver", "deliver"], 17],
  ];
  for (const [name, pubs, verdicts, end] of cases) {
    const c = new Cursor();
    c.subscribed(reply({ offset: 17 }));
    assert.deepEqual(pubs.map(([o, e]) => c.accept(pub(o, e))), verdicts, name);
    assert.deepEqual(c.position, end === null ? null : { offset: end, epoch: "e1" }, name);
  }
});

test("Cursor: a recovered subscribe delivers only what is new, in order, and lands on the hub's offset", () => {
  const c = new Cursor();
  assert.equal(c.position, null);
  assert.deepEqual(c.subscribed(reply({ offset: 17 })), []);
  assert.equal(c.accept(pub(18)), "deliver");
  // The reconnect raced with the live feed: 18 was already delivered, 19 and 20 were missed.
  const got = c.subscribed(reply({ recovered: true, wasRecovering: true, offset: 20, publications: [pub(18), pub(19), pub(20)] }));
  assert.deepEqual(got.map((p) => p.offset), [19, 20]);
  assert.deepEqual(c.position, { offset: 20, epoch: "e1" });
  assert.equal(c.accept(pub(20)), "duplicate");
  assert.equal(c.accept(pub(21)), "deliver");
});

test("Cursor: recovered: false (epoch changed or history too short) delivers nothing and jumps to the new position", () => {
  const c = new Cursor();
  c.subscribed(reply({ offset: 5 }));
  const got = c.subscribed(reply({ recovered: false, wasRecovering: true, offset: 3, epoch: "e2", publications: [] }));
  assert.deepEqual(got, []);
  assert.deepEqual(c.position, { offset: 3, epoch: "e2" });
  assert.equal(c.accept(pub(4, "e2")), "deliver");
  assert.equal(c.accept(pub(6, "e1")), "epoch");
});

test("Cursor: a channel without history has no position to resume from", () => {
  const c = new Cursor();
  c.subscribed(reply({ recoverable: false, offset: 0, epoch: "" }));
  assert.equal(c.position, null);
  assert.equal(c.accept(pub(undefined)), "deliver");
  assert.equal(c.position, null);
});

test("Cursor: a first live publication before any position sets it", () => {
  const c = new Cursor();
  assert.equal(c.accept(pub(7)), "deliver");
  assert.deepEqual(c.position, { offset: 7, epoch: "e1" });
  assert.equal(c.accept(pub(8)), "deliver");
});
