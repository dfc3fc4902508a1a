import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../config/load.ts";
import type { Config } from "../../config/types.ts";
import { deepEqual, diffConfig, isEmptyDiff, type ConfigDiff } from "./diff.ts";

// Configs go through loadConfig so they carry every default, as in production. JSON is
// YAML, so a case is a plain object edited from BASE.
const BASE = {
  listeners: [
    { name: "web", mode: "http", listen: ":8080", routes: [{ match: { pathPrefix: "/api/" }, backend: "api" }, { backend: "app" }] },
    { name: "pg", mode: "tcp", listen: ":5432", backend: "db" },
  ],
  backends: {
    app: { servers: [{ name: "a1", address: "127.0.0.1:3000" }, { name: "a2", address: "127.0.0.1:3001", weight: 2 }] },
    api: { balance: "least-conn", servers: [{ name: "p1", address: "10.0.0.1:80" }] },
    db: { servers: [{ name: "d1", address: "127.0.0.1:5433" }] },
  },
};
type Raw = typeof BASE & Record<string, unknown>;

function load(raw: unknown): Config {
  const r = loadConfig(JSON.stringify(raw), { env: {}, baseDir: "/", readable: () => undefined });
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return r.config;
}

function edit(f: (c: Raw) => void): Config {
  const c = structuredClone(BASE) as Raw;
  f(c);
  return load(c);
}

/** One line per fact, so a case's expectation reads like the change it describes. */
function summary(d: ConfigDiff): string[] {
  const out = d.global.map((k) => `global ${k}`);
  for (const l of d.listeners.removed) out.push(`listener - ${l.name}`);
  for (const l of d.listeners.added) out.push(`listener + ${l.name}`);
  for (const l of d.listeners.changed) out.push(`listener ~ ${l.after.name}: ${l.fields.join(",")}`);
  for (const b of d.backends.removed) out.push(`backend - ${b.name}`);
  for (const b of d.backends.added) out.push(`backend + ${b.name}`);
  for (const b of d.backends.changed) {
    if (b.fields.length > 0) out.push(`backend ~ ${b.after.name}: ${b.fields.join(",")}`);
    for (const s of b.servers.removed) out.push(`server - ${b.after.name}/${s.name}`);
    for (const s of b.servers.added) out.push(`server + ${b.after.name}/${s.name}`);
    for (const s of b.servers.changed) out.push(`server ~ ${b.after.name}/${s.after.name}: ${s.fields.join(",")}`);
  }
  return out;
}

