// The selector (Backend.select) under a fake clock: the policy's order, backups only
// while no primary is up, maxConn and the queue's "saturated", passive ejection and its
// expiry, cookie stickiness (issued, honoured, a tampered cookie replaced), hash keys,
// the servers a retry excludes, and admission's token bucket.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestView } from "../core/balance/hash-key.ts";
import { maintenance } from "../core/health/state.ts";
import { loadConfig } from "../config/load.ts";
import { Backend } from "./backend.ts";
import { TimerWheel } from "./timer-wheel.ts";

const T0 = 1_000_000;

/** A backend from YAML (through the real loader) on a wheel whose clock the test owns. */
function backend(extra: string, servers = ["a", "b", "c"]): { b: Backend; wheel: TimerWheel } {
  const yaml = `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] }
backends:
  b:
${extra.split("\n").filter(Boolean).map((l) => `    ${l}`).join("\n")}
    servers:
${servers.map((s, i) => `      - { name: ${s.replace("!", "")}, address: 127.0.0.1:${9001 + i}${s.endsWith("!") ? ", backup: true" : ""} }`).join("\n")}
`;
  const r = loadConfig(yaml, { env: {}, baseDir: "/" });
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  const wheel = new TimerWheel(100, 256, () => T0);
  return { b: new Backend(r.config.backends.b!, wheel), wheel };
}

function view(source = "10.0.0.1", headers: Record<string, string> = {}, target = "/"): RequestView {
  return { source, target, header: (name) => headers[name] };
}

const names = (b: Backend, n: number, v = view(), now = T0): string[] => Array.from({ length: n }, () => b.select(v, false, now)?.name ?? "-");

test("selector: the policy's order; weights; nothing when every server is out", () => {
  assert.deepEqual(names(backend("balance: round-robin").b, 6), ["a", "b", "c", "a", "b", "c"]);
  const w = backend("balance: weighted-round-robin", ["a", "b"]);
  w.b.servers[0]!.configWeight = 3;
  w.b.refresh(T0);
  assert.deepEqual(names(w.b, 4), ["a", "a", "b", "a"]);
  const { b } = backend("balance: round-robin");
  for (const s of b.servers) maintenance(s.health, T0);
  b.refresh(T0);
  assert.deepEqual(names(b, 2), ["-", "-"]);
});

test("selector: backups serve only while no primary is up, and give back", () => {
  const { b } = backend("balance: round-robin", ["a", "b", "x!"]);
  assert.deepEqual(names(b, 4), ["a", "b", "a", "b"]);
  for (const s of b.primaries) maintenance(s.health, T0);
  b.refresh(T0);
  assert.deepEqual(names(b, 3), ["x", "x", "x"]);
  b.primaries[1]!.health.admin = "enabled";
  b.refresh(T0);
  assert.deepEqual(names(b, 2), ["b", "b"]);
});

test("selector: maxConn makes a full server unavailable, and the backend saturated (requests queue)", () => {
  const { b } = backend("balance: round-robin\nmaxConn: 1\nqueueTimeout: 1s", ["a", "b"]);
  const first = b.select(view(), false, T0)!;
  b.begin(first);
  const second = b.select(view(), false, T0)!;
  b.begin(second);
  assert.notEqual(first, second);
  assert.equal(b.select(view(), false, T0), undefined);
  assert.equal(b.saturated, true);
  let ready = 0;
  b.queue.push({ onQueueReady: () => ready++ });
  b.end(first, 5, true, T0 + 5);
  assert.equal(ready, 1, "a freed slot wakes one queued request");
  assert.equal(b.select(view(), false, T0 + 5), first);
});

test("selector: passive ejection takes a server out until ejectTime has passed", () => {
  const { b } = backend("balance: round-robin\npassive: { consecutiveFailures: 2, ejectTime: 10s, maxEjectedPercent: 50 }");
  const a = b.servers[0]!;
  b.passiveFailure(a, T0, "connect failed");
  assert.ok(names(b, 3).includes("a"), "one failure is not enough");
  b.passiveFailure(a, T0, "connect failed");
  assert.deepEqual(names(b, 6).filter((n) => n === "a"), [], "ejected");
  b.refresh(T0 + 9_000);
  assert.deepEqual(names(b, 6, view(), T0 + 9_000).filter((n) => n === "a"), [], "still ejected after 9 s");
  b.refresh(T0 + 10_001);
  assert.ok(names(b, 3, view(), T0 + 10_001).includes("a"), "back after 10 s");
  assert.equal(a.stats.ejections, 1);
});

test("selector: cookie stickiness issues a cookie, honours it, replaces a tampered one", () => {
  const { b } = backend("sticky: { cookie: HF_SRV, ttl: 1h, secret: s3cret-s3cret-s3cret }");
  const first = b.select(view(), false, T0)!;
  const set = b.setCookie!;
  assert.match(set, /^HF_SRV=[A-Za-z0-9_-]+; /);
  const cookie = set.slice(0, set.indexOf(";"));
  for (let i = 0; i < 5; i++) {
    assert.equal(b.select(view("10.9.9.9", { cookie: `theme=dark; ${cookie}` }), false, T0), first);
    assert.equal(b.setCookie, undefined, "no new cookie while the old one holds");
  }
  b.select(view("10.0.0.1", { cookie: `${cookie}x` }), false, T0);
  assert.ok(b.setCookie !== undefined && b.setCookie !== set, "a tampered cookie gets a fresh one");
});

test("selector: a hash key sends one user to one server; a retry's excluded server is skipped", () => {
  const { b } = backend("balance: maglev\nhashKey: header:X-User");
  for (const user of ["alice", "bob", "carol"]) {
    const got = new Set(names(b, 5, view("10.0.0.1", { "x-user": user })));
    assert.equal(got.size, 1, user);
  }
  const alice = b.select(view("10.0.0.1", { "x-user": "alice" }), false, T0)!;
  const retry = b.select(view("10.0.0.1", { "x-user": "alice" }), false, T0, [alice]);
  assert.ok(retry !== undefined && retry !== alice);
  assert.equal(b.select(view("10.0.0.1", { "x-user": "alice" }), false, T0), alice, "the exclusion lasted one pick");
});

test("selector: admission's token bucket refills with the clock", () => {
  const { b } = backend("admission: { rate: 2, burst: 2 }", ["a"]);
  const a = b.servers[0]!;
  assert.deepEqual([b.admit(a, T0), b.admit(a, T0)], [0, 0]);
  assert.equal(b.admit(a, T0), 500, "empty: the next token in 1/rate s");
  assert.equal(b.admit(a, T0 + 500), 0, "one token after 1/rate s");
  assert.equal(b.admit(a, T0 + 500), 500);
});
