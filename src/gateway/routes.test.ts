// The router on parsed request heads, table-driven: routes are tried in order (path
// prefix, host without port and case, exact header values), `allow` answers 403 for an
// address outside it, no match is 404, and a split draws with the random it is given.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findHeadEnd, Head, parseRequest } from "../codec/http1/head.ts";
import type { RouteConfig } from "../config/types.ts";
import type { Backend } from "./backend.ts";
import { FORBIDDEN, NO_ROUTE, Router, requestHost } from "./routes.ts";

// The router only hands backends back: named stand-ins are enough.
const backends = new Map(["api", "admin", "canary", "web", "web2"].map((name) => [name, { name } as unknown as Backend]));

const ROUTES: RouteConfig[] = [
  { match: { pathPrefix: "/api/", host: undefined, header: undefined }, allow: undefined, backend: "api", split: undefined },
  { match: { pathPrefix: undefined, host: "admin.example.com", header: undefined }, allow: ["192.168.1.0/24", "10.0.0.0/8", "2001:db8::/32"], backend: "admin", split: undefined },
  { match: { pathPrefix: undefined, host: undefined, header: { "x-canary": "true" } }, allow: undefined, backend: "canary", split: undefined },
  { match: undefined, allow: undefined, backend: "web", split: [{ backend: "web", weight: 90 }, { backend: "web2", weight: 10 }] },
];

function head(text: string): { buf: Buffer; h: Head } {
  const buf = Buffer.from(text, "latin1");
  const h = new Head();
  assert.equal(parseRequest(buf, findHeadEnd(buf, 0, buf.length), h), 0, text);
  return { buf, h };
}

const name = (r: Backend | typeof FORBIDDEN | typeof NO_ROUTE): string => (r === FORBIDDEN ? "403" : r === NO_ROUTE ? "404" : r.name);

test("router: first matching route, in order", () => {
  const router = new Router(ROUTES, backends, () => 0.5);
  const cases: [string, string, string][] = [
    ["GET /api/users HTTP/1.1\r\nHost: example.com\r\n\r\n", "10.1.1.1", "api"],
    ["GET /api HTTP/1.1\r\nHost: example.com\r\n\r\n", "10.1.1.1", "web"], // prefix is /api/
    ["GET /api/x HTTP/1.1\r\nHost: admin.example.com\r\n\r\n", "203.0.113.9", "api"], // first route wins
    ["GET / HTTP/1.1\r\nHost: admin.example.com\r\n\r\n", "10.1.1.1", "admin"],
    ["GET / HTTP/1.1\r\nHost: ADMIN.Example.com:8443\r\n\r\n", "192.168.1.77", "admin"], // case and port ignored
    ["GET / HTTP/1.1\r\nHost: admin.example.com\r\n\r\n", "2001:db8::7", "admin"],
    ["GET / HTTP/1.1\r\nHost: admin.example.com\r\n\r\n", "203.0.113.9", "403"], // outside allow
    ["GET / HTTP/1.1\r\nHost: example.com\r\nX-Canary: true\r\n\r\n", "203.0.113.9", "canary"],
    ["GET / HTTP/1.1\r\nHost: example.com\r\nX-Canary: TRUE\r\n\r\n", "203.0.113.9", "web"], // values are exact
    ["GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "203.0.113.9", "web"],
  ];
  for (const [text, ip, want] of cases) {
    const { buf, h } = head(text);
    assert.equal(name(router.route(buf, h, ip)), want, `${JSON.stringify(text)} from ${ip}`);
  }
});

test("router: no default route answers 404; a split draws by weight", () => {
  const strict = new Router(ROUTES.slice(0, 3), backends);
  const { buf, h } = head("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  assert.equal(strict.route(buf, h, "10.0.0.1"), NO_ROUTE);
  const draws: [number, string][] = [[0, "web"], [0.899, "web"], [0.9, "web2"], [0.999, "web2"]];
  for (const [x, want] of draws) assert.equal(name(new Router(ROUTES, backends, () => x).route(buf, h, "10.0.0.1")), want, String(x));
});

test("router: one plain default route takes every request without matching", () => {
  const router = new Router([{ match: undefined, allow: undefined, backend: "web", split: undefined }], backends);
  for (const text of ["GET /anything HTTP/1.1\r\nHost: a\r\n\r\n", "POST /x HTTP/1.0\r\n\r\n"]) {
    const { buf, h } = head(text);
    assert.equal(name(router.route(buf, h, "::1")), "web");
  }
  assert.throws(() => new Router([{ match: undefined, allow: undefined, backend: "nope", split: undefined }], backends), /unknown backend nope/);
});

test("requestHost: lower-cased, without the port, IPv6 literals kept whole", () => {
  const cases: [string, string][] = [
    ["Host: Example.COM", "example.com"],
    ["Host: example.com:8080", "example.com"],
    ["Host: [2001:DB8::1]:443", "[2001:db8::1]"],
    ["Host: [::1]", "[::1]"],
  ];
  for (const [line, want] of cases) {
    const { buf, h } = head(`GET / HTTP/1.1\r\n${line}\r\n\r\n`);
    assert.equal(requestHost(buf, h), want, line);
  }
  const { buf, h } = head("GET / HTTP/1.0\r\n\r\n");
  assert.equal(requestHost(buf, h), "");
});