test("diffConfig: table of config pairs", () => {
  const cases: { name: string; after: Config; want: string[] }[] = [
    { name: "identical", after: load(BASE), want: [] },
    {
      name: "defaults spelled out, keys reordered, servers reordered: no change",
      after: edit((c) => {
        c.backends.app = { servers: [{ name: "a2", address: "127.0.0.1:3001", weight: 2 }, { name: "a1", address: "127.0.0.1:3000", weight: 1 }], drainSpread: "10s", balance: "round-robin" } as never;
        c.workers = "auto";
      }),
      want: [],
    },
    { name: "global settings", after: edit((c) => ((c.workers = 4), (c.shutdown = { timeout: "30s" }))), want: ["global workers", "global shutdown"] },
    {
      name: "listener added",
      after: edit((c) => c.listeners.push({ name: "ws", mode: "http", listen: ":8081", routes: [{ backend: "app" }] })),
      want: ["listener + ws"],
    },
    { name: "listener removed", after: edit((c) => c.listeners.pop()), want: ["listener - pg"] },
    { name: "listen address changed: remove + add", after: edit((c) => (c.listeners[0]!.listen = ":9090")), want: ["listener - web", "listener + web"] },
    {
      name: "mode changed: remove + add",
      after: edit((c) => (c.listeners[1] = { name: "pg", mode: "http", listen: ":5432", routes: [{ backend: "db" }] } as never)),
      want: ["listener - pg", "listener + pg"],
    },
    {
      name: "routes and timeouts changed in place",
      after: edit((c) => {
        c.listeners[0]!.routes = [{ backend: "app" }];
        (c.listeners[0] as Record<string, unknown>).timeouts = { clientIdle: "2m" };
      }),
      want: ["listener ~ web: routes,timeouts"],
    },
    { name: "tcp listener retargeted", after: edit((c) => (c.listeners[1]!.backend = "app")), want: ["listener ~ pg: routes"] },
    {
      name: "backend added",
      after: edit((c) => ((c.backends as Record<string, unknown>).cache = { servers: [{ name: "c1", address: "127.0.0.1:6379" }] })),
      want: ["backend + cache"],
    },
    {
      name: "backend removed with its route",
      after: edit((c) => {
        c.listeners[0]!.routes = [{ backend: "app" }];
        delete (c.backends as Partial<typeof c.backends>).api;
      }),
      want: ["listener ~ web: routes", "backend - api"],
    },
    {
      name: "servers: added, removed, weight changed, address changed",
      after: edit((c) => {
        c.backends.app.servers = [
          { name: "a1", address: "127.0.0.1:3000", weight: 5 },
          { name: "a3", address: "127.0.0.1:3002" },
        ] as never;
        c.backends.db.servers = [{ name: "d1", address: "127.0.0.2:5433" }];
      }),
      want: ["server - app/a2", "server + app/a3", "server ~ app/a1: weight", "server - db/d1", "server + db/d1"],
    },
    {
      name: "backup flag changed in place",
      after: edit((c) => (c.backends.db.servers = [{ name: "d1", address: "127.0.0.1:5433", backup: true }] as never)),
      want: ["server ~ db/d1: backup"],
    },
    {
      name: "backend settings: balance, health, timeouts, rebalance",
      after: edit((c) => {
        Object.assign(c.backends.api, {
          balance: "p2c",
          health: { type: "http", path: "/health" },
          timeouts: { tunnel: "2h" },
          rebalance: { maxSkew: 1.25, rate: 20 },
        });
      }),
      want: ["backend ~ api: balance,health,timeouts,rebalance"],
    },
    {
      name: "settings and servers together",
      after: edit((c) => Object.assign(c.backends.api, { drainTimeout: "5s", servers: [{ name: "p2", address: "10.0.0.2:80" }] })),
      want: ["backend ~ api: drainTimeout", "server - api/p1", "server + api/p2"],
    },
    {
      name: "a server renamed is another server",
      after: edit((c) => (c.backends.db.servers = [{ name: "d9", address: "127.0.0.1:5433" }])),
      want: ["server - db/d1", "server + db/d9"],
    },
  ];
  const before = load(BASE);
  for (const c of cases) {
    const d = diffConfig(before, c.after);
    assert.deepEqual(summary(d), c.want, c.name);
    assert.equal(isEmptyDiff(d), c.want.length === 0, `${c.name}: isEmptyDiff`);
  }
});

test("diffConfig: changes carry both versions; the reverse diff swaps added and removed", () => {
  const before = load(BASE);
  const after = edit((c) => {
    c.listeners.pop();
    c.backends.app.servers.push({ name: "a3", address: "127.0.0.1:3002" });
  });
  const d = diffConfig(before, after);
  assert.equal(d.listeners.removed[0], before.listeners[1]);
  const app = d.backends.changed[0]!;
  assert.equal(app.before, before.backends.app);
  assert.equal(app.after, after.backends.app);
  assert.deepEqual(app.servers.added, [{ name: "a3", address: { host: "127.0.0.1", port: 3002 }, weight: 1, backup: false }]);
  assert.deepEqual(summary(diffConfig(after, before)), ["listener + pg", "server - app/a3"]);
});

test("deepEqual: plain config data", () => {
  const cases: [unknown, unknown, boolean][] = [
    [1, 1, true],
    [1, "1", false],
    [NaN, NaN, true],
    [null, undefined, false],
    [null, {}, false],
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [[1, 2], [2, 1], false],
    [[], {}, false],
    [{ a: { b: 1 } }, { a: { b: 2 } }, false],
    [[1, [2]], [1, [2]], true],
    [{}, 1, false], // an object is never equal to a primitive, even one with no keys
    [[1, 2], [1, 3], false], // every element must match, not some
    [[undefined], [], false], // arrays compare lengths, not keys
  ];
  for (const [a, b, want] of cases) {
    assert.equal(deepEqual(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(deepEqual(b, a), want, "symmetric");
  }
});
