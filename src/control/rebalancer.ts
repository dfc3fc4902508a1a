import { Rebalancer, lifetimeDeadline, newestFirst } from "../core/plan/rebalance.ts";
import type { Logger } from "../log.ts";
import type { Backend } from "../gateway/backend.ts";
import type { TimerWheel } from "../gateway/timer-wheel.ts";
import { CloseCode } from "../protocol/close.ts";
import type { Drainer } from "./drainer.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";

/**
 * Once a second, for backends with `rebalance` or `maxLifetime`: closes the excess
 * tunnels of servers holding more than `maxSkew` × their weighted fair share (newest
 * first, at most `rate` per second; the decision is the pure `core/plan/rebalance.ts`), and
 * tunnels older than their jittered `maxLifetime`. Both close with `1012` so clients
 * reconnect, and land, with the policy, on the less loaded servers.
 *
 * @example
 * const r = new RebalanceRunner(backends, tunnels, drainer, wheel, log);
 * r.start();
 */
export class RebalanceRunner {
  readonly #backends: ReadonlyMap<string, Backend>;
  readonly #tunnels: Set<Tunnel>;
  readonly #drainer: Drainer;
  readonly #wheel: TimerWheel;
  readonly #log: Logger | undefined;
  /**
   * Per backend, its rate window and the settings it was made with. Weak: a backend a
   * reload removed goes with its window.
   */
  readonly #rebalancers = new WeakMap<Backend, { readonly maxSkew: number; readonly rate: number; readonly r: Rebalancer }>();
  readonly #lifetimes = new WeakMap<Tunnel, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(backends: ReadonlyMap<string, Backend>, tunnels: Set<Tunnel>, drainer: Drainer, wheel: TimerWheel, log?: Logger) {
    this.#backends = backends;
    this.#tunnels = tunnels;
    this.#drainer = drainer;
    this.#wheel = wheel;
    this.#log = log;
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => this.tick(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    // No guard: clearInterval takes undefined (never started) or a cleared timer.
    clearInterval(this.#timer);
  }

  tick(): void {
    const now = this.#wheel.clock();
    let byBackend: Map<Backend, Tunnel[]> | undefined;
    for (const b of this.#backends.values()) {
      const cfg = b.config;
      if (cfg.rebalance === undefined && cfg.maxLifetime === 0) continue;
      byBackend ??= this.#group();
      const tunnels = byBackend.get(b) ?? [];
      if (cfg.maxLifetime > 0) this.#expireLifetimes(b, tunnels, now);
      if (cfg.rebalance !== undefined) this.#rebalance(b, tunnels, now);
    }
  }

  #group(): Map<Backend, Tunnel[]> {
    const m = new Map<Backend, Tunnel[]>();
    for (const t of this.#tunnels) {
      if (t.backend === null) continue;
      let list = m.get(t.backend);
      if (list === undefined) m.set(t.backend, (list = []));
      list.push(t);
    }
    return m;
  }

  #expireLifetimes(b: Backend, tunnels: readonly Tunnel[], now: number): void {
    const old: Tunnel[] = [];
    for (const t of tunnels) {
      let at = this.#lifetimes.get(t);
      if (at === undefined) this.#lifetimes.set(t, (at = lifetimeDeadline(t.openedAt, b.config.maxLifetime, this.#drainer.random)));
      if (now >= at) old.push(t);
    }
    if (old.length > 0) {
      this.#drainer.closeNow(old, CloseCode.SERVICE_RESTART, 250);
      this.#log?.info({ backend: b.name, tunnels: old.length }, "maxLifetime reached");
    }
  }

  #rebalance(b: Backend, tunnels: readonly Tunnel[], now: number): void {
    const { maxSkew, rate } = b.config.rebalance!;
    let w = this.#rebalancers.get(b);
    // A reload updates a kept backend in place, config and all: other settings start a
    // new window under them, the same ones keep the window (and its spent budget).
    if (w === undefined || w.maxSkew !== maxSkew || w.rate !== rate) this.#rebalancers.set(b, (w = { maxSkew, rate, r: new Rebalancer({ maxSkew, rate }) }));
    const perServer = new Map<string, { id: Tunnel; openedAt: number }[]>();
    for (const t of tunnels) {
      const name = t.server!.name;
      let list = perServer.get(name);
      if (list === undefined) perServer.set(name, (list = []));
      list.push({ id: t, openedAt: t.openedAt });
    }
    const servers = b.servers.map((s) => ({ name: s.name, weight: s.weight, available: s.up, tunnels: perServer.get(s.name)?.length ?? 0 }));
    const plan = w.r.plan(servers, now);
    for (const c of plan) {
      // The plan closes only on a server holding tunnels: it has its list.
      const victims = newestFirst(perServer.get(c.name)!, c.count);
      this.#drainer.closeNow(victims, CloseCode.SERVICE_RESTART, 250);
      this.#log?.info({ backend: b.name, server: c.name, closed: victims.length }, "rebalance");
    }
  }
}
