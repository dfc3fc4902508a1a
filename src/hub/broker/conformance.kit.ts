import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClientInfo } from "../../protocol/hub.ts";
import { BrokerUnavailableError, type Broker, type BrokerEvents, type BrokerPublication, type HistoryOptions, type PublishResult } from "./types.ts";

/**
 * What {@link runBrokerConformance} needs from one broker implementation: a fresh
 * shared store per test (memory: a `MemoryStore`; redis: a unique key prefix) on which
 * it can open several brokers, the "nodes".
 *
 * @example
 * runBrokerConformance("memory", async () => {
 *   let t = 0; const store = new MemoryStore({ now: () => t });
 *   return { node: () => new MemoryBroker({ store }), advance: async (ms) => void (t += ms), close: async () => {} };
 * });
 */
export interface BrokerHarness {
  /** A new, not started broker on this harness's store. */
  node(): Broker;
  /** Lets `ms` of the broker's time pass (a fake clock moves; a real one is waited for). */
  advance(ms: number): Promise<void>;
  /** Drops the store's state (keys) and anything the harness opened. The suite closes the nodes. */
  close(): Promise<void>;
  /** Simulates the store going away and coming back, when the implementation can. */
  outage?: { begin(): Promise<void>; end(): Promise<void> };
}

/** Options of {@link runBrokerConformance}. */
export interface ConformanceOptions {
  /**
   * A harness whose `outage` works, for the unavailability test (memory: the same as the
   * others; redis: a private redis-server the harness stops and restarts).
   */
  outage?: () => Promise<BrokerHarness>;
}

/** Records a node's events; `until` waits for a condition or fails with a message. */
export class Recorder implements BrokerEvents {
  readonly pubs: { channel: string; pub: BrokerPublication }[] = [];
  readonly joins: { channel: string; who: ClientInfo }[] = [];
  readonly leaves: { channel: string; who: ClientInfo }[] = [];
  readonly states: { up: boolean; reason: string }[] = [];

  publication(channel: string, pub: BrokerPublication): void {
    this.pubs.push({ channel, pub });
  }
  join(channel: string, who: ClientInfo): void {
    this.joins.push({ channel, who });
  }
  leave(channel: string, who: ClientInfo): void {
    this.leaves.push({ channel, who });
  }
  state(up: boolean, reason: string): void {
    this.states.push({ up, reason });
  }

  /** The data of the publications received on `channel`, in arrival order. */
  data(channel: string): string[] {
    return this.pubs.filter((p) => p.channel === channel).map((p) => p.pub.data);
  }

  async until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(5);
    }
  }
}

