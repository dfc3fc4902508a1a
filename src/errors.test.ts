// One test over the whole error table (fastify's errors table test): codes unique and
// prefixed, every code with its subsystem, retryability and status documented and
// carried by every error made from it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ERROR_CODES, HoldfastError, isHoldfastError, type ErrorCode } from "./errors.ts";

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test("every code is HF_ERR_ + upper snake case, and unique", () => {
  for (const code of codes) assert.match(code, /^HF_ERR_[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  assert.equal(new Set(codes).size, codes.length);
});

test("every code documents its subsystem, retryability and status", () => {
  for (const code of codes) {
    const spec = ERROR_CODES[code];
    assert.ok(["config", "upstream", "balance", "client"].includes(spec.subsystem), code);
    assert.equal(typeof spec.retryable, "boolean", code);
    assert.ok(spec.status === undefined || (spec.status >= 400 && spec.status <= 599), code);
    assert.ok(spec.doc.length > 20, `${code} needs a sentence of documentation`);
  }
});

test("retryability: only failures before anything reached an upstream", () => {
  const retryable = codes.filter((c) => ERROR_CODES[c].retryable).sort();
  assert.deepEqual(retryable, ["HF_ERR_ADMISSION", "HF_ERR_CONNECTION_LIMIT", "HF_ERR_CONNECT_REFUSED", "HF_ERR_CONNECT_TIMEOUT", "HF_ERR_NO_SERVER", "HF_ERR_QUEUE_TIMEOUT"]);
});

test("an error carries its code, retryable, status, name and cause", () => {
  for (const code of codes) {
    const cause = new Error("socket hang up");
    const err = new HoldfastError(code, `failed: ${code}`, { cause });
    assert.ok(err instanceof Error, code);
    assert.equal(err.code, code);
    assert.equal(err.retryable, ERROR_CODES[code].retryable);
    assert.equal(err.status, ERROR_CODES[code].status);
    assert.equal(err.name, "HoldfastError");
    assert.equal(err.message, `failed: ${code}`);
    assert.equal(err.cause, cause);
    assert.ok(isHoldfastError(err) && isHoldfastError(err, code));
  }
});

test("isHoldfastError goes by code, so it holds across workers and package copies", () => {
  const plain = Object.assign(new Error("from a worker"), { code: "HF_ERR_NO_SERVER" });
  assert.ok(isHoldfastError(plain, "HF_ERR_NO_SERVER"));
  assert.ok(!isHoldfastError(plain, "HF_ERR_BAD_REQUEST"));
  assert.ok(!isHoldfastError(Object.assign(new Error("x"), { code: "ECONNREFUSED" })));
  assert.ok(!isHoldfastError(null));
  assert.ok(!isHoldfastError("HF_ERR_NO_SERVER"));
});
