import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../gateway/backend.ts";
import type { Logger } from "../log.ts";
import type { LiveEventStream } from "../gateway/http/sse.ts";
import type { TimerWheel } from "../gateway/timer-wheel.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import { Drainer } from "./drainer.ts";

// The drainer's own part of a drain, on a fake clock: what it schedules, and what it
// still closes when a moment comes. The spreading is core/plan/drain.ts's (tested there);
// the sockets are the integration tests' (test/integration/sse-drain.test.ts).

const TIMEOUT = 1000;
const SPREAD = 2000;

function server(name: string): UpstreamServer {
  return { name, up: false } as UpstreamServer;
}

/** A fake event stream: records when it was asked to end. */
class Stream implements LiveEventStream {
  readonly listener = "web";
  streamServer: UpstreamServer | null;
  endedAt: number | undefined;
  readonly #clock: { now: number };
  constructor(s: UpstreamServer, clock: { now: number }) {
    this.streamServer = s;
    this.#clock = clock;
  }
  endStream(): void {
    this.endedAt ??= this.#clock.now;
  }
}

function setup(random = Math.random, log?: Logger) {
  const clock = { now: 10_000 };
  const [a, b] = [server("a"), server("b")];
  const backend = { name: "be", config: { drainTimeout: TIMEOUT, drainSpread: SPREAD } } as unknown as Backend;
  const closes = new Map<unknown, number>();
  const calls = new Map<unknown, [code: number, retryAfterMs: number]>();
  const tunnel = (s: UpstreamServer) =>
    ({
      server: s,
      closeWith: function (this: unknown, code: number, retryAfterMs: number) {
        closes.set(this, clock.now);
        calls.set(this, [code, retryAfterMs]);
      },
    }) as unknown as Tunnel;
  const tunnels = new Set([tunnel(a), tunnel(a), tunnel(b)]);
  const streams = new Set([a, a, a, a, b].map((s) => new Stream(s, clock)));
  const drainer = new Drainer(tunnels, streams, { clock: () => clock.now } as TimerWheel, log, random);
  /** Ticks every 10 ms over [from, to] of the fake clock. */
  const run = (to: number) => {
    for (; clock.now <= to; clock.now += 10) drainer.tick();
  };
  return { clock, a, b, backend, tunnels, streams, closes, calls, drainer, run };
}

test("a drain ends the server's event streams on the tunnels' plan: none before drainTimeout, all within drainSpread, spread, others untouched", () => {
  const { clock, a, b, backend, tunnels, streams, closes, drainer, run } = setup();
  try {
    const t0 = clock.now;
    drainer.drain(backend, [a]);
    run(t0 + TIMEOUT + SPREAD + 10);
    const onA = [...streams].filter((x) => x.streamServer === a);
    const times = [...onA.map((x) => x.endedAt!), ...[...tunnels].filter((t) => t.server === a).map((t) => closes.get(t)!)];
    assert.ok(times.every((t) => t !== undefined && t >= t0 + TIMEOUT && t <= t0 + TIMEOUT + SPREAD + 10), times.map((t) => t - t0).join(","));
    // One plan for tunnels and streams: six closes, one per 1/6 of the spread (stratified),
    // so the first and the last are at least four slots apart.
    const sorted = times.sort((x, y) => x - y);
    assert.ok(sorted.at(-1)! - sorted[0]! >= (SPREAD / 6) * 4 - 10, `span ${sorted.at(-1)! - sorted[0]!} ms`);
    assert.equal([...streams].find((x) => x.streamServer === b)!.endedAt, undefined, "b's stream untouched");
    assert.equal(closes.size, 2, "only a's tunnels closed");
  } finally {
    drainer.stop();
  }
});

test("a stream that moved on before its moment (its exchange now streams from elsewhere, or nothing) is left alone", () => {
  const { clock, a, b, backend, streams, drainer, run } = setup();
  try {
    drainer.drain(backend, [a]);
    const [moved, gone] = [...streams];
    moved!.streamServer = b;
    gone!.streamServer = null;
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.equal(moved!.endedAt, undefined);
    assert.equal(gone!.endedAt, undefined);
    assert.equal([...streams].filter((x) => x.endedAt !== undefined).length, 2, "the other two on a ended");
  } finally {
    drainer.stop();
  }
});

test("enabling the server again cancels the ends not yet made; a server up again at its moment keeps its streams", () => {
  const { clock, a, backend, streams, drainer, run } = setup(() => 0.5);
  try {
    const t0 = clock.now;
    drainer.drain(backend, [a]);
    drainer.cancel(a);
    run(t0 + TIMEOUT + SPREAD + 10);
    assert.ok([...streams].every((x) => x.endedAt === undefined), "cancelled");
    drainer.drain(backend, [a]);
    a.up = true; // enabled in a worker before the cancel arrived
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.ok([...streams].every((x) => x.endedAt === undefined), "up again");
  } finally {
    drainer.stop();
  }
});

