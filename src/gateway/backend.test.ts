// The selector (Backend.select) under a fake clock: the policy's order, backups only
// while no primary is up, maxConn and the queue's "saturated", passive ejection and its
// expiry, cookie stickiness (issued, honoured, a tampered cookie replaced), hash keys,
// the servers a retry excludes, and admission's token bucket; source stickiness, the
// pools' TLS, the logs and events it emits, and the queue's tries on refresh. A reload's
// update of the backend is backend-update.test.ts's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { maintenance } from "../core/health/state.ts";
import type { Logger } from "../log.ts";
import { Backend } from "./backend.ts";
import { T0, backend, view } from "./backend.kit.ts";
import { events, on, type ServerEjected } from "./diagnostics.ts";
import type { UpstreamServer } from "./upstream.ts";

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

test("selector: a backup takes over when the retry excludes every primary, not while a primary is up but full (maxConn)", () => {
  const full = backend("balance: round-robin\nmaxConn: 1\nqueueTimeout: 1s", ["a", "b", "x!"]).b;
  for (const s of [full.select(view(), false, T0)!, full.select(view(), false, T0)!]) full.begin(s);
  assert.equal(full.select(view(), false, T0), undefined, "a and b full: the request queues for them");
  const { b } = backend("balance: round-robin", ["a", "b", "x!"]);
  assert.deepEqual([b.primaries, b.backups].map((l) => l.map((s) => s.name)), [["a", "b"], ["x"]]);
  assert.equal(b.select(view(), false, T0, b.primaries)?.name, "x", "a and b excluded by the retry");
});

test("selector: a backend's tls reaches its servers' pools; without tls they connect in clear", () => {
  const tls = backend("tls: { verify: false, servername: api.internal }", ["a"]).b;
  assert.deepEqual(tls.servers[0]!.pool.tls, { ca: undefined, rejectUnauthorized: false, servername: "api.internal" });
  assert.equal(backend("", ["a"]).b.servers[0]!.pool.tls, null);
});

test("selector: a policy the registry does not have is refused with its name", () => {
  const { b, wheel } = backend("", ["a"]);
  assert.throws(() => new Backend({ ...b.config, balance: "nope" } as unknown as typeof b.config, wheel), { message: "balancing policy nope is not available" });
});

test("selector: bounded-hash takes the backend's hashBalanceFactor: at 100 a key's server holding the one active connection passes the next to another", () => {
  const { b } = backend("balance: bounded-hash\nhashKey: header:X-User\nhashBalanceFactor: 100", ["a", "b"]);
  const alice = view("10.0.0.1", { "x-user": "alice" });
  const first = b.select(alice, false, T0)!;
  b.begin(first);
  // Capacity ⌈1.00 × (1 + 1) / 2⌉ = 1 per server: first is at it (at 125, 2: it would stay).
  assert.notEqual(b.select(alice, false, T0), first);
});

test("selector: the sticky cookie is Secure on a TLS connection only", () => {
  const { b } = backend("sticky: { cookie: HF_SRV, ttl: 1h, secret: s3cret-s3cret-s3cret }");
  b.select(view(), true, T0);
  assert.match(b.setCookie!, /; Secure/);
  b.select(view(), false, T0);
  assert.doesNotMatch(b.setCookie!, /Secure/);
});

test("selector: source stickiness sends one client address to one server, and others elsewhere", () => {
  const { b } = backend("balance: round-robin\nsticky: { source: true, ttl: 30m }");
  const first = b.select(view("10.0.0.1"), false, T0)!;
  assert.equal(b.select(view("10.0.0.2"), false, T0) !== first, true, "round-robin places the second client elsewhere");
  for (let i = 0; i < 4; i++) assert.equal(b.select(view("10.0.0.1"), false, T0), first);
  assert.equal(b.setCookie, undefined);
});

test("selector: with cookie stickiness a backup takes over when every primary is down, with a cookie naming it", () => {
  const { b } = backend("sticky: { cookie: HF_SRV, ttl: 1h, secret: s3cret-s3cret-s3cret }", ["a", "x!"]);
  maintenance(b.primaries[0]!.health, T0);
  b.refresh(T0);
  assert.equal(b.select(view(), false, T0)?.name, "x");
  const cookie = b.setCookie!.slice(0, b.setCookie!.indexOf(";"));
  assert.equal(b.select(view("10.9.9.9", { cookie }), false, T0)?.name, "x");
});

test("selector: a request without the hash key is logged at debug (round-robin for it); one with it is not; without a logger it is served all the same", () => {
  const logged: unknown[] = [];
  const log = { debug: (fields: unknown, msg: string) => logged.push([fields, msg]) } as unknown as Logger;
  const { b } = backend("balance: maglev\nhashKey: header:X-User", ["a", "b"], log);
  b.select(view("10.0.0.1", { "x-user": "alice" }), false, T0);
  assert.deepEqual(logged, []);
  assert.notEqual(b.select(view(), false, T0), undefined);
  assert.deepEqual(logged, [[{ backend: "b", hashKey: b.config.hashKey }, "no hash key in the request: round-robin for this one"]]);
  const quiet = backend("balance: maglev\nhashKey: header:X-User", ["a", "b"]).b;
  assert.notEqual(quiet.select(view(), false, T0), undefined);
});

