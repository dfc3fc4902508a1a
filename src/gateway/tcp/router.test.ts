// The tcp router, table-driven: a name is matched exactly, else by wildcard, else the
// default route takes it; a listener without routes by name never peeks.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TcpRouteConfig } from "../../config/types.ts";
import type { Backend } from "../backend.ts";
import { TcpRouter } from "./router.ts";

// The router only hands backends back: named stand-ins are enough.
const backends = new Map(["db", "web", "plain"].map((name) => [name, { name } as unknown as Backend]));
const route = (backend: string, sni?: string): TcpRouteConfig => ({ match: sni === undefined ? undefined : { sni }, backend });

test("tcp router: the exact name, then the wildcard, then the default route; undefined when no route takes the name", () => {
  const withDefault = new TcpRouter([route("web", "*.example.com"), route("db", "db.example.com"), route("plain")], backends);
  const without = new TcpRouter([route("web", "*.example.com"), route("db", "db.example.com")], backends);
  const cases: [string | undefined, string | undefined, string | undefined][] = [
    // server name, with a default route, without one
    ["db.example.com", "db", "db"],
    ["www.example.com", "web", "web"],
    ["other.test", "plain", undefined],
    [undefined, "plain", undefined],
  ];
  for (const [name, a, b] of cases) {
    assert.equal(withDefault.pick(name)?.name, a, `${name} with a default route`);
    assert.equal(without.pick(name)?.name, b, `${name} without one`);
  }
  assert.deepEqual([withDefault.peek, without.peek], [true, true]);
});

test("tcp router: only a default route: no peeking, every connection to it", () => {
  const r = new TcpRouter([route("plain")], backends);
  assert.equal(r.peek, false);
  assert.equal(r.pick(undefined)?.name, "plain");
});

test("tcp router: a route to an unknown backend is a programming error, said at once", () => {
  assert.throws(() => new TcpRouter([route("nowhere")], backends), { message: "route refers to unknown backend nowhere" });
});
