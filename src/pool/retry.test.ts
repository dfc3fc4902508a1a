import assert from "node:assert/strict";
import { test } from "node:test";
import { Readable } from "node:stream";
import { isIdempotent, isReplayable, shouldRetry, type Failure } from "./retry.ts";

const base: Failure = { attempt: 1, errorCode: "UND_ERR_SOCKET", pooled: true, idempotent: true, replayable: true, aborted: false };

test("shouldRetry: only a stale pooled connection, once, idempotent and replayable", () => {
  const cases: [string, Partial<Failure>, boolean][] = [
    ["the keep-alive race (FIN)", {}, true],
    ["a reset", { errorCode: "ECONNRESET" }, true],
    ["a write to a closed socket", { errorCode: "EPIPE" }, true],
    ["second attempt", { attempt: 2 }, false],
    ["connection opened for this request", { pooled: false }, false],
    ["not idempotent (POST)", { idempotent: false }, false],
    ["body consumed (stream)", { replayable: false }, false],
    ["aborted by the caller", { aborted: true }, false],
    ["headers timeout: the server may be working on it", { errorCode: "UND_ERR_HEADERS_TIMEOUT" }, false],
    ["connect refused", { errorCode: "ECONNREFUSED" }, false],
    ["no code", { errorCode: undefined }, false],
  ];
  for (const [what, change, want] of cases) assert.equal(shouldRetry({ ...base, ...change }), want, what);
});

test("isIdempotent: RFC 9110 §9.2.2, explicit option wins", () => {
  const cases: [string, boolean | undefined, boolean][] = [
    ["GET", undefined, true], ["head", undefined, true], ["OPTIONS", undefined, true], ["TRACE", undefined, true],
    ["PUT", undefined, true], ["DELETE", undefined, true], ["POST", undefined, false], ["PATCH", undefined, false],
    ["CONNECT", undefined, false], ["POST", true, true], ["GET", false, false],
  ];
  for (const [m, explicit, want] of cases) assert.equal(isIdempotent(m, explicit), want, `${m} ${String(explicit)}`);
});

test("isReplayable: nothing, strings and bytes; not streams, iterables or FormData", () => {
  const cases: [string, unknown, boolean][] = [
    ["undefined", undefined, true], ["null", null, true], ["string", "{}", true], ["Buffer", Buffer.from("x"), true],
    ["Uint8Array", new Uint8Array(2), true], ["Readable", Readable.from(["x"]), false],
    ["async iterable", (async function* () { yield "x"; })(), false], ["FormData", new FormData(), false],
  ];
  for (const [what, body, want] of cases) assert.equal(isReplayable(body), want, what);
});
