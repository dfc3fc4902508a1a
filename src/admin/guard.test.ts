import assert from "node:assert/strict";
import { test } from "node:test";
import { guardAdmin, type AdminRequestFacts } from "./guard.ts";

const cases: [string, AdminRequestFacts, boolean, number | undefined][] = [
  // [what, request, loopback listen, refusal status or undefined]
  ["a read by IPv4 literal", { method: "GET", path: "/api/backends", host: "127.0.0.1:9900" }, true, undefined],
  ["a read by IPv6 literal", { method: "GET", path: "/metrics", host: "[::1]:9900" }, true, undefined],
  ["a read by localhost", { method: "GET", path: "/", host: "localhost:9900" }, true, undefined],
  ["a read by a .localhost name", { method: "GET", path: "/", host: "admin.localhost" }, true, undefined],
  ["a rebound name reading the API", { method: "GET", path: "/api/backends", host: "evil.example:9900" }, true, 403],
  ["a rebound name reading the dashboard", { method: "GET", path: "/", host: "evil.example" }, true, 403],
  ["a rebound name on /healthz (load balancers send any Host)", { method: "GET", path: "/healthz", host: "evil.example" }, true, undefined],
  ["no Host at all", { method: "GET", path: "/metrics", host: undefined }, true, 403],
  ["a bracket without its end", { method: "GET", path: "/metrics", host: "[::1" }, true, 403],
  ["a name on a non-loopback listen (operators use DNS names)", { method: "GET", path: "/api/backends", host: "gw.internal:9900" }, false, undefined],
  ["a mutation from curl (no Origin, no Sec-Fetch-Site)", { method: "POST", path: "/api/reload", host: "127.0.0.1:9900" }, true, undefined],
  ["a mutation from the dashboard itself", { method: "POST", path: "/api/reload", host: "127.0.0.1:9900", origin: "http://127.0.0.1:9900", secFetchSite: "same-origin" }, true, undefined],
  ["a mutation from another site's page", { method: "POST", path: "/api/reload", host: "127.0.0.1:9900", origin: "https://evil.example", secFetchSite: "cross-site" }, true, 403],
  ["a mutation from a sibling port (same-site, not same-origin)", { method: "PUT", path: "/api/backends/a/servers/b/weight", host: "127.0.0.1:9900", secFetchSite: "same-site" }, true, 403],
  ["a mutation with a foreign Origin only", { method: "POST", path: "/api/backends/a/servers/b/drain", host: "gw.internal:9900", origin: "http://evil.example" }, false, 403],
  ["a mutation with Origin: null (sandboxed frame, file:)", { method: "POST", path: "/api/reload", host: "127.0.0.1:9900", origin: "null" }, true, 403],
  ["a mutation typed in the address bar (Sec-Fetch-Site: none)", { method: "POST", path: "/api/reload", host: "127.0.0.1:9900", secFetchSite: "none" }, true, undefined],
  ["a cross-site read is fine (it needs no token and CORS keeps the answer from the page)", { method: "GET", path: "/api/backends", host: "127.0.0.1:9900", secFetchSite: "cross-site" }, true, undefined],
];

for (const [what, req, loopback, want] of cases) {
  test(`guardAdmin: ${what}`, () => {
    assert.equal(guardAdmin(req, loopback)?.status, want);
  });
}

test("guardAdmin: the refusal says why in plain words", () => {
  assert.match(guardAdmin({ method: "GET", path: "/", host: "evil.example" }, true)!.message, /DNS rebinding/);
  assert.match(guardAdmin({ method: "POST", path: "/api/reload", host: "h", origin: "http://x" }, false)!.message, /cross-site request refused: Origin http:\/\/x/);
});
