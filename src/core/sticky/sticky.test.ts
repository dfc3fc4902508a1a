import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { PickContext, ServerView } from "../balance/types.ts";
import { createCookieCodec, readCookie, type CookieCodec } from "./cookie.ts";
import { MemoryStickyStore } from "./store.ts";
import type { StickyStore } from "./store.ts";
import { CookieSticky, SourceSticky } from "./sticky.ts";
import type { Fallback, StickyDecision } from "./sticky.ts";

const codec = createCookieCodec({
  key: new TextEncoder().encode("sticky test key"),
  mac: (k, d) => createHmac("sha256", k).update(d).digest(),
});
const ctx: PickContext = { key: undefined, now: 0, random: () => 0 };

interface Srv extends ServerView {
  available: boolean;
  weight: number;
}

function servers(spec: string): Srv[] {
  // "a+ b- c0": + available, - unavailable, 0 available with weight 0
  return spec.split(" ").map((t, index) => ({
    index,
    name: t.slice(0, -1),
    available: !t.endsWith("-"),
    weight: t.endsWith("0") ? 0 : 1,
    active: 0,
  }));
}

/** Picks the first available server with weight > 0 and counts its calls. */
function firstUp(): Fallback & { calls: number } {
  return {
    calls: 0,
    pick(list) {
      this.calls++;
      return list.find((s) => s.available && s.weight > 0);
    },
  };
}

function cookieOf(d: StickyDecision): string | undefined {
  return d.setCookie === undefined ? undefined : readCookie(d.setCookie.slice(0, d.setCookie.indexOf(";")), "HF_SRV");
}

