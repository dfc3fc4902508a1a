import { test } from "node:test";
import assert from "node:assert/strict";
import type { HashKey } from "../../config/types.ts";
import { parseHashKey } from "../../config/hash-key.ts";
import { extractHashKey } from "./hash-key.ts";
import type { RequestView } from "./hash-key.ts";

function req(target: string, headers: Record<string, string> = {}, source = "203.0.113.7"): RequestView {
  return { source, target, header: (name) => headers[name] };
}

test("extractHashKey: table", () => {
  const cases: [name: string, spec: HashKey, req: RequestView, expected: string | undefined][] = [
    ["source", { kind: "source" }, req("/"), "203.0.113.7"],
    ["source IPv6", { kind: "source" }, req("/", {}, "2001:db8::1"), "2001:db8::1"],
    ["source empty (unix socket)", { kind: "source" }, req("/", {}, ""), undefined],

    ["path", { kind: "path" }, req("/a/b"), "/a/b"],
    ["path without query", { kind: "path" }, req("/a/b?x=1&y=2"), "/a/b"],
    ["path, empty query", { kind: "path" }, req("/a?"), "/a"],
    ["path root", { kind: "path" }, req("/?x=1"), "/"],
    ["path absolute-form", { kind: "path" }, req("http://example.com/a/b?x=1"), "/a/b"],
    ["path absolute-form, no path", { kind: "path" }, req("https://example.com"), "/"],
    ["path absolute-form, query only", { kind: "path" }, req("http://example.com?x=1"), "/"],
    ["path asterisk-form", { kind: "path" }, req("*"), "*"],
    ["path: a URL in the query is not the target's", { kind: "path" }, req("/r?u=http://x/y"), "/r"],
    ["path absolute-form without a query", { kind: "path" }, req("http://example.com/a/b"), "/a/b"],
    ["path: no scheme before ://", { kind: "path" }, req("://x/y"), "://x/y"],
    ["path: only a query", { kind: "path" }, req("?x=1"), undefined],
    ["path empty target (L4)", { kind: "path" }, req(""), undefined],

    ["query", { kind: "query", name: "room" }, req("/ws?room=42"), "42"],
    ["query among others", { kind: "query", name: "room" }, req("/ws?a=1&room=42&b=2"), "42"],
    ["query first occurrence", { kind: "query", name: "room" }, req("/ws?room=1&room=2"), "1"],
    ["query name is not a prefix match", { kind: "query", name: "room" }, req("/ws?rooms=9&xroom=8&room=7"), "7"],
    ["query value with =", { kind: "query", name: "t" }, req("/?t=a=b"), "a=b"],
    ["query percent-decoded", { kind: "query", name: "u" }, req("/?u=al%C3%AFce%40x"), "alïce@x"],
    ["query + is a space", { kind: "query", name: "u" }, req("/?u=a+b"), "a b"],
    ["query %20 and + agree", { kind: "query", name: "u" }, req("/?u=a%20b"), "a b"],
    ["query malformed escape kept raw", { kind: "query", name: "u" }, req("/?u=100%"), "100%"],
    ["query bad UTF-8 kept raw", { kind: "query", name: "u" }, req("/?u=%FF"), "%FF"],
    ["query missing", { kind: "query", name: "room" }, req("/ws?other=1"), undefined],
    ["query no query string", { kind: "query", name: "room" }, req("/ws"), undefined],
    ["query empty value", { kind: "query", name: "room" }, req("/ws?room=&x=1"), undefined],
    ["query flag without =", { kind: "query", name: "room" }, req("/ws?room&x=1"), undefined],
    ["query last, trailing &", { kind: "query", name: "room" }, req("/ws?x=1&room=5&"), "5"],
    ["query name in path is ignored", { kind: "query", name: "room" }, req("/room=3?x=1"), undefined],
    ["query: & in a path without a query", { kind: "query", name: "room" }, req("/a&room=3"), undefined],
    ["query: the query starts the target", { kind: "query", name: "room" }, req("?room=1"), "1"],
    ["query: another name of the same length", { kind: "query", name: "room" }, req("/?abcd=zz"), undefined],
    ["query flag first, then a value: the first wins", { kind: "query", name: "room" }, req("/ws?room&room=5"), undefined],
    ["query escape at the start", { kind: "query", name: "u" }, req("/?u=%41b"), "Ab"],
    ["query + at the start", { kind: "query", name: "u" }, req("/?u=+b"), " b"],

    ["header", { kind: "header", name: "x-user" }, req("/", { "x-user": "alice" }), "alice"],
    ["header missing", { kind: "header", name: "x-user" }, req("/"), undefined],
    ["header empty", { kind: "header", name: "x-user" }, req("/", { "x-user": "" }), undefined],

    ["cookie", { kind: "cookie", name: "sid" }, req("/", { cookie: "theme=dark; sid=abc123" }), "abc123"],
    ["cookie quoted", { kind: "cookie", name: "sid" }, req("/", { cookie: 'sid="abc123"' }), "abc123"],
    ["cookie missing", { kind: "cookie", name: "sid" }, req("/", { cookie: "theme=dark" }), undefined],
    ["cookie empty", { kind: "cookie", name: "sid" }, req("/", { cookie: "sid=; theme=dark" }), undefined],
    ["cookie, no cookie header", { kind: "cookie", name: "sid" }, req("/"), undefined],
  ];
  for (const [name, spec, r, expected] of cases) assert.equal(extractHashKey(spec, r), expected, name);
});

test("extractHashKey: parse then extract, end to end", () => {
  const spec = parseHashKey("header:X-User");
  assert.ok(spec.ok);
  assert.equal(extractHashKey(spec.value, req("/", { "x-user": "bob" })), "bob");
});