test("a drain logs the backend, the servers, how many tunnels and streams, drainTimeout and drainSpread", () => {
  const logged: unknown[] = [];
  const log = { info: (fields: unknown, msg: string) => logged.push([fields, msg]) } as unknown as Logger;
  const { backend, a, drainer } = setup(Math.random, log);
  try {
    drainer.drain(backend, [a]);
    assert.deepEqual(logged, [[{ backend: "be", servers: ["a"], tunnels: 2, streams: 4, after: TIMEOUT, spread: SPREAD }, "draining"]]);
  } finally {
    drainer.stop();
  }
});

test("a drain's tunnels close with 1012 and a 250 ms hint jittered by the draw (375 ms at 0.5)", () => {
  const { clock, a, backend, tunnels, calls, drainer, run } = setup(() => 0.5);
  try {
    drainer.drain(backend, [a]);
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.deepEqual([...tunnels].map((t) => calls.get(t)), [[1012, 375], [1012, 375], undefined]);
  } finally {
    drainer.stop();
  }
});

test("a graceful stop closes every tunnel, its server up or not, with 1001 and a 1000 ms hint (1500 ms at 0.5) within the window; one already gone is left alone", () => {
  const { clock, a, tunnels, closes, calls, drainer, run } = setup(() => 0.5);
  try {
    a.up = true; // b stays down
    const t0 = clock.now;
    drainer.stopAll(500);
    const [gone, onUp, onDown] = [...tunnels]; // on a, on a (up), on b (down)
    tunnels.delete(gone!); // closed on its own before its moment
    run(t0 + 510);
    assert.deepEqual([gone, onUp, onDown].map((t) => calls.get(t)), [undefined, [1001, 1500], [1001, 1500]]);
    for (const t of [onUp, onDown]) assert.ok(closes.get(t)! >= t0 && closes.get(t)! <= t0 + 500, `closed at +${closes.get(t)! - t0} ms`);
  } finally {
    drainer.stop();
  }
});

test("at its moment a drained tunnel whose server is up again stays, one that lost its server is closed", () => {
  const { clock, a, backend, tunnels, calls, drainer, run } = setup(() => 0.5);
  try {
    drainer.drain(backend, [a]);
    const [kept, orphan] = [...tunnels] as { server: UpstreamServer | null }[];
    orphan!.server = null;
    a.up = true;
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.equal(calls.get(kept), undefined);
    assert.deepEqual(calls.get(orphan), [1012, 375]);
  } finally {
    drainer.stop();
  }
});

test("a drained stream that ended on its own (left the data plane's set) is not ended again", () => {
  const { clock, a, backend, streams, drainer, run } = setup();
  try {
    drainer.drain(backend, [a]);
    const gone = [...streams][0]!;
    streams.delete(gone);
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.equal(gone.endedAt, undefined);
    assert.equal([...streams].filter((x) => x.endedAt !== undefined).length, 3, "a's three others ended");
  } finally {
    drainer.stop();
  }
});

test("cancel drops only a drain of that server alone: b's own drain, a drain of a and b, and a graceful stop still close", () => {
  const { clock, a, b, backend, tunnels, calls, drainer, run } = setup(() => 0.5);
  try {
    drainer.drain(backend, [b]);
    drainer.drain(backend, [a]);
    drainer.cancel(a);
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.deepEqual([...tunnels].map((t) => calls.get(t)?.[0]), [undefined, undefined, 1012], "b's drain kept, a's dropped");
    calls.clear();
    drainer.drain(backend, [a, b]);
    drainer.cancel(a);
    a.up = true;
    run(clock.now + TIMEOUT + SPREAD + 10);
    assert.deepEqual([...tunnels].map((t) => calls.get(t)?.[0]), [undefined, undefined, 1012], "a and b drained together: kept, a up again");
    calls.clear();
    drainer.stopAll(500);
    drainer.cancel(a);
    run(clock.now + 510);
    assert.deepEqual([...tunnels].map((t) => calls.get(t)?.[0]), [1001, 1001, 1001], "the stop kept");
  } finally {
    drainer.stop();
  }
});

test("the 100 ms timer: none for an empty plan, one for two plans, stopped by the last close and by stop()", (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const { clock, b, backend, drainer } = setup();
  let ticks = 0;
  const tick = drainer.tick.bind(drainer);
  drainer.tick = () => {
    ticks++;
    tick();
  };
  try {
    drainer.drain(backend, [server("c")]); // nothing on c
    t.mock.timers.tick(500);
    assert.equal(ticks, 0, "no timer for an empty plan");
    drainer.drain(backend, [b]);
    drainer.drain(backend, [b]);
    t.mock.timers.tick(100);
    assert.equal(ticks, 1, "one timer for two plans");
    clock.now += TIMEOUT + SPREAD + 10;
    t.mock.timers.tick(100); // both plans done
    t.mock.timers.tick(1000);
    assert.equal(ticks, 2, "stopped after the last close");
    drainer.drain(backend, [b]);
    t.mock.timers.tick(100);
    drainer.stop();
    t.mock.timers.tick(1000);
    assert.equal(ticks, 3, "stopped by stop()");
  } finally {
    drainer.stop();
  }
});