test("cookie sticky: decision table", () => {
  const cases: { name: string; servers: string; cookie: string | undefined; server: string | undefined; issue: boolean; fallback: boolean }[] = [
    { name: "no cookie → fallback, cookie issued", servers: "a+ b+", cookie: undefined, server: "a", issue: true, fallback: true },
    { name: "empty cookie → fallback, cookie issued", servers: "a+ b+", cookie: "", server: "a", issue: true, fallback: true },
    { name: "target up → same, nothing to write", servers: "a+ b+", cookie: codec.encode("api", "b"), server: "b", issue: false, fallback: false },
    { name: "target down → fallback, new cookie", servers: "a+ b-", cookie: codec.encode("api", "b"), server: "a", issue: true, fallback: true },
    { name: "target weight 0 (soft drain) → stays", servers: "a+ b0", cookie: codec.encode("api", "b"), server: "b", issue: false, fallback: false },
    { name: "target removed → fallback, new cookie", servers: "a+ c+", cookie: codec.encode("api", "b"), server: "a", issue: true, fallback: true },
    { name: "tampered → fallback, new cookie", servers: "a+ b+", cookie: codec.encode("api", "b").replace(/.$/, (c) => (c === "A" ? "B" : "A")), server: "a", issue: true, fallback: true },
    { name: "other backend's cookie → fallback, new cookie", servers: "a+ b+", cookie: codec.encode("web", "b"), server: "a", issue: true, fallback: true },
    { name: "garbage → fallback, new cookie", servers: "a+ b+", cookie: "b", server: "a", issue: true, fallback: true },
    { name: "nothing available → none, no cookie", servers: "a- b-", cookie: codec.encode("api", "b"), server: undefined, issue: false, fallback: true },
  ];
  for (const c of cases) {
    const fallback = firstUp();
    const sticky = new CookieSticky({ backend: "api", cookie: "HF_SRV", ttlMs: 3_600_000, secure: false, codec, fallback });
    const list = servers(c.servers);
    const d = sticky.pick(list, c.cookie, ctx);
    assert.equal(d.server?.name, c.server, c.name);
    assert.equal(d.setCookie !== undefined, c.issue, `${c.name}: issue`);
    assert.equal(fallback.calls > 0, c.fallback, `${c.name}: fallback`);
    if (c.issue) {
      assert.equal(codec.decode("api", cookieOf(d)!, list), c.server, `${c.name}: the new cookie names the pick`);
      assert.match(d.setCookie!, /; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
    }
  }
});

test("cookie sticky: a client follows its cookie across requests and after a failover", () => {
  const list = servers("a+ b+ c+");
  let turn = 0;
  const rr: Fallback = {
    pick(l) {
      const up = l.filter((s) => s.available);
      return up[turn++ % up.length];
    },
  };
  const sticky = new CookieSticky({ backend: "api", cookie: "HF_SRV", ttlMs: 60_000, secure: true, codec, fallback: rr });
  const first = sticky.pick(list, undefined, ctx);
  assert.match(first.setCookie!, /; Secure$/);
  const home = first.server!;
  for (let i = 0; i < 5; i++) assert.equal(sticky.pick(list, cookieOf(first), ctx).server, home, "round-robin is bypassed");
  list[home.index]!.available = false;
  const moved = sticky.pick(list, cookieOf(first), ctx);
  assert.notEqual(moved.server, home);
  assert.notEqual(moved.setCookie, undefined);
  list[home.index]!.available = true;
  assert.equal(sticky.pick(list, cookieOf(moved), ctx).server, moved.server, "no flap back once re-issued");
});

test("cookie sticky: re-issued headers are reused, bad cookie names fail at build time", () => {
  const fallback = firstUp();
  const sticky = new CookieSticky({ backend: "api", cookie: "HF_SRV", ttlMs: 1000, secure: false, codec, fallback });
  const list = servers("a+ b+");
  const h1 = sticky.pick(list, undefined, ctx).setCookie;
  const h2 = sticky.pick(list, "junk", ctx).setCookie;
  assert.equal(h1, h2);
  assert.equal(sticky.cookieName, "HF_SRV");
  assert.throws(() => new CookieSticky({ backend: "api", cookie: "bad name", ttlMs: 1000, secure: false, codec, fallback }), TypeError);
});

test("cookie sticky: no lookup without a cookie; one encode per server for its Set-Cookie, up to 1024 servers", () => {
  const calls = { indexOf: 0, encode: 0 };
  const counting: CookieCodec = {
    encode: (b, s) => (calls.encode++, codec.encode(b, s)),
    decode: (b, v, l) => codec.decode(b, v, l),
    indexOf: (b, v, l) => (calls.indexOf++, codec.indexOf(b, v, l)),
  };
  const sticky = new CookieSticky({ backend: "api", cookie: "HF_SRV", ttlMs: 1000, secure: false, codec: counting, fallback: firstUp() });
  const list = servers("a+ b+");
  sticky.pick(list, undefined, ctx);
  sticky.pick(list, "", ctx);
  assert.equal(calls.indexOf, 0, "an absent or empty cookie is not compared with any token");
  sticky.pick(list, "junk", ctx);
  assert.equal(calls.indexOf, 1);
  assert.equal(calls.encode, 1, "three re-issues for a: one encode");
  // 1025 servers re-issued in turn: the header cache, full at 1024 (a and s0..s1022),
  // starts over at s1023, so the first server's header is built again.
  const many = Array.from({ length: 1025 }, (_, i) => ({ index: i, name: `s${i}`, available: true, weight: 1, active: 0 }));
  for (const s of many) sticky.pick([s], undefined, ctx);
  assert.equal(calls.encode, 1026);
  sticky.pick([many[1024]!], undefined, ctx);
  sticky.pick([many[1023]!], undefined, ctx);
  assert.equal(calls.encode, 1026, "the two built since the cache started over are still cached");
  sticky.pick([many[0]!], undefined, ctx);
  assert.equal(calls.encode, 1027, "the first one was dropped with the rest");
});

test("cookie and source sticky: nothing available is exactly { server: undefined, setCookie: undefined }", () => {
  const none = { server: undefined, setCookie: undefined };
  const cookie = new CookieSticky({ backend: "api", cookie: "HF_SRV", ttlMs: 1000, secure: false, codec, fallback: firstUp() });
  assert.deepStrictEqual(cookie.pick(servers("a- b-"), undefined, ctx), none);
  const source = new SourceSticky({ store: new MemoryStickyStore({ ttlMs: 1000, maxEntries: 10 }), fallback: firstUp() });
  assert.deepStrictEqual(source.pick(servers("a- b-"), "192.0.2.1", ctx), none);
  assert.deepStrictEqual(source.pick(servers("a- b-"), "", ctx), none);
});

test("source sticky: decision table", () => {
  const cases: { name: string; servers: string; stored: string | undefined; server: string | undefined; fallback: boolean; after: string | undefined }[] = [
    { name: "unknown client → fallback, remembered", servers: "a+ b+", stored: undefined, server: "a", fallback: true, after: "a" },
    { name: "target up → same, fallback untouched", servers: "a+ b+", stored: "b", server: "b", fallback: false, after: "b" },
    { name: "target weight 0 (soft drain) → stays", servers: "a+ b0", stored: "b", server: "b", fallback: false, after: "b" },
    { name: "target down → fallback, entry overwritten", servers: "a+ b-", stored: "b", server: "a", fallback: true, after: "a" },
    { name: "target removed → fallback, entry overwritten", servers: "a+ c+", stored: "b", server: "a", fallback: true, after: "a" },
    { name: "nothing available → none, entry left alone", servers: "a- b-", stored: "b", server: undefined, fallback: true, after: "b" },
  ];
  for (const c of cases) {
    const store = new MemoryStickyStore({ ttlMs: 1000, maxEntries: 10 });
    if (c.stored !== undefined) store.set("192.0.2.1", c.stored, 0);
    const fallback = firstUp();
    const d = new SourceSticky({ store, fallback }).pick(servers(c.servers), "192.0.2.1", ctx) as StickyDecision;
    assert.equal(d.server?.name, c.server, c.name);
    assert.equal(d.setCookie, undefined, c.name);
    assert.equal(fallback.calls > 0, c.fallback, `${c.name}: fallback`);
    assert.equal(store.get("192.0.2.1", 1), c.after, `${c.name}: stored`);
  }
});

test("source sticky: ttl expiry re-picks; an empty source is never remembered", () => {
  const store = new MemoryStickyStore({ ttlMs: 1000, maxEntries: 10 });
  const fallback = firstUp();
  const sticky = new SourceSticky({ store, fallback });
  const list = servers("a+ b+");
  store.set("192.0.2.1", "b", 0);
  assert.equal((sticky.pick(list, "192.0.2.1", { ...ctx, now: 500 }) as StickyDecision).server?.name, "b");
  assert.equal((sticky.pick(list, "192.0.2.1", { ...ctx, now: 1400 }) as StickyDecision).server?.name, "b", "the hit slid the ttl");
  assert.equal((sticky.pick(list, "192.0.2.1", { ...ctx, now: 2500 }) as StickyDecision).server?.name, "a", "expired");
  assert.equal((sticky.pick(list, "", ctx) as StickyDecision).server?.name, "a");
  assert.equal(store.size, 1);
});

test("source sticky: an async store gives the same decisions; a failing one falls back", async () => {
  const mem = new MemoryStickyStore({ ttlMs: 1000, maxEntries: 10 });
  const asyncStore: StickyStore = {
    get: (k, now) => Promise.resolve(mem.get(k, now)),
    set: (k, s, now) => mem.set(k, s, now),
    delete: (k) => mem.delete(k),
  };
  const list = servers("a+ b+");
  mem.set("192.0.2.1", "b", 0);
  const r = new SourceSticky({ store: asyncStore, fallback: firstUp() }).pick(list, "192.0.2.1", ctx);
  assert.ok(r instanceof Promise);
  assert.equal((await r).server?.name, "b");
  list[1]!.available = false;
  assert.equal((await new SourceSticky({ store: asyncStore, fallback: firstUp() }).pick(list, "192.0.2.1", ctx)).server?.name, "a");
  assert.equal(mem.get("192.0.2.1", 1), "a");

  const broken: StickyStore = { get: () => Promise.reject(new Error("ECONNREFUSED")), set() {}, delete() {} };
  assert.equal((await new SourceSticky({ store: broken, fallback: firstUp() }).pick(list, "192.0.2.1", ctx)).server?.name, "a");
});
