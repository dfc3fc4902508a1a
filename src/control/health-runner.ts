import type { Backend } from "../gateway/backend.ts";
import { HealthChecker, type CheckRecord } from "../core/health/checker.ts";
import { systemClock } from "./clock.ts";
import { probeFor } from "./probes/index.ts";
import type { Logger } from "../log.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import { events } from "../gateway/diagnostics.ts";

/**
 * Runs the active checks of every backend that has `health:` and keeps the servers'
 * cached verdicts fresh: after every check, and on a coarse tick for what changes with
 * time alone (an ejection ending, a slow-start ramp). Control plane: nothing here runs
 * per request.
 *
 * @example
 * const runner = new HealthRunner(backends, log);
 * runner.start();
 * runner.history(server); // the last checks, for the dashboard
 */
export class HealthRunner {
  readonly #backends: ReadonlyMap<string, Backend>;
  readonly #checkers = new Map<Backend, { checker: HealthChecker<UpstreamServer>; config: unknown; servers: Set<UpstreamServer> }>();
  readonly #log: Logger | undefined;
  readonly #tickMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  readonly #active: boolean;

  /** `activeChecks: false` in data-plane workers: the primary checks and pushes records. */
  constructor(backends: ReadonlyMap<string, Backend>, log?: Logger, tickMs = 250, activeChecks = true) {
    this.#backends = backends;
    this.#log = log;
    this.#tickMs = tickMs;
    this.#active = activeChecks;
  }

  start(): void {
    for (const b of this.#backends.values()) this.#watch(b);
    this.#timer = setInterval(() => this.tick(), this.#tickMs);
    this.#timer.unref();
  }

  #watch(b: Backend): void {
    const health = b.config.health;
    if (health === undefined || !this.#active) return;
    const checker = new HealthChecker<UpstreamServer>({
      config: health,
      probe: probeFor(health, b.config),
      clock: systemClock,
      onTransition: (s, from, to, reason) => {
        s.refresh(performance.now(), b.config.slowStart);
        this.#log?.warn({ backend: b.name, server: s.name, from, to, reason }, "server state changed");
        if (to === "up") b.refresh(performance.now());
        if (events.serverState.hasSubscribers) events.serverState.publish({ backend: b, server: s, from, to, reason });
      },
      onResult: (s: UpstreamServer, r: CheckRecord) => {
        s.refresh(performance.now(), b.config.slowStart);
        if (events.healthChecked.hasSubscribers) events.healthChecked.publish({ backend: b, server: s, ok: r.ok, reason: r.reason });
        if (!r.ok) this.#log?.debug({ backend: b.name, server: s.name, reason: r.reason }, "check failed");
      },
    });
    for (const s of b.servers) checker.add(s);
    this.#checkers.set(b, { checker, config: health, servers: new Set(b.servers) });
  }

  /**
   * After a reload: checks start for new backends, stop for removed ones, restart for a
   * backend whose `health:` changed, and follow added and removed servers otherwise.
   */
  sync(): void {
    const live = new Set(this.#backends.values());
    for (const [b, entry] of this.#checkers) {
      if (!live.has(b) || b.config.health !== entry.config) {
        entry.checker.stop();
        this.#checkers.delete(b);
      }
    }
    for (const b of live) {
      const entry = this.#checkers.get(b);
      if (entry === undefined) {
        this.#watch(b);
        continue;
      }
      const now = new Set(b.servers);
      for (const s of entry.servers) if (!now.has(s)) entry.checker.remove(s);
      for (const s of now) if (!entry.servers.has(s)) entry.checker.add(s);
      entry.servers = now;
    }
  }

  /** Refreshes every server (ejections expire, slow start ramps). */
  tick(): void {
    const now = performance.now();
    for (const b of this.#backends.values()) b.refresh(now);
  }

  /** Recent check results of a server (empty without active checks). */
  history(b: Backend, s: UpstreamServer): readonly CheckRecord[] {
    return this.#checkers.get(b)?.checker.history(s) ?? [];
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const c of this.#checkers.values()) c.checker.stop();
    this.#checkers.clear();
  }
}
