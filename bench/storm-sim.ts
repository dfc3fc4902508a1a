// The reconnect-storm simulation behind bench/storm.ts (issue 11, part 10): N clients
// lose their connection at the same instant and come back, each on its own reconnect
// policy, against a hub that accepts handshakes at a finite rate (FIFO) or at any rate.
// Virtual time, deterministic for a given random source; the policies are the real
// code (the SDK's ReconnectPolicy, socket.io-client's own Backoff), only the sockets
// are simulated.

/** What a client does after a drop, after a failed attempt, and once connected. */
export interface ClientPolicy {
  /** The connection dropped at `now` with this close: ms until the first attempt. */
  dropped(now: number, code: number, reason: string): number;
  /** An attempt failed (connect timeout): ms until the next one. */
  failed(now: number): number;
  /** An attempt is about to start. */
  attempting?(now: number): void;
  /** An attempt succeeded. */
  opened(now: number): void;
}

export interface StormOptions {
  clients: number;
  /** The close each client gets at t = 0 (its code and reason). */
  drop: (i: number) => { code: number; reason: string };
  policy: (i: number) => ClientPolicy;
  /** Handshakes per second the hub completes (FIFO); Infinity = every attempt succeeds at once. */
  capacity: number;
  /** A client gives up on an attempt not accepted within this many ms. */
  connectTimeout: number;
  /** Histogram bucket, ms (default 100). */
  bucketMs?: number;
  /** Stop the simulation here (ms), whatever is left (default 10 minutes). */
  horizonMs?: number;
}

export interface StormResult {
  bucketMs: number;
  /** Attempts that reached the hub, per bucket. */
  attempts: number[];
  /** Handshakes completed, per bucket. */
  accepted: number[];
  /** Peak attempts per second (busiest bucket, scaled to 1 s). */
  peakAttemptsPerS: number;
  /** Peak completed handshakes per second. */
  peakAcceptedPerS: number;
  totalAttempts: number;
  /** Handshakes the hub did for clients that had already given up. */
  wasted: number;
  /** When the last client was back (ms), or null if some never were within the horizon. */
  allBackMs: number | null;
  /** Median and 99th percentile of the time each client spent disconnected (ms). */
  p50Ms: number;
  p99Ms: number;
  /** Clients still disconnected at the horizon. */
  stranded: number;
}

/** A binary min-heap of [time, client] events. */
class Events {
  readonly #t: number[] = [];
  readonly #c: number[] = [];
  get size(): number {
    return this.#t.length;
  }
  push(t: number, c: number): void {
    const ts = this.#t;
    const cs = this.#c;
    let i = ts.length;
    ts.push(t);
    cs.push(c);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ts[p]! <= t) break;
      ts[i] = ts[p]!;
      cs[i] = cs[p]!;
      i = p;
    }
    ts[i] = t;
    cs[i] = c;
  }
  pop(): [number, number] {
    const ts = this.#t;
    const cs = this.#c;
    const top: [number, number] = [ts[0]!, cs[0]!];
    const t = ts.pop()!;
    const c = cs.pop()!;
    const n = ts.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && ts[r]! < ts[l]! ? r : l;
        if (ts[m]! >= t) break;
        ts[i] = ts[m]!;
        cs[i] = cs[m]!;
        i = m;
      }
      ts[i] = t;
      cs[i] = c;
    }
    return top;
  }
}

/**
 * Runs one storm and returns its profile.
 *
 * @example
 * const r = simulateStorm({ clients: 10_000, drop: () => ({ code: 1006, reason: "" }), policy: () => holdfastPolicy(Math.random), capacity: Infinity, connectTimeout: 10_000 });
 * r.peakAcceptedPerS;
 */
export function simulateStorm(o: StormOptions): StormResult {
  const bucketMs = o.bucketMs ?? 100;
  const horizon = o.horizonMs ?? 600_000;
  const policies = Array.from({ length: o.clients }, (_, i) => o.policy(i));
  const backAt = new Float64Array(o.clients).fill(-1);
  const attempts: number[] = [];
  const accepted: number[] = [];
  const bump = (h: number[], t: number) => {
    const b = Math.floor(t / bucketMs);
    while (h.length <= b) h.push(0);
    h[b]!++;
  };
  const q = new Events();
  for (let i = 0; i < o.clients; i++) {
    const { code, reason } = o.drop(i);
    q.push(policies[i]!.dropped(0, code, reason), i);
  }
  let hubFree = 0;
  const service = Number.isFinite(o.capacity) ? 1000 / o.capacity : 0;
  let total = 0;
  let wasted = 0;
  while (q.size > 0) {
    const [t, i] = q.pop();
    if (t > horizon) break;
    const p = policies[i]!;
    p.attempting?.(t);
    total++;
    bump(attempts, t);
    // FIFO: the handshake completes when the hub gets to it.
    const done = Math.max(t, hubFree) + service;
    hubFree = done;
    if (done - t <= o.connectTimeout) {
      bump(accepted, done);
      backAt[i] = done;
      p.opened(done);
    } else {
      wasted++;
      const giveUp = t + o.connectTimeout;
      q.push(giveUp + p.failed(giveUp), i);
    }
  }
  const back = [...backAt].filter((x) => x >= 0).sort((a, b) => a - b);
  const pct = (f: number) => (back.length === 0 ? NaN : back[Math.min(back.length - 1, Math.floor(f * back.length))]!);
  const scale = 1000 / bucketMs;
  return {
    bucketMs,
    attempts,
    accepted,
    peakAttemptsPerS: Math.max(0, ...attempts) * scale,
    peakAcceptedPerS: Math.max(0, ...accepted) * scale,
    totalAttempts: total,
    wasted,
    allBackMs: back.length === o.clients ? back[back.length - 1]! : null,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    stranded: o.clients - back.length,
  };
}
