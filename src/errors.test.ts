// One test over the whole error table (fastify's errors table test, undici's
// per-class tests folded into one): codes unique and prefixed, every code with its
// class, retryability and status documented and carried by every instance.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ConfigInvalidError,
  ERROR_CLASSES,
  ERROR_CODES,
  HoldfastError,
  isHoldfastError,
  NoServerError,
  type ErrorCode,
} from "./errors.ts";

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

const make = (code: ErrorCode, options?: ErrorOptions): HoldfastError =>
  code === "HF_ERR_CONFIG_INVALID" ? new ConfigInvalidError([], options) : new ERROR_CLASSES[code](undefined, options);

test("every code is HF_ERR_ + upper snake case, and unique", () => {
  for (const code of codes) assert.match(code, /^HF_ERR_[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  assert.equal(new Set(codes).size, codes.length);
  assert.deepEqual(Object.keys(ERROR_CLASSES).sort(), [...codes].sort());
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
  assert.deepEqual(retryable, ["HF_ERR_CONNECT_REFUSED", "HF_ERR_CONNECT_TIMEOUT", "HF_ERR_NO_SERVER", "HF_ERR_QUEUE_TIMEOUT"]);
});

test("every class carries its code, retryable, status, name and cause", () => {
  const names = new Set<string>();
  for (const code of codes) {
    const cause = new Error("socket hang up");
    const err = make(code, { cause });
    assert.ok(err instanceof HoldfastError && err instanceof Error, code);
    assert.equal(err.code, code);
    assert.equal(err.retryable, ERROR_CODES[code].retryable);
    assert.equal(err.status, ERROR_CODES[code].status);
    assert.equal(err.name, ERROR_CLASSES[code].name);
    assert.notEqual(err.name, "Error");
    assert.ok(err.message.length > 0);
    assert.equal(err.cause, cause);
    assert.ok(isHoldfastError(err) && isHoldfastError(err, code));
    names.add(err.name);
  }
  assert.equal(names.size, codes.length, "class names are unique");
});

test("isHoldfastError goes by code, so it holds across workers and package copies", () => {
  const plain = Object.assign(new Error("from a worker"), { code: "HF_ERR_NO_SERVER" });
  assert.ok(isHoldfastError(plain, "HF_ERR_NO_SERVER"));
  assert.ok(!isHoldfastError(plain, "HF_ERR_BAD_REQUEST"));
  assert.ok(!isHoldfastError(Object.assign(new Error("x"), { code: "ECONNREFUSED" })));
  assert.ok(!isHoldfastError(null));
  assert.ok(!isHoldfastError("HF_ERR_NO_SERVER"));
});

test("ConfigInvalidError lists every issue in its message", () => {
  const err = new ConfigInvalidError([
    { path: "backends.api.health.interval", message: 'expected a duration like "5s", got "5 seconds"' },
    { path: "", message: "the config is empty" },
  ]);
  assert.equal(err.issues.length, 2);
  assert.equal(
    err.message,
    'invalid config (2 errors):\n  backends.api.health.interval: expected a duration like "5s", got "5 seconds"\n  the config is empty',
  );
  assert.equal(new NoServerError("no server of backend api is available").message, "no server of backend api is available");
});
