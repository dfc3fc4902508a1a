import type { AddressInfo } from "node:net";
import type { Config } from "../config/types.ts";
import { drain, enable, maintenance, setWeight, type HealthRecord } from "../core/health/state.ts";
import { diffConfig, isEmptyDiff, type ConfigDiff } from "../core/plan/diff.ts";
import { Backend } from "../gateway/backend.ts";
import { newCounters, type Counters, type DataPlane } from "../gateway/data-plane.ts";
import { events, type NamesChanged } from "../gateway/diagnostics.ts";
import { readGauges, type Gauges } from "../gateway/gauges.ts";
import { TimerWheel } from "../gateway/timer-wheel.ts";
import type { LiveEventStream } from "../gateway/http/sse.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";
import type { UpstreamServer } from "../gateway/upstream.ts";
import type { Logger } from "../log.ts";
import { Drainer } from "./drainer.ts";
import { HealthRunner } from "./health-runner.ts";
import { RebalanceRunner } from "./rebalancer.ts";

/**
 * An admin action on a server.
 *
 * @example
 * const a: ServerAction = "drain";
 */
export type ServerAction = "drain" | "enable" | "maintenance" | "weight";

/**
 * What a reload did, for logs and the admin API.
 *
 * @example
 * const r = await control.reload(next);
 * if (r.needsRestart.length > 0) log.warn({ settings: r.needsRestart }, "restart to apply");
 */
export interface ReloadReport {
  readonly changed: boolean;
  readonly diff: ConfigDiff;
  /** Top-level settings that only take effect on restart (`workers`, `admin`, `cluster`). */
  readonly needsRestart: readonly string[];
}

/**
 * How the control plane takes part.
 *
 * @example
 * new ControlPlane(config, log, null, { activeChecks: true }); // the primary of workers: N
 */
export interface ControlPlaneOptions {
  /** Run active health checks here (false in workers: the primary runs them and pushes the records). */
  readonly activeChecks?: boolean;
}

const NO_TUNNELS: ReadonlySet<Tunnel> = new Set();
const NO_STREAMS: ReadonlySet<LiveEventStream> = new Set();

/**
 * The control plane of one gateway: the live servers' health and weights, the health
 * checks, the drainer and the rebalancer, admin actions, reloads (diff, then apply)
 * and the graceful stop. It drives a {@link DataPlane} when this process serves
 * traffic; the primary of `workers: N` runs one without (its servers only hold health
 * state and the counters summed from the workers, in {@link mirror}).
 *
 * @example
 * const data = new DataPlane(config, log);
 * const control = new ControlPlane(config, log, data);
 * control.start(); await data.start();
 * control.serverAction("api", "api1", "drain");
 * await control.reload(next);
 * await control.shutdown();
 */
export class ControlPlane {
  config: Config;
  readonly data: DataPlane | null;
  readonly backends: Map<string, Backend>;
  readonly wheel: TimerWheel;
  readonly counters: Counters;
  readonly health: HealthRunner;
  readonly drainer: Drainer;
  readonly rebalancer: RebalanceRunner;
  /** True from the start of a graceful stop (`/healthz` answers 503). */
  stopping = false;
  /** Without a data plane: the workers' gauges, summed (`workers/snapshot.ts`). */
  mirror: Gauges | null = null;
  readonly #log: Logger | undefined;
  readonly #backendFactory: (cfg: Config["backends"][string]) => Backend;