const H: HistoryOptions = { size: 100, ttlMs: 60_000 };
const who = (client: string, user = `u-${client}`, info?: unknown): ClientInfo => (info === undefined ? { client, user } : { client, user, info });
const offsets = (ps: readonly BrokerPublication[]): number[] => ps.map((p) => p.offset!);
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * The contract every hub broker meets (hono's `runTest({ newRouter })` pattern): each
 * broker's test file calls this with a harness factory. Covers offsets and ordering,
 * epochs, history since/limit, exact trim, history TTL, idempotency (also concurrent),
 * presence join/leave/expiry/touch, live delivery and unsubscribe, two nodes on one
 * store, and (with `opts.outage`) unavailability: rejected publishes that store nothing,
 * `state(false)`/`state(true)`, delivery after the store is back.
 *
 * @example
 * runBrokerConformance("redis", () => redisHarness(process.env.REDIS_URL), { outage: privateRedisHarness });
 */
export function runBrokerConformance(name: string, factory: () => Promise<BrokerHarness>, opts: ConformanceOptions = {}): void {
  /** Runs `body` with started nodes and their recorders; always cleans up. */
  async function withNodes(n: number, body: (nodes: Broker[], rec: Recorder[], h: BrokerHarness) => Promise<void>, make = factory): Promise<void> {
    const h = await make();
    const nodes: Broker[] = [];
    const recs: Recorder[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const b = h.node();
        const r = new Recorder();
        await b.start(r);
        nodes.push(b);
        recs.push(r);
      }
      await body(nodes, recs, h);
    } finally {
      for (const b of nodes) await b.close();
      await h.close();
    }
  }
  const test = (title: string, n: number, body: (nodes: Broker[], rec: Recorder[], h: BrokerHarness) => Promise<void>): void => {
    it(title, () => withNodes(n, body));
  };

  describe(`${name}: broker conformance`, () => {
    test("is up once started and names its type", 1, async ([b]) => {
      assert.equal(b!.up, true);
      assert.equal(b!.type, name);
    });

    test("offsets 1, 2, 3… in one epoch; history in order", 1, async ([b]) => {
      const results: PublishResult[] = [];
      for (let i = 1; i <= 5; i++) results.push(await b!.publish("ch", { data: JSON.stringify({ i }), history: H }));
      assert.deepEqual(results.map((r) => r.offset), [1, 2, 3, 4, 5]);
      assert.equal(new Set(results.map((r) => r.epoch)).size, 1);
      assert.ok(results.every((r) => r.duplicate === false && typeof r.epoch === "string" && r.epoch.length > 0));
      const h = await b!.history("ch", { history: H });
      assert.deepEqual(offsets(h.publications), [1, 2, 3, 4, 5]);
      assert.deepEqual(h.publications.map((p) => p.data), range(1, 5).map((i) => JSON.stringify({ i })));
      assert.ok(h.publications.every((p) => p.epoch === results[0]!.epoch));
      assert.deepEqual(h.position, { offset: 5, epoch: results[0]!.epoch });
    });

    test("concurrent publishes get distinct offsets, delivered in offset order", 2, async ([a, b], [, rb]) => {
      await b!.subscribe("ch");
      const rs = await Promise.all(range(1, 100).map((i) => a!.publish("ch", { data: String(i), history: H })));
      assert.deepEqual(rs.map((r) => r.offset!).sort((x, y) => x - y), range(1, 100));
      await rb!.until("100 publications", () => rb!.pubs.length >= 100);
      assert.deepEqual(rb!.pubs.map((p) => p.pub.offset), range(1, 100));
      // each publication's data is the one its publish call got the offset for
      const byOffset = new Map(rs.map((r, i) => [r.offset!, String(i + 1)]));
      assert.ok(rb!.pubs.every((p) => p.pub.data === byOffset.get(p.pub.offset!)));
      assert.deepEqual(offsets((await a!.history("ch", { history: H })).publications), range(1, 100));
    });

    test("channels have their own offsets and epochs", 1, async ([b]) => {
      const x1 = await b!.publish("x", { data: "1", history: H });
      const y1 = await b!.publish("y", { data: "1", history: H });
      const x2 = await b!.publish("x", { data: "2", history: H });
      assert.deepEqual([x1.offset, y1.offset, x2.offset], [1, 1, 2]);
      assert.notEqual(x1.epoch, y1.epoch);
    });

    test("a channel's first history read creates its epoch at offset 0; publishing keeps it", 1, async ([b]) => {
      const h0 = await b!.history("new", { history: H });
      assert.deepEqual(h0.publications, []);
      assert.equal(h0.position.offset, 0);
      assert.ok(h0.position.epoch.length > 0);
      assert.deepEqual((await b!.history("new", { history: H })).position, h0.position, "stable across reads");
      const r = await b!.publish("new", { data: "1", history: H });
      assert.deepEqual({ offset: r.offset, epoch: r.epoch }, { offset: 1, epoch: h0.position.epoch });
    });

    describe(`${name}: history since/limit`, () => {
      const cases: { title: string; since?: number; limit?: number; expected: number[] }[] = [
        { title: "all", expected: range(1, 10) },
        { title: "since 0", since: 0, expected: range(1, 10) },
        { title: "since 6", since: 6, expected: range(7, 10) },
        { title: "since the top", since: 10, expected: [] },
        { title: "since beyond the top", since: 15, expected: [] },
        { title: "limit 0: the position only", limit: 0, expected: [] },
        { title: "limit 3", limit: 3, expected: [1, 2, 3] },
        { title: "since 4, limit 2", since: 4, limit: 2, expected: [5, 6] },
        { title: "since 8, limit 5", since: 8, limit: 5, expected: [9, 10] },
      ];
      for (const c of cases) {
        test(c.title, 1, async ([b]) => {
          for (let i = 1; i <= 10; i++) await b!.publish("h", { data: String(i), history: H });
          const h = await b!.history("h", { since: c.since, limit: c.limit, history: H });
          assert.deepEqual(offsets(h.publications), c.expected);
          assert.equal(h.position.offset, 10);
        });
      }
    });

    test("exact trim to size", 1, async ([b]) => {
      const small = { size: 5, ttlMs: 60_000 };
      for (let i = 1; i <= 12; i++) await b!.publish("t", { data: String(i), history: small });
      const h = await b!.history("t", { history: small });
      assert.deepEqual(offsets(h.publications), range(8, 12));
      assert.deepEqual(h.publications.map((p) => p.data), ["8", "9", "10", "11", "12"]);
      assert.equal(h.position.offset, 12);
      assert.deepEqual(offsets((await b!.history("t", { since: 2, history: small })).publications), range(8, 12), "since before the kept range");
    });

    test("history expires ttl after the last publication, with its epoch", 1, async ([b], _r, h) => {
      const short = { size: 10, ttlMs: 400 };
      const first = await b!.publish("e", { data: "1", history: short });
      await h.advance(250);
      await b!.publish("e", { data: "2", history: short }); // refreshes the ttl
      await h.advance(250);
      assert.deepEqual(offsets((await b!.history("e", { history: short })).publications), [1, 2], "alive 500 ms after the first");
      await h.advance(600);
      const gone = await b!.history("e", { history: short });
      assert.deepEqual(gone.publications, []);
      assert.equal(gone.position.offset, 0);
      assert.notEqual(gone.position.epoch, first.epoch, "a new epoch");
      const again = await b!.publish("e", { data: "3", history: short });
      assert.deepEqual({ offset: again.offset, epoch: again.epoch }, { offset: 1, epoch: gone.position.epoch });
    });

    test("a channel without history: no offset, nothing stored, still delivered", 2, async ([a, b], [, rb]) => {
      await b!.subscribe("nh");
      const r = await a!.publish("nh", { data: '{"x":1}', history: null });
      assert.deepEqual(r, { duplicate: false });
      await rb!.until("the publication", () => rb!.pubs.length === 1);
      assert.deepEqual(rb!.pubs[0], { channel: "nh", pub: { data: '{"x":1}' } });
    });

    test("publications carry data and info exactly", 2, async ([a, b], [, rb]) => {
      await b!.subscribe("d");
      const data = JSON.stringify({ text: "héllo\nworld \u2028 \"q\" ✓", n: [1, 2.5, null], big: "x".repeat(20_000) });
      const info = who("c1", "alice", { name: "Alice", roles: ["a"] });
      const r = await a!.publish("d", { data, info, history: H });
      await rb!.until("the publication", () => rb!.pubs.length === 1);
      assert.deepEqual(rb!.pubs[0]!.pub, { offset: 1, epoch: r.epoch, data, info });
      const [p] = (await a!.history("d", { history: H })).publications;
      assert.deepEqual(p, { offset: 1, epoch: r.epoch, data, info });
      await a!.publish("d", { data: "2", history: H });
      await rb!.until("the second", () => rb!.pubs.length === 2);
      assert.equal("info" in rb!.pubs[1]!.pub, false, "no info when none was given");
    });

    describe(`${name}: idempotency`, () => {
      test("the same key is applied once and answers the first result", 2, async ([a, b], [, rb]) => {
        await b!.subscribe("i");
        const first = await a!.publish("i", { data: "1", history: H, idempotencyKey: "k1" });
        const again = await b!.publish("i", { data: "other", history: H, idempotencyKey: "k1" });
        assert.deepEqual(again, { offset: first.offset, epoch: first.epoch, duplicate: true });
        const other = await a!.publish("i", { data: "2", history: H, idempotencyKey: "k2" });
        assert.equal(other.offset, 2);
        assert.deepEqual((await a!.history("i", { history: H })).publications.map((p) => p.data), ["1", "2"]);
        await rb!.until("two publications", () => rb!.pubs.length >= 2);
        await a!.publish("i", { data: "3", history: H });
        await rb!.until("three publications", () => rb!.pubs.length >= 3);
        assert.deepEqual(rb!.data("i"), ["1", "2", "3"], "the repeat was not delivered");
      });

      test("keys are per channel", 1, async ([b]) => {
        const x = await b!.publish("ix", { data: "1", history: H, idempotencyKey: "k" });
        const y = await b!.publish("iy", { data: "1", history: H, idempotencyKey: "k" });
        assert.equal(x.duplicate || y.duplicate, false);
      });

      test("concurrent duplicates: one applied, all get its result", 2, async ([a, b]) => {
        const rs = await Promise.all(range(1, 20).map((i) => (i % 2 ? a! : b!).publish("ic", { data: String(i), history: H, idempotencyKey: "same" })));
        assert.equal(rs.filter((r) => !r.duplicate).length, 1);
        assert.ok(rs.every((r) => r.offset === 1 && r.epoch === rs[0]!.epoch));
        assert.equal((await a!.history("ic", { history: H })).publications.length, 1);
      });

      test("a key expires after its ttl", 1, async ([b], _r, h) => {
        const first = await b!.publish("ie", { data: "1", history: H, idempotencyKey: "k", idempotencyTtlMs: 300 });
        assert.equal((await b!.publish("ie", { data: "1", history: H, idempotencyKey: "k", idempotencyTtlMs: 300 })).duplicate, true);
        await h.advance(500);
        const later = await b!.publish("ie", { data: "1", history: H, idempotencyKey: "k", idempotencyTtlMs: 300 });
        assert.deepEqual([later.duplicate, later.offset], [false, first.offset! + 1]);
      });

      test("also on channels without history", 1, async ([b]) => {
        const r1 = await b!.publish("inh", { data: "1", history: null, idempotencyKey: "k" });
        const r2 = await b!.publish("inh", { data: "1", history: null, idempotencyKey: "k" });
        assert.deepEqual([r1.duplicate, r2.duplicate], [false, true]);
      });
    });

    describe(`${name}: live delivery`, () => {
      test("subscribe resolves before publications are delivered; subscribing twice delivers once", 1, async ([b], [r]) => {
        await b!.subscribe("s");
        await b!.subscribe("s");
        await b!.publish("s", { data: "1", history: H });
        await r!.until("the publication", () => r!.pubs.length === 1);
        await b!.publish("s", { data: "2", history: H });
        await r!.until("the second", () => r!.pubs.length === 2);
        await sleep(20);
        assert.deepEqual(r!.data("s"), ["1", "2"]);
      });

      test("nothing before subscribe, nothing after unsubscribe", 1, async ([b], [r]) => {
        await b!.publish("u", { data: "before", history: H });
        await b!.subscribe("u");
        await b!.subscribe("sentinel");
        await b!.publish("u", { data: "during", history: H });
        await r!.until("the publication while subscribed", () => r!.data("u").length === 1);
        await b!.unsubscribe("u");
        await b!.publish("u", { data: "after", history: H });
        await b!.publish("sentinel", { data: "s", history: null });
        await r!.until("the sentinel", () => r!.data("sentinel").length === 1);
        assert.deepEqual(r!.data("u"), ["during"]);
        await b!.unsubscribe("never-subscribed");
      });

      test("two nodes see each other's publications", 2, async ([a, b], [ra, rb]) => {
        await a!.subscribe("n");
        await b!.subscribe("n");
        await a!.publish("n", { data: "from-a", history: H });
        await b!.publish("n", { data: "from-b", history: H });
        await ra!.until("two on a", () => ra!.pubs.length === 2);
        await rb!.until("two on b", () => rb!.pubs.length === 2);
        for (const r of [ra!, rb!]) {
          assert.deepEqual(r.data("n"), ["from-a", "from-b"]);
          assert.deepEqual(r.pubs.map((p) => p.pub.offset), [1, 2]);
        }
        assert.deepEqual((await b!.history("n", { history: H })).position, (await a!.history("n", { history: H })).position);
      });
    });

    describe(`${name}: presence`, () => {
      test("join lists and announces once; leave removes and announces", 2, async ([a, b], [ra, rb]) => {
        await a!.subscribe("p");
        await b!.subscribe("p");
        await a!.join("p", who("c1", "alice", { n: 1 }), 30_000);
        await a!.join("p", who("c1", "alice", { n: 1 }), 30_000); // a refresh, no new join
        await b!.join("p", who("c2", "bob"), 30_000);
        const list = (await b!.presence("p")).sort((x, y) => x.client.localeCompare(y.client));
        assert.deepEqual(list, [who("c1", "alice", { n: 1 }), who("c2", "bob")]);
        for (const r of [ra!, rb!]) await r.until("two joins", () => r.joins.length === 2);
        await b!.leave("p", who("c1", "alice"));
        await b!.leave("p", who("c9", "nobody")); // not there: no event
        for (const r of [ra!, rb!]) await r.until("one leave", () => r.leaves.length === 1);
        await sleep(30);
        for (const r of [ra!, rb!]) {
          assert.deepEqual(r.joins.map((j) => j.who.client), ["c1", "c2"]);
          assert.deepEqual(r.leaves.map((l) => [l.channel, l.who]), [["p", who("c1", "alice", { n: 1 })]]);
        }
        assert.deepEqual(await a!.presence("p"), [who("c2", "bob")]);
        assert.deepEqual(await a!.presence("empty"), []);
      });

      test("entries expire without touch, with a leave event; touch keeps them", 2, async ([a, b], [, rb], h) => {
        // On Redis the clock is real and a slow machine only makes things later: the
        // touch must come before "lives" expires (a margin of 500 ms, 150 ms was once too
        // little: both expired, two leaves), and the check after "dies" expired but
        // before the touched "lives" does (a margin of about 480 ms).
        await b!.subscribe("px");
        await a!.join("px", who("dies"), 1000);
        await a!.join("px", who("lives"), 1000);
        await h.advance(500);
        await a!.touch("px", [who("lives")], 1000);
        await h.advance(520);
        assert.deepEqual((await b!.presence("px")).map((x) => x.client), ["lives"]);
        await rb!.until("the expired entry's leave", () => rb!.leaves.length === 1);
        assert.equal(rb!.leaves[0]!.who.client, "dies");
      });

      test("touch re-adds an entry that expired, announcing it", 2, async ([a, b], [, rb], h) => {
        await b!.subscribe("pr");
        await a!.join("pr", who("c1"), 300);
        await h.advance(500);
        assert.deepEqual(await b!.presence("pr"), []);
        await a!.touch("pr", [who("c1")], 300);
        assert.deepEqual((await b!.presence("pr")).map((x) => x.client), ["c1"]);
        await rb!.until("join, leave, join", () => rb!.joins.length === 2 && rb!.leaves.length === 1);
      });
    });

    test("closed: operations reject", 1, async ([b]) => {
      await b!.close();
      assert.equal(b!.up, false);
      await assert.rejects(b!.publish("c", { data: "1", history: H }));
    });

    if (opts.outage !== undefined) {
      const outage = opts.outage;
      it("unavailable: publishes reject and store nothing, state goes down and up, subscriptions resume", () =>
        withNodes(2, async ([a, b], [ra, rb], h) => {
          assert.ok(h.outage, "the outage harness simulates outages");
          await b!.subscribe("o");
          await a!.publish("o", { data: "1", history: H });
          await h.outage!.begin();
          await ra!.until("state(false) on a", () => ra!.states.some((s) => !s.up));
          assert.equal(a!.up, false);
          await assert.rejects(a!.publish("o", { data: "lost", history: H }), BrokerUnavailableError);
          await assert.rejects(a!.publish("o", { data: "lost", history: H, idempotencyKey: "k" }), BrokerUnavailableError);
          await h.outage!.end();
          // Each node reconnects on its own: a publish on a before a is back is refused.
          await ra!.until("state(true) on a", () => ra!.states.at(-1)?.up === true);
          await rb!.until("state(true) on b", () => rb!.states.at(-1)?.up === true);
          assert.equal(a!.up, true);
          assert.equal(b!.up, true);
          const again = await a!.publish("o", { data: "2", history: H, idempotencyKey: "k" });
          assert.equal(again.duplicate, false, "the key of a publish that failed was not kept");
          assert.deepEqual((await a!.history("o", { history: H })).publications.map((p) => p.data), ["1", "2"]);
          await rb!.until("delivery after the outage", () => rb!.data("o").includes("2"));
        }, outage),
      );
    }
  });
}
