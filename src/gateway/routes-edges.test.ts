// The router's edges, each found by a mutant that survived routes.test.ts (issue 15):
// the bounds of a path prefix, a lone route that still has to match, allow or split,
// allow entries without a prefix length, the host of an absolute-form target, and
// header matches on the first header line.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findHeadEnd, Head, parseRequest } from "../codec/http1/head.ts";
import type { RouteConfig } from "../config/types.ts";
import type { Backend } from "./backend.ts";
import { compileAllow, FORBIDDEN, NO_ROUTE, Router, requestHost } from "./routes.ts";

const backends = new Map(["api", "web", "web2"].map((name) => [name, { name } as unknown as Backend]));

// A request head as the session hands it over: the bytes and their parsed spans.
function head(text: string): { buf: Buffer; h: Head } {
  const buf = Buffer.from(text, "latin1");
  const h = new Head();
  assert.equal(parseRequest(buf, findHeadEnd(buf, 0, buf.length), h), 0, `the parser accepts ${JSON.stringify(text)}`);
  return { buf, h };
}

function route(partial: Partial<RouteConfig>): RouteConfig {
  return { match: undefined, allow: undefined, backend: "web", split: undefined, ...partial };
}

function routed(routes: RouteConfig[], text: string, ip = "10.0.0.1", random = () => 0.5): string {
  const { buf, h } = head(text);
  const r = new Router(routes, backends, random).route(buf, h, ip);
  return r === FORBIDDEN ? "403" : r === NO_ROUTE ? "404" : r.name;
}

describe("router edges", () => {
  test("a path prefix matches a target equal to it, and not one that differs after its first byte", () => {
    const routes = [route({ match: { pathPrefix: "/api/", host: undefined, header: undefined }, backend: "api" })];
    const cases: [string, string][] = [
      ["/api/", "api"], // exactly the prefix
      ["/api/v1?q=1", "api"],
      ["/apx/v1/longer", "404"], // as long as the prefix, differs at its 4th byte
      ["/static/app.js", "404"], // longer than the prefix, differs at its 2nd byte
      ["/API/v1", "404"], // bytes, not case-folded
    ];
    for (const [target, want] of cases) assert.equal(routed(routes, `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`), want, target);
  });

  test("a prefix longer than the target does not match, whatever bytes follow the target on the request line", () => {
    const routes = [route({ match: { pathPrefix: "/x H", host: undefined, header: undefined } })];
    assert.equal(routed(routes, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), "404");
  });

  test("a lone route with a match, an allow or a split is not taken blindly", () => {
    const prefix = [route({ match: { pathPrefix: "/api/", host: undefined, header: undefined } })];
    assert.equal(routed(prefix, "GET /other HTTP/1.1\r\nHost: a\r\n\r\n"), "404");
    assert.equal(routed(prefix, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n"), "web");
    const allow = [route({ allow: ["10.0.0.0/8"] })];
    assert.equal(routed(allow, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "192.0.2.1"), "403");
    assert.equal(routed(allow, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "10.2.3.4"), "web");
    const split = [route({ split: [{ backend: "web", weight: 1 }, { backend: "web2", weight: 1 }] })];
    assert.equal(routed(split, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "10.0.0.1", () => 0.75), "web2");
    assert.equal(routed(split, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "10.0.0.1", () => 0.25), "web");
  });

  test("a split naming an unknown backend is refused when the router is built", () => {
    assert.throws(() => new Router([route({ split: [{ backend: "web", weight: 1 }, { backend: "gone", weight: 1 }] })], backends), /split refers to unknown backend gone/);
  });

  test("allow entries without a prefix length are single addresses, v4 and v6", () => {
    const list = compileAllow(["192.0.2.7", "2001:db8::7"]);
    assert.equal(list.check("192.0.2.7", "ipv4"), true);
    assert.equal(list.check("192.0.2.8", "ipv4"), false);
    assert.equal(list.check("2001:db8::7", "ipv6"), true);
    assert.equal(list.check("2001:db8::8", "ipv6"), false);
    const routes = [route({ allow: ["192.0.2.7", "2001:db8::7"] })];
    assert.equal(routed(routes, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "2001:db8::7"), "web");
    assert.equal(routed(routes, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "2001:db8::8"), "403");
  });

  test("a header match on the first header line, and on a header that is absent", () => {
    const routes = [route({ match: { pathPrefix: undefined, host: undefined, header: { "x-canary": "true" } }, backend: "api" }), route({})];
    assert.equal(routed(routes, "GET / HTTP/1.1\r\nX-Canary: true\r\nHost: a\r\n\r\n"), "api");
    assert.equal(routed(routes, "GET / HTTP/1.1\r\nHost: a\r\nX-Canary: true\r\n\r\n"), "api");
    assert.equal(routed(routes, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "web");
  });
});

describe("requestHost edges", () => {
  test("an absolute-form target without a Host header gives its authority", () => {
    const cases: [string, string][] = [
      ["GET http://Admin.Example.com:8080/x HTTP/1.0\r\n\r\n", "admin.example.com"],
      ["GET http://example.com/ HTTP/1.0\r\n\r\n", "example.com"],
    ];
    for (const [text, want] of cases) {
      const { buf, h } = head(text);
      assert.equal(requestHost(buf, h), want, text);
    }
    const routes = [route({ match: { pathPrefix: undefined, host: "admin.example.com", header: undefined }, backend: "api" })];
    assert.equal(routed(routes, "GET http://admin.example.com/x HTTP/1.0\r\n\r\n"), "api");
  });

  test("a host of only a port is empty; an unclosed IPv6 bracket is kept as it is (both pass the head parser)", () => {
    const cases: [string, string][] = [
      ["Host: :8080", ""],
      ["Host: [::1", "[::1"],
    ];
    for (const [line, want] of cases) {
      const { buf, h } = head(`GET / HTTP/1.1\r\n${line}\r\n\r\n`);
      assert.equal(requestHost(buf, h), want, line);
    }
  });
});
