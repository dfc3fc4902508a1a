// A reload applied to a backend in place (Backend.update, retireAll) under a fake clock:
// what a kept server keeps, what an added or removed one becomes, when the policy and
// the sticky key are made anew, and when pooled TLS state is dropped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { maintenance } from "../core/health/state.ts";
import type { Backend } from "./backend.ts";
import type { UpstreamConn } from "./upstream.ts";
import { T0, backend, backendChange, backendConfig, view } from "./backend.kit.ts";

/** Applies the config `extra` + `servers` to `b` as a reload would; returns the removed servers. */
function reload(b: Backend, extra: string, servers: string[], now = T0) {
  const change = backendChange(b.config, backendConfig(extra, servers));
  assert.ok(change !== undefined, "the reload changes the backend");
  return b.update(change, now);
}

const names = (list: readonly { name: string }[]) => list.map((s) => s.name);

test("update: a kept server keeps its object and live state; an added one slow-starts; a removed one is drained, returned and retired until its last request ends", () => {
  const { b } = backend("balance: round-robin\nslowStart: 10s", ["a", "b"]);
  const [a, old] = b.servers;
  b.begin(a!);
  b.begin(old!);
  const removed = reload(b, "balance: round-robin\nslowStart: 10s", ["a", "c"]);
  assert.equal(b.servers[0], a, "a is the same server");
  assert.equal(a!.stats.requests, 1);
  assert.deepEqual(names(removed), ["b"]);
  assert.equal(removed[0], old);
  assert.equal(old!.up, false, "drained");
  assert.deepEqual(names(b.retired), ["b"]);
  const c = b.servers[1]!;
  assert.ok(c.weight < c.configWeight, `c slow-starts: weight ${c.weight} of ${c.configWeight}`);
  b.end(a!, 1, true, T0);
  assert.deepEqual(names(b.retired), ["b"], "a's end does not touch b");
  b.end(old!, 1, true, T0);
  assert.deepEqual(b.retired, [], "b's last request ended");
});

test("update: a kept server takes its new weight and backup flag, and the primaries and backups are split again", () => {
  const { b } = backend("balance: round-robin", ["a", "b", "x!"]);
  const x = b.servers[2]!;
  reload(b, "balance: round-robin", ["a", "b!", "x"]);
  assert.equal(b.servers[2], x);
  assert.deepEqual([names(b.primaries), names(b.backups)], [["a", "x"], ["b"]]);
  const { b: w } = backend("balance: weighted-round-robin", ["a", "b"]);
  const change = backendChange(w.config, { ...w.config, servers: w.config.servers.map((s) => (s.name === "a" ? { ...s, weight: 3 } : s)) })!;
  w.update(change, T0);
  assert.deepEqual([w.servers[0]!.configWeight, w.servers[0]!.weight], [3, 3]);
});

