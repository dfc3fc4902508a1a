import assert from "node:assert/strict";
import { test } from "node:test";
import { redactIssues } from "./redact.ts";

test("redactIssues: secret fields lose their value, everything else is untouched", () => {
  const raw = {
    admin: { token: "s3cret-value", listen: "0.0.0.0:1" },
    cluster: { redis: "redis://app:pa55@redis.internal:6379/0" },
    hub: { jwt: { secret: 42 }, apiPassword: "pw" },
    backends: { b: { hashKey: "header:X-User" } },
  };
  const cases: [(string | number)[], string, string][] = [
    [["admin", "token"], 'expected a string, got "s3cret-value"', 'expected a string, got "<redacted>"'],
    [["hub", "jwt", "secret"], "expected a string, got 42", "expected a string, got <redacted>"],
    [["hub", "apiPassword"], 'bad "pw" and "pw" again', 'bad "<redacted>" and "<redacted>" again'],
    [["cluster", "redis"], 'expected a URL like "redis://127.0.0.1:6379", got "redis://app:pa55@redis.internal:6379/0"',
      'expected a URL like "redis://127.0.0.1:6379", got "redis://app:<redacted>@redis.internal:6379/0"'],
    [["admin", "listen"], 'got "0.0.0.0:1"', 'got "0.0.0.0:1"'],
    [["backends", "b", "hashKey"], 'got "header:X-User"', 'got "header:X-User"'],
    [["admin", "token"], "environment variable TOKEN is not set", "environment variable TOKEN is not set"],
  ];
  for (const [path, message, want] of cases) {
    assert.equal(redactIssues([{ path, message }], raw)[0]!.message, want, path.join("."));
  }
});

test("redactIssues: a Redis URL without a password, or unparsable with userinfo", () => {
  const issue = (url: string) => redactIssues([{ path: ["cluster", "redis"], message: `got ${JSON.stringify(url)}` }], { cluster: { redis: url } })[0]!.message;
  assert.equal(issue("redis://redis.internal:6379"), 'got "redis://redis.internal:6379"');
  assert.equal(issue("not a url :pw@host"), 'got "<redacted>@host"');
});
