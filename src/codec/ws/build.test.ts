import { test } from "node:test";
import assert from "node:assert/strict";
import * as ws from "ws";
import { CloseCode, parseRetryAfter, retryAfterReason } from "../../protocol/close.ts";
import { MAX_CLOSE_REASON_BYTES, closeFrame, pingFrame } from "./build.ts";
import { FrameTracker } from "./frames.ts";
import { pingPayload } from "./pong-filter.ts";
import { parseCloseReason, wsFrame } from "./testing.kit.ts";

interface Receiver {
  on(event: "conclude", f: (code: number, reason: Buffer) => void): void;
  on(event: "ping", f: (data: Buffer) => void): void;
  on(event: "error", f: (err: Error) => void): void;
  write(b: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (o: { isServer: boolean }) => Receiver };

// What a ws client makes of bytes the gateway sends it.
function asClientSees(frame: Buffer): { ping?: Buffer; close?: [number, string]; error?: Error } {
  const r = new Receiver({ isServer: false });
  const seen: { ping?: Buffer; close?: [number, string]; error?: Error } = {};
  r.on("ping", (data) => (seen.ping = data));
  r.on("conclude", (code, reason) => (seen.close = [code, reason.toString()]));
  r.on("error", (err) => (seen.error = err));
  r.write(frame);
  return seen;
}

test("pingFrame: an unmasked ping a ws client accepts", () => {
  for (const payload of [Buffer.alloc(0), pingPayload(42), Buffer.alloc(125, 7)]) {
    const f = pingFrame(payload);
    assert.equal(f[0], 0x89);
    assert.ok(asClientSees(f).ping?.equals(payload), `${payload.length} bytes`);
    assert.equal(new FrameTracker().push(f, 0, f.length), f.length);
  }
  assert.throws(() => pingFrame(Buffer.alloc(126)), { name: "RangeError", message: "a ping payload is at most 125 bytes, got 126" });
});

test("closeFrame: codes and reasons a ws client reads back", () => {
  const cases: [code: number, reason: string][] = [
    [CloseCode.SERVICE_RESTART, retryAfterReason(2500)],
    [CloseCode.GOING_AWAY, retryAfterReason(0)],
    [CloseCode.TRY_AGAIN_LATER, "retry-after=900"],
    [CloseCode.NORMAL, ""],
    [4999, "é".repeat(61) + "a"], // 123 bytes of UTF-8
    [3000, "x".repeat(MAX_CLOSE_REASON_BYTES)],
  ];
  for (const [code, reason] of cases) {
    const f = closeFrame(code, reason);
    assert.deepEqual(asClientSees(f).close, [code, reason], `${code} ${reason}`);
    assert.deepEqual(parseCloseReason(f), { code, reason, retryAfterMs: parseRetryAfter(reason) });
    const t = new FrameTracker();
    assert.equal(t.push(f, 0, f.length), f.length);
    assert.equal(t.closeSeen, true);
  }
  assert.equal(closeFrame(1000).length, 4);
});

test("closeFrame: refuses what may not be sent", () => {
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1012.5]) assert.throws(() => closeFrame(code), RangeError, String(code));
  assert.throws(() => closeFrame(1000, "é".repeat(62)), RangeError, "124 bytes");
  assert.throws(() => closeFrame(1000, "x".repeat(124)), { name: "RangeError", message: "a close reason is at most 123 bytes of UTF-8, got 124" });
  assert.throws(() => closeFrame(1005), { name: "RangeError", message: "close code 1005 may not be sent" });
});

test("retryAfterReason / parseRetryAfter", () => {
  const make: [ms: number, reason: string][] = [[0, "retry-after=0"], [1234.5, "retry-after=1235"], [86_400_000, "retry-after=86400000"]];
  for (const [ms, reason] of make) assert.equal(retryAfterReason(ms), reason);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => retryAfterReason(bad), RangeError, String(bad));
  const parse: [reason: string, ms: number | null][] = [
    ["retry-after=2500", 2500],
    ["retry-after=0", 0],
    ["retry-after=2500; draining", 2500],
    ["retry-after=2500 more", 2500],
    ["retry-after=", null],
    ["retry-after=-1", null],
    ["retry-after=12x", null],
    ["Retry-After=5", null],
    [" retry-after=5", null],
    ["retry-after=1234567890123456", null],
    ["", null],
  ];
  for (const [reason, ms] of parse) assert.equal(parseRetryAfter(reason), ms, JSON.stringify(reason));
});

test("parseCloseReason: masked client closes, and what is not a close frame", () => {
  const body = Buffer.concat([Buffer.from([0x03, 0xf4]), Buffer.from("retry-after=10")]);
  assert.deepEqual(parseCloseReason(wsFrame({ opcode: 8, payload: body, mask: true })), { code: 1012, reason: "retry-after=10", retryAfterMs: 10 });
  assert.deepEqual(parseCloseReason(wsFrame({ opcode: 8, payload: Buffer.alloc(0), mask: true })), { code: 1005, reason: "", retryAfterMs: null });
  const bad: [name: string, buf: Buffer][] = [
    ["empty", Buffer.alloc(0)],
    ["a ping", pingFrame(Buffer.alloc(2))],
    ["truncated", closeFrame(1000, "bye").subarray(0, 5)],
    ["trailing bytes", Buffer.concat([closeFrame(1000), Buffer.from([0])])],
    ["1-byte body", Buffer.from([0x88, 0x01, 0x03])],
    ["invalid UTF-8", Buffer.from([0x88, 0x03, 0x03, 0xe8, 0xff])],
  ];
  for (const [name, buf] of bad) assert.equal(parseCloseReason(buf), null, name);
});
