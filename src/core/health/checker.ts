/**
 * Active health-check scheduling, apart from probing (Envoy's HealthCheckerImplBase).
 * One checker per backend owns the interval, the jitter, the timeout, the thresholds
 * and a short history per server; it calls a {@link Probe} and feeds the result to
 * `state.ts`. No `node:*`: timers, clock and randomness come in through a {@link Clock}.
 *
 * @example
 * const checker = new HealthChecker({
 *   config: backend.health, probe: httpProbe(backend.health),
 *   onTransition: (s, from, to, why) => log.info({ server: s.name, from, to, why }),
 * });
 * for (const s of servers) checker.add(s);
 * // later
 * checker.stop();
 */
import type { Address } from "../../config/types.ts";
import type { Probe, ProbeResult } from "./types.ts";
import { isEjected, recordCheck, state, type CheckThresholds, type HealthRecord, type HealthState } from "./state.ts";

/**
 * Timers, clock and randomness, injected so tests drive the checker with a fake clock.
 *
 * @example
 * const clock: Clock = { ...systemClock, random: () => 0.5 }; // no jitter (systemClock: control/clock.ts)
 */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
}

/**
 * What the checker needs of a server: a name, where to probe, and the live record it
 * updates (owned by the caller, shared with the data path).
 *
 * @example
 * const s: CheckedServer = { name: "api1", address: { host: "10.0.1.10", port: 8080 }, health: createHealthRecord(now) };
 */
export interface CheckedServer {
  readonly name: string;
  readonly address: Address;
  readonly health: HealthRecord;
}

/**
 * Scheduling settings; `HealthConfig` satisfies it.
 *
 * @example
 * const cfg: CheckSchedule = { interval: 5000, timeout: 2000, rise: 2, fall: 3, jitter: 0.1 };
 */
export interface CheckSchedule extends CheckThresholds {
  readonly interval: number;
  readonly timeout: number;
  /** Fraction of the interval each gap may vary by (0.1 = ±10 %). */
  readonly jitter: number;
}

/**
 * One entry of a server's check history (for the dashboard).
 *
 * @example
 * checker.history(server).at(-1); // { at: 1234.5, ok: false, latencyMs: 2000, reason: "timeout after 2000ms" }
 */
export interface CheckRecord {
  /** Clock time the check started. */
  readonly at: number;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly reason: string;
  readonly weight?: number;
}

/**
 * Options of a {@link HealthChecker}.
 *
 * @example
 * const opts: HealthCheckerOptions<Server> = { config: backend.health, probe: tcpProbe() };
 */
export interface HealthCheckerOptions<S extends CheckedServer> {
  readonly config: CheckSchedule;
  readonly probe: Probe;
  /** A server's visible state changed because of a check (not reported for admin actions). */
  readonly onTransition?: (server: S, from: HealthState, to: HealthState, reason: string) => void;
  /** Every check, for metrics. */
  readonly onResult?: (server: S, result: CheckRecord) => void;
  readonly clock: Clock;
  /** Results kept per server, default 20. */
  readonly historySize?: number;
}

interface Entry<S> {
  readonly server: S;
  live: boolean;
  timer: unknown;
  timeoutTimer: unknown;
  controller: AbortController | undefined;
  readonly history: CheckRecord[];
  next: number; // ring write position
}

/**
 * Checks the servers of one backend. {@link HealthChecker.add} schedules a server's
 * first check at a random point of the first interval (so a backend's servers, and
 * backends with the same interval, never probe in lockstep); each later check starts
 * `interval ± jitter` after the previous one ended, so checks of one server never
 * overlap. A check that outlives `timeout` is aborted and counted as a failure.
 *
 * Callbacks run after the next check is scheduled; they must not throw.
 *
 * @example
 * const checker = new HealthChecker({ config: { interval: 5000, timeout: 2000, rise: 2, fall: 3, jitter: 0.1 }, probe });
 * checker.add(server);
 * checker.remove(server);
 * checker.stop(); // no timer, no socket left
 */
export class HealthChecker<S extends CheckedServer> {
  readonly #config: CheckSchedule;
  readonly #probe: Probe;
  readonly #clock: Clock;
  readonly #historySize: number;
  readonly #onTransition: HealthCheckerOptions<S>["onTransition"];
  readonly #onResult: HealthCheckerOptions<S>["onResult"];
  readonly #entries = new Map<S, Entry<S>>();
  #stopped = false;

  constructor(opts: HealthCheckerOptions<S>) {
    if (!(opts.config.interval > 0)) throw new RangeError(`interval must be > 0, got ${opts.config.interval}`);
    this.#config = opts.config;
    this.#probe = opts.probe;
    this.#clock = opts.clock;
    this.#historySize = Math.max(1, opts.historySize ?? 20);
    this.#onTransition = opts.onTransition;
    this.#onResult = opts.onResult;
  }

