import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../gateway/backend.ts";
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

function setup(random = Math.random) {
  const clock = { now: 10_000 };
  const [a, b] = [server("a"), server("b")];
  const backend = { name: "be", config: { drainTimeout: TIMEOUT, drainSpread: SPREAD } } as unknown as Backend;
  const closes = new Map<unknown, number>();
  const tunnel = (s: UpstreamServer) => ({ server: s, closeWith: function (this: unknown) { closes.set(this, clock.now); } }) as unknown as Tunnel;
  const tunnels = new Set([tunnel(a), tunnel(a), tunnel(b)]);
  const streams = new Set([a, a, a, a, b].map((s) => new Stream(s, clock)));
  const drainer = new Drainer(tunnels, streams, { clock: () => clock.now } as TimerWheel, undefined, random);
  /** Ticks every 10 ms over [from, to] of the fake clock. */
  const run = (to: number) => {
    for (; clock.now <= to; clock.now += 10) drainer.tick();
  };
  return { clock, a, b, backend, tunnels, streams, closes, drainer, run };
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