  constructor(config: Config, log: Logger | undefined, data: DataPlane | null, opts: ControlPlaneOptions = {}) {
    this.config = config;
    this.data = data;
    this.#log = log;
    if (data !== null) {
      this.backends = data.backends;
      this.wheel = data.wheel;
      this.counters = data.counters;
      this.#backendFactory = (cfg) => data.newBackend(cfg);
    } else {
      // The primary's servers hold health state, weights and summed counters; no
      // request ever reaches them.
      this.wheel = new TimerWheel(100);
      this.counters = newCounters();
      this.#backendFactory = (cfg) => new Backend(cfg, this.wheel, log);
      this.backends = new Map(Object.values(config.backends).map((b) => [b.name, this.#backendFactory(b)]));
    }
    const tunnels = data?.tunnels ?? (NO_TUNNELS as Set<Tunnel>);
    this.health = new HealthRunner(this.backends, log, 250, opts.activeChecks ?? true);
    this.drainer = new Drainer(tunnels, data?.streams ?? NO_STREAMS, this.wheel, log);
    this.rebalancer = new RebalanceRunner(this.backends, tunnels, this.drainer, this.wheel, log);
  }

  /** Starts the checks, and the rebalancer when there are tunnels to rebalance. */
  start(): void {
    if (this.data === null) this.wheel.start();
    this.health.start();
    if (this.data !== null) this.rebalancer.start();
  }

  /**
   * A listener's address: where the data plane bound it, or (without one) where the
   * workers bind it (the primary resolves port 0 before forking).
   */
  address(listener: string): AddressInfo {
    if (this.data !== null) return this.data.address(listener);
    const cfg = this.config.listeners.find((x) => x.name === listener);
    if (cfg === undefined) throw new Error(`no listener named ${listener}`);
    return { address: cfg.listen.host, port: cfg.listen.port, family: cfg.listen.host.includes(":") ? "IPv6" : "IPv4" };
  }

  /** What is open right now: this process's data plane, or the workers' sum. */
  gauges(): Gauges {
    if (this.data !== null) return readGauges(this.data);
    return this.mirror ?? { servers: new Map(), listeners: new Map(), sessions: 0, tunnels: 0 };
  }

  #find(backend: string, server: string): { b: Backend; s: UpstreamServer } | undefined {
    const b = this.backends.get(backend);
    const s = b?.servers.find((x) => x.name === server);
    return b === undefined || s === undefined ? undefined : { b, s };
  }

  /**
   * Admin actions on a server (the admin API calls these): `drain` (no new requests or
   * tunnels; its tunnels close with 1012 after `drainTimeout`, spread over `drainSpread`,
   * and its event streams end at an event boundary on the same schedule),
   * `maintenance` (out of rotation at once), `enable` (back to what the checks say),
   * `weight` (0–256; `undefined` restores the configured weight). Returns false when the
   * backend or server does not exist; throws RangeError on a bad weight. Publishes
   * `holdfast:admin:action` (the primary forwards it to the workers).
   */
  serverAction(backend: string, server: string, action: ServerAction, weight?: number): boolean {
    const found = this.#find(backend, server);
    if (found === undefined) return false;
    const { b, s } = found;
    const now = this.wheel.clock();
    if (action === "drain") drain(s.health, now);
    else if (action === "maintenance") maintenance(s.health, now);
    else if (action === "enable") enable(s.health, now);
    else setWeight(s.health, weight);
    s.refresh(now, b.config.slowStart);
    if (action === "drain" || action === "maintenance") s.closeIdle();
    if (action === "drain") this.drainer.drain(b, [s]);
    if (action === "enable") this.drainer.cancel(s);
    b.refresh(now);
    this.#log?.info({ backend, server, action, weight }, "admin action");
    if (events.adminAction.hasSubscribers) events.adminAction.publish({ control: this, backend, server, action, weight });
    return true;
  }

  /**
   * Applies what the primary's checks and admin actions decided (in a worker). Passive
   * ejection stays this worker's own; the record's times come from the primary's clock
   * and are shifted by `clockOffset` (primary time − this process's time).
   */
  applyHealth(backend: string, server: string, record: HealthRecord, clockOffset: number): void {
    const found = this.#find(backend, server);
    if (found === undefined) return;
    const h = found.s.health;
    h.admin = record.admin;
    h.checkUp = record.checkUp;
    h.passes = record.passes;
    h.fails = record.fails;
    h.agentWeight = record.agentWeight;
    h.adminWeight = record.adminWeight;
    h.rampStart = record.rampStart - clockOffset;
    h.changedAt = record.changedAt - clockOffset;
    found.s.refresh(this.wheel.clock(), found.b.config.slowStart);
    found.b.refresh(this.wheel.now);
  }

  /**
   * Applies a new, already validated config in place (DESIGN §4 "Reload"): added
   * listeners bind, removed ones stop accepting and their connections close when idle;
   * backends and servers are added, updated or drained; established connections on
   * kept servers are untouched. Rejects (leaving the old config serving) only if an
   * added listener cannot bind. Publishes `holdfast:reload`.
   */
  async reload(next: Config): Promise<ReloadReport> {
    const diff = diffConfig(this.config, next);
    const needsRestart = diff.global.filter((g) => g !== "shutdown");
    if (isEmptyDiff(diff)) return { changed: false, diff, needsRestart };
    const now = this.wheel.clock();
    // New listeners bind before anything else changes, so a bind failure leaves the
    // old config serving.
    const opened = this.data === null ? null : await this.data.openListeners(diff);
    for (const b of diff.backends.added) this.backends.set(b.name, this.#backendFactory(b));
    for (const c of diff.backends.changed) {
      const b = this.backends.get(c.after.name)!;
      const removed = b.update(c, now);
      if (removed.length > 0) this.drainer.drain(b, removed);
    }
    for (const r of diff.backends.removed) {
      const b = this.backends.get(r.name)!;
      this.drainer.drain(b, b.retireAll(now));
      this.backends.delete(r.name);
    }
    if (this.data !== null) this.data.commit(next, diff, opened!);
    this.config = next;
    this.health.sync();
    this.counters.reloads++;
    const listeners = names(diff.listeners);
    const backends = names(diff.backends);
    this.#log?.info({ listeners, backends, needsRestart }, "config reloaded");
    if (events.reload.hasSubscribers) events.reload.publish({ control: this, listeners, backends, needsRestart });
    return { changed: true, diff, needsRestart };
  }

  /**
   * Graceful stop (DESIGN §4 "Stop the gateway"): `stopping` at once (healthz 503);
   * after `delay` the listeners stop accepting; idle keep-alive connections close, busy
   * ones get `Connection: close` on their last response, HTTP/2 ones GOAWAY; event
   * streams (HTTP/1.1 or HTTP/2) end at their next event boundary; tunnels close with
   * 1001 spread over the window; resolves when everything is closed or at `timeout` (then the rest
   * is cut).
   */
  async shutdown(delay = this.config.shutdown.delay, timeout = this.config.shutdown.timeout): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const data = this.data;
    const t0 = performance.now();
    this.#log?.info({ delay, timeout }, "graceful stop");
    await sleep(delay);
    if (data !== null) {
      data.closeListeners();
      data.closeIdle();
      const window = Math.max(0, timeout - (performance.now() - t0));
      // Spread tunnel closes over half of what is left, so clients reconnect (elsewhere)
      // in a trickle and the last closes still finish before the deadline.
      this.drainer.stopAll(window / 2);
      while (data.sessions.size + data.tunnels.size > 0 && performance.now() - t0 < timeout) await sleep(50);
    }
    await this.stop();
  }

  /** Stops at once: the runners, and the data plane (listeners, sessions, tunnels, pools). */
  async stop(): Promise<void> {
    this.drainer.stop();
    this.rebalancer.stop();
    this.health.stop();
    if (this.data !== null) await this.data.stop();
    else this.wheel.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function names(c: { added: readonly { name: string }[]; removed: readonly { name: string }[]; changed: readonly { after: { name: string } }[] }): NamesChanged {
  return { added: c.added.map((x) => x.name), removed: c.removed.map((x) => x.name), changed: c.changed.map((x) => x.after.name) };
}