  /**
   * Servers being checked.
   *
   * @example
   * checker.size; // 3
   */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Starts checking `server`; its first check runs at a random offset within one
   * interval. Adding a server twice is a no-op.
   *
   * @throws Error after {@link HealthChecker.stop}.
   * @example
   * checker.add(server);
   */
  add(server: S): void {
    if (this.#stopped) throw new Error("health checker stopped");
    if (this.#entries.has(server)) return;
    const entry: Entry<S> = { server, live: true, timer: undefined, timeoutTimer: undefined, controller: undefined, history: [], next: 0 };
    this.#entries.set(server, entry);
    this.#schedule(entry, this.#clock.random() * this.#config.interval);
  }

  /**
   * Stops checking `server` (its in-flight probe is aborted and its result ignored).
   * Returns false when it was not checked.
   *
   * @example
   * checker.remove(server); // e.g. removed from the config on reload
   */
  remove(server: S): boolean {
    const entry = this.#entries.get(server);
    if (entry === undefined) return false;
    this.#entries.delete(server);
    this.#cancel(entry);
    return true;
  }

  /**
   * The last results for `server`, oldest first (a copy).
   *
   * @example
   * checker.history(server).map((r) => r.ok); // [true, true, false]
   */
  history(server: S): CheckRecord[] {
    const entry = this.#entries.get(server);
    if (entry === undefined) return [];
    const h = entry.history;
    return h.length < this.#historySize ? h.slice() : [...h.slice(entry.next), ...h.slice(0, entry.next)];
  }

  /**
   * Cancels every timer and aborts every probe in flight; nothing is left to keep the
   * process alive. Idempotent.
   *
   * @example
   * process.once("SIGTERM", () => checker.stop());
   */
  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) this.#cancel(entry);
    this.#entries.clear();
  }

  #cancel(entry: Entry<S>): void {
    entry.live = false;
    this.#clock.clearTimeout(entry.timer);
    this.#clock.clearTimeout(entry.timeoutTimer);
    entry.timer = entry.timeoutTimer = undefined;
    entry.controller?.abort();
    entry.controller = undefined;
  }

  #schedule(entry: Entry<S>, delay: number): void {
    entry.timer = this.#clock.setTimeout(() => this.#run(entry), delay);
  }

  #nextDelay(): number {
    const { interval } = this.#config;
    const jitter = Math.min(1, Math.max(0, this.#config.jitter));
    return interval * (1 + jitter * (2 * this.#clock.random() - 1));
  }

  #run(entry: Entry<S>): void {
    entry.timer = undefined;
    const clock = this.#clock;
    const timeout = this.#config.timeout;
    const controller = new AbortController();
    const started = clock.now();
    let settled = false;
    entry.controller = controller;

    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(entry.timeoutTimer);
      entry.timeoutTimer = undefined;
      entry.controller = undefined;
      if (entry.live) this.#complete(entry, started, result);
    };

    entry.timeoutTimer = clock.setTimeout(() => {
      // Settle first, so whatever the aborted probe answers is ignored.
      finish({ ok: false, latencyMs: timeout, reason: `timeout after ${timeout}ms` });
      controller.abort(new DOMException(`timeout after ${timeout}ms`, "TimeoutError"));
    }, timeout);

    let pending: Promise<ProbeResult>;
    try {
      pending = this.#probe(entry.server.address, controller.signal);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(finish, (err: unknown) => {
      finish({ ok: false, latencyMs: clock.now() - started, reason: `probe error: ${err instanceof Error ? err.message : String(err)}` });
    });
  }

  #complete(entry: Entry<S>, started: number, result: ProbeResult): void {
    const now = this.#clock.now();
    const rec = entry.server.health;
    const before = state(rec, now);
    const wasEjected = isEjected(rec, now);
    recordCheck(rec, result.ok, result.weight, this.#config, now);
    const after = state(rec, now);

    const record: CheckRecord = { at: started, ok: result.ok, latencyMs: result.latencyMs, reason: result.reason, weight: result.weight };
    if (entry.history.length < this.#historySize) entry.history.push(record);
    else entry.history[entry.next] = record;
    entry.next = (entry.next + 1) % this.#historySize;

    this.#schedule(entry, this.#nextDelay());
    this.#onResult?.(entry.server, record);
    if (before === after || this.#onTransition === undefined) return;
    const t = this.#config;
    const reason = !result.ok
      ? `${t.fall} consecutive failed checks, last: ${result.reason}`
      : wasEjected && !isEjected(rec, now)
        ? `passing check ended the ejection: ${result.reason}`
        : `${t.rise} consecutive passing checks, last: ${result.reason}`;
    this.#onTransition(entry.server, before, after, reason);
  }
}
