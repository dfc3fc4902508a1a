import type { Balancer, PickContext } from "./types.ts";

/**
 * Test helpers for the balancing policies: a seeded PRNG, mutable test servers and a
 * virtual-clock simulation that drives `pick`/`onStart`/`onEnd` the way a proxy does.
 * PURE; used by the tests and the micro-benchmark only.
 *
 * @example
 * const servers = makeServers([5, 3, 1]);
 * const picks = simulate({ balancer, servers, requests: 900, random: mulberry32(1) });
 */

/**
 * mulberry32: a tiny, fast 32-bit seeded PRNG, uniform in [0, 1). Good enough for
 * simulations, not for anything secret.
 *
 * @example
 * const random = mulberry32(42);
 * random(); // same sequence for the same seed, on every run
 */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A mutable server a test can bring down, reweight or load. Assignable to `ServerView`.
 *
 * @example
 * const s: TestServer = { index: 0, name: "a", weight: 1, available: true, active: 0 };
 * s.available = false;
 */
export interface TestServer {
  index: number;
  name: string;
  weight: number;
  available: boolean;
  active: number;
}

/**
 * Servers named `a`, `b`, `c`, ... (then `s26`, `s27`, ...) with the given weights, all
 * available and idle.
 *
 * @example
 * makeServers([5, 3, 1]).map((s) => s.name); // ["a", "b", "c"]
 */
export function makeServers(weights: readonly number[]): TestServer[] {
  return weights.map((weight, index) => ({ index, name: serverName(index), weight, available: true, active: 0 }));
}

/**
 * The name {@link makeServers} gives to position `i`.
 *
 * @example
 * serverName(1); // "b"
 */
export function serverName(i: number): string {
  return i < 26 ? String.fromCharCode(97 + i) : `s${i}`;
}

/**
 * A pick context.
 *
 * @example
 * b.pick(servers, pickCtx("user-1", 0, mulberry32(1)));
 */
export function pickCtx(key: string | undefined, now: number, random: () => number): PickContext {
  return { key, now, random };
}

/**
 * Counts of picks per server name (`""` counts the `undefined` picks).
 *
 * @example
 * tally(["a", "b", "a"]); // Map { "a" => 2, "b" => 1 }
 */
export function tally(names: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
  return m;
}

/**
 * Options of {@link simulate}. Time is virtual, in ms.
 *
 * @example
 * const o: SimOptions = { balancer, servers, requests: 1000, random: mulberry32(7) };
 */
export interface SimOptions {
  readonly balancer: Balancer;
  readonly servers: readonly TestServer[];
  readonly requests: number;
  readonly random: () => number;
  /** Time between two arrivals. Default 1. */
  readonly interval?: number;
  /** How long a request to `server` started at `t` lasts (and its latency). Default 0. */
  readonly duration?: (server: TestServer, t: number) => number;
  /** Hash key of request `i`. Default: none. */
  readonly key?: (i: number) => string | undefined;
  /** Called before request `i` is placed, to change the servers mid-run. */
  readonly before?: (i: number, t: number) => void;
  /** Start of the virtual clock. Default 0. */
  readonly start?: number;
}

interface Pending {
  end: number;
  start: number;
  server: TestServer;
}

/**
 * Drives a balancer like a proxy: request `i` arrives at `start + i × interval`; the
 * chosen server's `active` goes up and `onStart` is called; when its duration has
 * elapsed, `active` goes down and `onEnd(server, duration, true, end)` is called (before
 * any arrival at or after that time). Returns the chosen server's name per request
 * (`""` for `undefined`). All requests are ended before it returns.
 *
 * @example
 * const picks = simulate({ balancer, servers, requests: 3000, random: mulberry32(1),
 *   duration: (s) => (s.name === "c" ? 100 : 10) });
 */
export function simulate(o: SimOptions): string[] {
  const interval = o.interval ?? 1;
  const start = o.start ?? 0;
  const heap: Pending[] = [];
  const out: string[] = [];
  const finish = (until: number): void => {
    while (heap.length > 0 && heap[0]!.end <= until) {
      const p = heapPop(heap);
      p.server.active--;
      o.balancer.onEnd?.(p.server, p.end - p.start, true, p.end);
    }
  };
  for (let i = 0; i < o.requests; i++) {
    const t = start + i * interval;
    finish(t);
    o.before?.(i, t);
    const ctx = pickCtx(o.key?.(i), t, o.random);
    const s = o.balancer.pick(o.servers, ctx) as TestServer | undefined;
    if (s === undefined) {
      out.push("");
      continue;
    }
    out.push(s.name);
    s.active++;
    o.balancer.onStart?.(s, ctx);
    heapPush(heap, { end: t + (o.duration?.(s, t) ?? 0), start: t, server: s });
  }
  finish(Infinity);
  return out;
}

function heapPush(h: Pending[], p: Pending): void {
  h.push(p);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (h[parent]!.end <= p.end) break;
    h[i] = h[parent]!;
    i = parent;
  }
  h[i] = p;
}

function heapPop(h: Pending[]): Pending {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.end < h[l]!.end ? r : l;
      if (h[c]!.end >= last.end) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}

/**
 * Share of `keys` keys whose server changes when server `leave` of `weights` leaves,
 * either brought down (`how: "down"`) or dropped from the list (`"removed"`), and the
 * share those keys were on the leaving server (the minimum that must move). With
 * `hold`, every request stays open, so load-aware hash policies see the load build up.
 *
 * @example
 * const { moved, owned } = keyMovement(() => maglev(), [1, 1, 1, 1, 1], 2, "down");
 */
export function keyMovement(
  factory: () => Balancer,
  weights: readonly number[],
  leave: number,
  how: "down" | "removed",
  opts: { readonly keys?: number; readonly hold?: boolean } = {},
): { moved: number; owned: number } {
  const keys = opts.keys ?? 10_000;
  const run = (gone: boolean): string[] => {
    let servers = makeServers(weights);
    if (gone && how === "down") servers[leave]!.available = false;
    if (gone && how === "removed") servers = servers.filter((_, i) => i !== leave);
    return simulate({
      balancer: factory(),
      servers,
      requests: keys,
      random: mulberry32(1),
      key: (i) => `user-${i}`,
      duration: () => (opts.hold ? 1e9 : 0),
    });
  };
  const before = run(false);
  const after = run(true);
  const leaving = serverName(leave);
  let moved = 0;
  let owned = 0;
  for (let i = 0; i < keys; i++) {
    if (before[i] !== after[i]) moved++;
    if (before[i] === leaving) owned++;
  }
  return { moved: moved / keys, owned: owned / keys };
}
