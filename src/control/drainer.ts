import { CloseSchedule, planDrain, spreadCloses } from "../core/plan/drain.ts";
import { jitteredRetryAfter } from "../core/plan/token-bucket.ts";
import type { Logger } from "../log.ts";
import type { Backend } from "../gateway/backend.ts";
import type { LiveEventStream } from "../gateway/http/sse.ts";
import type { TimerWheel } from "../gateway/timer-wheel.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import { CloseCode } from "../protocol/close.ts";


/** What a drain closes: a tunnel, or an event stream (ended at an event boundary). */
type Drained = Tunnel | LiveEventStream;

interface Pending {
  readonly schedule: CloseSchedule<Drained>;
  readonly code: number;
  readonly servers: ReadonlySet<UpstreamServer> | null;
}

/**
 * Closes tunnels on a schedule so their reconnects don't arrive at once: a drained
 * server's tunnels after `drainTimeout`, spread over `drainSpread`, with `1012`; every
 * tunnel on a graceful stop with `1001` over the stop window. A drained server's event
 * streams share its tunnels' plan: each ends at its next event boundary once its moment
 * has come, so EventSource clients reconnect elsewhere (with `Last-Event-ID`), spread
 * out like the WebSocket clients. One coarse timer serves every schedule; the spreading
 * itself is the pure `core/plan/drain.ts`.
 *
 * @example
 * drainer.drain(backend, [server]); // its tunnels close with 1012, its event streams end, spread
 * drainer.cancel(server);           // enabled again: pending closes are dropped
 */
export class Drainer {
  readonly #tunnels: Set<Tunnel>;
  readonly #streams: ReadonlySet<LiveEventStream>;
  readonly #wheel: TimerWheel;
  readonly #log: Logger | undefined;
  readonly #pending: Pending[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly random: () => number;

  /** `streams`: the data plane's event streams (a graceful stop ends them itself, as it closes their listener). */
  constructor(tunnels: Set<Tunnel>, streams: ReadonlySet<LiveEventStream>, wheel: TimerWheel, log?: Logger, random: () => number = Math.random) {
    this.#tunnels = tunnels;
    this.#streams = streams;
    this.#wheel = wheel;
    this.#log = log;
    this.random = random;
  }

  /**
   * Schedules the closes of every tunnel and event stream on `servers` (draining, or
   * removed by a reload): one plan for both, so the reconnects of all of them spread.
   */
  drain(b: Backend, servers: readonly UpstreamServer[]): void {
    const set = new Set(servers);
    const ids: Drained[] = [];
    for (const t of this.#tunnels) if (t.server !== null && set.has(t.server)) ids.push(t);
    const tunnels = ids.length;
    for (const x of this.#streams) {
      const s = x.streamServer;
      if (s !== null && set.has(s)) ids.push(x);
    }
    const now = this.#wheel.clock();
    const plan = planDrain(ids, { start: now, drainTimeout: b.config.drainTimeout, drainSpread: b.config.drainSpread }, this.random);
    this.#add({ schedule: new CloseSchedule(plan), code: CloseCode.SERVICE_RESTART, servers: set });
    this.#log?.info({ backend: b.name, servers: servers.map((s) => s.name), tunnels, streams: ids.length - tunnels, after: b.config.drainTimeout, spread: b.config.drainSpread }, "draining");
  }

  /** Drops pending closes of `server`'s tunnels (the server was enabled again). */
  cancel(server: UpstreamServer): void {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const p = this.#pending[i]!;
      if (p.servers?.has(server) === true && p.servers.size === 1) this.#pending.splice(i, 1);
    }
  }

  /** Graceful stop: every tunnel closes with 1001, spread uniformly over `windowMs`. */
  stopAll(windowMs: number): void {
    const now = this.#wheel.clock();
    const plan = spreadCloses([...this.#tunnels], now, windowMs, this.random);
    this.#add({ schedule: new CloseSchedule(plan), code: CloseCode.GOING_AWAY, servers: null });
  }

  /** Closes tunnels now with `code` (rebalance, lifetime): the caller already rate-limited. */
  closeNow(tunnels: readonly Tunnel[], code: number, retryAfterMs: number): void {
    for (const t of tunnels) t.closeWith(code, jitteredRetryAfter(retryAfterMs, this.random).ms);
  }

  #add(p: Pending): void {
    if (p.schedule.size === 0) return;
    this.#pending.push(p);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.tick(), 100);
      this.#timer.unref();
    }
  }

  /** Closes what is due (runs every 100 ms while something is scheduled). */
  tick(): void {
    const now = this.#wheel.clock();
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const p = this.#pending[i]!;
      for (const x of p.schedule.due(now)) {
        if (this.#tunnels.has(x as Tunnel)) {
          const t = x as Tunnel;
          // A tunnel whose server was enabled again in the meantime stays.
          if (p.servers !== null && t.server !== null && t.server.up) continue;
          // The hint spreads reconnects a little more; the close times already are.
          t.closeWith(p.code, jitteredRetryAfter(p.code === CloseCode.GOING_AWAY ? 1000 : 250, this.random).ms);
        } else if (p.servers !== null && this.#streams.has(x as LiveEventStream)) {
          // Still streaming from a drained server that was not enabled again (the exchange
          // may have moved on to another response since the plan was made): ends now, or
          // right after the event in flight.
          const e = x as LiveEventStream;
          const s = e.streamServer;
          if (s !== null && p.servers.has(s) && !s.up) e.endStream();
        }
      }
      if (p.schedule.size === 0) this.#pending.splice(i, 1);
    }
    if (this.#pending.length === 0) this.stop();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