test("selector: admission without settings admits all; with N workers each takes 1/N of the rate and burst; new settings start a new bucket, the same ones keep it", () => {
  const open = backend("", ["a"]).b;
  assert.deepEqual([0, 0, 0].map(() => open.admit(open.servers[0]!, T0)), [0, 0, 0]);
  const { b } = backend("admission: { rate: 2, burst: 4 }", ["a"], undefined, 0.5);
  const a = b.servers[0]!;
  assert.deepEqual([b.admit(a, T0), b.admit(a, T0), b.admit(a, T0)], [0, 0, 1000], "burst 2 at 1/s");
  b.config = { ...b.config, admission: { rate: 2, burst: 4 } };
  assert.equal(b.admit(a, T0), 1000, "the same settings: still empty");
  b.config = { ...b.config, admission: { rate: 4, burst: 4 } };
  assert.deepEqual([b.admit(a, T0), b.admit(a, T0), b.admit(a, T0)], [0, 0, 500], "a new rate, a new bucket: burst 2 at 2/s");
  b.config = { ...b.config, admission: { rate: 4, burst: 8 } };
  assert.deepEqual([b.admit(a, T0), b.admit(a, T0), b.admit(a, T0), b.admit(a, T0), b.admit(a, T0)], [0, 0, 0, 0, 500], "a new burst, a new bucket: burst 4");
});

test("selector: saturated only with maxConn, and only for a server that is up", () => {
  const free = backend("balance: round-robin", ["a"]).b;
  free.begin(free.servers[0]!);
  assert.equal(free.saturated, false, "no maxConn: never saturated");
  const { b } = backend("balance: round-robin\nmaxConn: 1\nqueueTimeout: 1s", ["a", "b"]);
  const [a, bb] = b.servers as [UpstreamServer, UpstreamServer];
  b.begin(a);
  maintenance(a.health, T0);
  b.refresh(T0);
  assert.equal(b.saturated, false, "the full server is down, the other free");
  b.begin(bb);
  assert.equal(b.saturated, true);
});

test("selector: begin and end count a server's requests and active ones", () => {
  const { b } = backend("", ["a"]);
  const a = b.servers[0]!;
  b.begin(a);
  b.begin(a);
  assert.deepEqual([a.active, a.stats.requests], [2, 2]);
  b.end(a, 5, true, T0);
  assert.deepEqual([a.active, a.stats.requests], [1, 2]);
});

test("selector: passive ejection counts consecutive failures (a success between resets them); without passive, failures are ignored", () => {
  const { b } = backend("balance: round-robin\npassive: { consecutiveFailures: 2, ejectTime: 10s, maxEjectedPercent: 50 }");
  const a = b.servers[0]!;
  b.passiveFailure(a, T0, "connect failed");
  b.passiveSuccess(a);
  b.passiveFailure(a, T0, "connect failed");
  assert.equal(a.stats.ejections, 0);
  assert.equal(a.up, true);
  const off = backend("balance: round-robin").b;
  off.passiveFailure(off.servers[0]!, T0, "connect failed");
  off.passiveFailure(off.servers[0]!, T0, "connect failed");
  assert.equal(off.servers[0]!.stats.ejections, 0);
});

test("selector: an ejection is logged and published with the backend, server, reason and how long", () => {
  const logged: unknown[] = [];
  const log = { warn: (fields: unknown, msg: string) => logged.push([fields, msg]) } as unknown as Logger;
  const { b } = backend("balance: round-robin\npassive: { consecutiveFailures: 1, ejectTime: 10s, maxEjectedPercent: 50 }", ["a", "b"], log);
  const published: ServerEjected[] = [];
  const off = on(events.serverEjected, (m) => void (m.backend === b && published.push(m)));
  try {
    b.passiveFailure(b.servers[0]!, T0, "connect failed");
  } finally {
    off();
  }
  assert.deepEqual(logged, [[{ backend: "b", server: "a", reason: "connect failed", until: 10_000 }, "server ejected"]]);
  assert.deepEqual(published.map((m) => [m.server.name, m.reason, m.forMs]), [["a", "connect failed", 10_000]]);
});

test("selector: refresh gives each queued request one try when some server is available, none while none is; one that left the queue meanwhile is not called", () => {
  const { b } = backend("balance: round-robin", ["a", "b"]);
  const [a, other] = b.servers as [UpstreamServer, UpstreamServer];
  maintenance(a.health, T0);
  maintenance(other.health, T0); // stays out: one available server is enough
  let tries = 0;
  const waiter = { onQueueReady: () => void (tries++, b.queue.push(waiter)) }; // finds nothing: queues again
  b.queue.push(waiter, { onQueueReady: () => void tries++ });
  b.refresh(T0);
  assert.equal(tries, 0, "a and b in maintenance");
  a.health.admin = "enabled";
  b.refresh(T0);
  assert.equal(tries, 2, "one try each, though the first queued again");
  assert.equal(b.queue.length, 1);
  b.queue.length = 0;
  let later = 0;
  const gone = { onQueueReady: () => void later++ };
  // The first one's try ends the second's wait (its client went away, say).
  b.queue.push({ onQueueReady: () => void b.queue.splice(b.queue.indexOf(gone), 1) }, gone);
  b.refresh(T0);
  assert.deepEqual([later, b.queue.length], [0, 0]);
});

test("selector: an outage of every primary with no backup leaves the policy alone (not asked about an empty list): weighted round-robin resumes where it was, with cookie stickiness too", () => {
  for (const sticky of ["", "sticky: { cookie: HF_SRV, ttl: 1h, secret: s3cret-s3cret-s3cret }"]) {
    const make = () => {
      const { b } = backend(`balance: weighted-round-robin\n${sticky}`);
      b.servers[0]!.configWeight = 3;
      b.refresh(T0);
      return b;
    };
    const reference = names(make(), 16);
    const b = make();
    const seen = names(b, 7);
    for (const s of b.servers) maintenance(s.health, T0);
    b.refresh(T0);
    assert.deepEqual(names(b, 2), ["-", "-"], sticky);
    for (const s of b.servers) s.health.admin = "enabled";
    b.refresh(T0);
    assert.deepEqual([...seen, ...names(b, 9)], reference, sticky);
  }
});
