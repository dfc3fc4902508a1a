import assert from "node:assert/strict";
import { test } from "node:test";
import { originOf, splitUrl, splitUrlObject } from "./url.ts";

test("splitUrl: prefix as written, path with query, no fragment", () => {
  const cases: [string, string, string][] = [
    ["https://api.example.com/v1/chat", "https://api.example.com", "/v1/chat"],
    ["https://api.example.com", "https://api.example.com", "/"],
    ["http://h:81?q=1", "http://h:81", "/?q=1"],
    ["http://h/a?b#c", "http://h", "/a?b"],
    ["http://h#c", "http://h", "/"],
    ["HTTP://[::1]:8080/x", "HTTP://[::1]:8080", "/x"],
  ];
  for (const [url, prefix, path] of cases) assert.deepEqual(splitUrl(url), { prefix, path }, url);
  for (const bad of ["/x", "", "example.com/x", "://x"]) assert.throws(() => splitUrl(bad), /expected an absolute http\(s\) URL/, bad);
});

test("splitUrlObject: origin and path; credentials refused", () => {
  assert.deepEqual(splitUrlObject(new URL("https://a.example:8443/x?y#z")), { prefix: "https://a.example:8443", path: "/x?y" });
  assert.throws(() => splitUrlObject(new URL("https://u:p@a.example/")), /credentials in the URL of https:\/\/a.example are not sent/);
});

test("originOf: normalised, http(s) only", () => {
  const cases: [string, string][] = [
    ["HTTPS://API.Example.com:443", "https://api.example.com"],
    ["http://localhost:80", "http://localhost"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["https://[::1]:8443", "https://[::1]:8443"],
  ];
  for (const [prefix, origin] of cases) assert.equal(originOf(prefix), origin, prefix);
  assert.throws(() => originOf("ftp://x"), /only http: and https: URLs are supported, got "ftp:"/);
  assert.throws(() => originOf("http://a b"), /not a valid URL/);
  assert.throws(() => originOf("https://user@x"), /credentials/);
});