test("update: a change of trust, verification or name drops a kept server's TLS session and pooled connections; the same TLS, or clear text still, keeps them", () => {
  const tls = (t: string) => `tls: { ${t} }`;
  const cases = [
    { from: "verify: true, servername: api.internal", to: "verify: true, servername: api.internal", kept: true },
    { from: "verify: true, servername: api.internal", to: "verify: false, servername: api.internal", kept: false },
    { from: "verify: true, servername: api.internal", to: "verify: true, servername: other.internal", kept: false },
  ];
  for (const c of [...cases, { from: "", to: "", kept: true }]) {
    const { b } = backend(c.from === "" ? "" : tls(c.from), ["a"]);
    const a = b.servers[0]!;
    a.tlsSession = Buffer.from("session");
    let destroyed = false;
    a.idle.push({ deadline: 0, wheelSlot: -1, socket: { destroy: () => void (destroyed = true) } } as unknown as UpstreamConn);
    // A server change as well, so the backend is changed even when the TLS is not.
    reload(b, c.to === "" ? "" : tls(c.to), ["a", "b"]);
    assert.equal(a.tlsSession !== undefined, c.kept, `${c.from} → ${c.to}: the session`);
    assert.deepEqual([a.idle.length, destroyed], c.kept ? [1, false] : [0, true], `${c.from} → ${c.to}: the pooled connection`);
  }
  const ca = (pem: string) => ({ ca: undefined, caPem: pem, verify: true, servername: undefined });
  for (const [from, to, kept] of [[ca("A"), ca("A"), true], [ca("A"), ca("B"), false], [undefined, ca("A"), false], [ca("A"), undefined, false]] as const) {
    const { b } = backend("", ["a"]);
    b.config = { ...b.config, tls: from };
    const a = b.servers[0]!;
    a.pool = { ...a.pool, tls: from === undefined ? null : { ca: from.caPem, rejectUnauthorized: true, servername: undefined } };
    a.tlsSession = Buffer.from("session");
    let destroyed = false;
    a.idle.push({ deadline: 0, wheelSlot: -1, socket: { destroy: () => void (destroyed = true) } } as unknown as UpstreamConn);
    b.update(backendChange(b.config, { ...b.config, tls: to, maxConn: 7 })!, T0);
    assert.equal(a.tlsSession !== undefined, kept, `ca ${from?.caPem} → ${to?.caPem}: the session`);
    assert.deepEqual([a.idle.length, destroyed], kept ? [1, false] : [0, true], `ca ${from?.caPem} → ${to?.caPem}: the pooled connection`);
  }
});

test("update: a new policy instance for a changed field, an added or a removed server; the same one when only a server's weight changed", () => {
  const { b } = backend("balance: round-robin", ["a", "b"]);
  let policy = b.balancer;
  reload(b, "balance: least-conn", ["a", "b"]);
  assert.notEqual(b.balancer, policy, "balance changed");
  assert.equal(b.balancer.name, "least-conn");
  policy = b.balancer;
  reload(b, "balance: least-conn", ["a", "b", "c"]);
  assert.notEqual(b.balancer, policy, "c added");
  policy = b.balancer;
  reload(b, "balance: least-conn", ["a", "b"]);
  assert.notEqual(b.balancer, policy, "c removed");
  policy = b.balancer;
  b.update(backendChange(b.config, { ...b.config, servers: b.config.servers.map((s) => ({ ...s, weight: 5 })) })!, T0);
  assert.equal(b.balancer, policy, "a weight is read at each pick");
});

test("update: a generated sticky key survives a reload (a cookie from before is honoured); a new secret makes one that is not", () => {
  const sticky = "sticky: { cookie: HF_SRV, ttl: 1h }";
  const { b } = backend(`balance: round-robin\n${sticky}`);
  const first = b.select(view(), false, T0)!;
  const cookie = b.setCookie!.slice(0, b.setCookie!.indexOf(";"));
  reload(b, `balance: least-conn\n${sticky}`, ["a", "b", "c"]);
  assert.equal(b.select(view("10.9.9.9", { cookie }), false, T0), first);
  assert.equal(b.setCookie, undefined, "honoured: no new cookie");
  reload(b, "balance: least-conn\nsticky: { cookie: HF_SRV, ttl: 1h, secret: s3cret-s3cret-s3cret }", ["a", "b", "c"]);
  b.select(view("10.9.9.9", { cookie }), false, T0);
  assert.notEqual(b.setCookie, undefined, "signed with the old key: replaced");
});

test("retireAll: every server drained and returned, the backend left without servers, all of them retired", () => {
  const { b } = backend("balance: round-robin", ["a", "b", "x!"]);
  const all = [...b.servers];
  maintenance(all[1]!.health, T0);
  const retired = b.retireAll(T0);
  assert.deepEqual(retired, all);
  assert.ok(all.every((s) => !s.up), "drained");
  assert.deepEqual([b.servers, b.primaries, b.backups], [[], [], []]);
  assert.deepEqual(b.retired, all);
  assert.equal(b.select(view(), false, T0), undefined);
});
