import type { Balancer, PickContext } from "../balance/types.ts";
import { balancers } from "../balance/registry.ts";
import type { BackendConfig } from "../config/types.ts";
import type { Deadlines } from "./deadlines.ts";
import { UpstreamServer } from "./upstream.ts";

/** Reused per backend so a pick allocates no context object. */
class MutablePickContext implements PickContext {
  key: string | undefined = undefined;
  now = 0;
  random: () => number = Math.random;
}

/**
 * Live state of a backend: its servers (primaries and backups), its balancing policy.
 * A backend *has a* balancer; the policy never sees sockets.
 *
 * @example
 * const server = backend.pick(undefined, wheel.now); // undefined when none is available
 */
export class Backend {
  readonly name: string;
  config: BackendConfig;
  servers: UpstreamServer[];
  primaries: UpstreamServer[];
  backups: UpstreamServer[];
  balancer: Balancer;
  readonly #ctx = new MutablePickContext();

  constructor(config: BackendConfig, wheel: Deadlines) {
    this.name = config.name;
    this.config = config;
    const pool = {
      maxIdle: config.keepAlive.maxIdle,
      idleTimeout: config.keepAlive.idleTimeout,
      connectTimeout: config.timeouts.connect,
    };
    this.servers = config.servers.map((s, i) => {
      const server = new UpstreamServer(i, s, pool, wheel);
      server.maxConn = config.maxConn;
      return server;
    });
    this.primaries = this.servers.filter((s) => !s.backup);
    this.backups = this.servers.filter((s) => s.backup);
    const factory = (balancers as Record<string, ((o: object) => Balancer) | undefined>)[config.balance];
    if (factory === undefined) throw new Error(`balancing policy ${config.balance} is not available`);
    this.balancer = factory({ hashBalanceFactor: config.hashBalanceFactor });
  }

  /**
   * Picks a server for a request or connection. Backups serve only while no primary is
   * available. `exclude` (the servers already tried by this request) is only passed on
   * the retry path, so the common path allocates nothing.
   */
  pick(key: string | undefined, now: number, exclude?: readonly UpstreamServer[]): UpstreamServer | undefined {
    const ctx = this.#ctx;
    ctx.key = key;
    ctx.now = now;
    let list = this.primaries;
    if (exclude !== undefined && exclude.length > 0) list = list.filter((s) => !exclude.includes(s));
    let s = this.balancer.pick(list, ctx) as UpstreamServer | undefined;
    if (s === undefined && this.backups.length > 0) {
      let b = this.backups;
      if (exclude !== undefined && exclude.length > 0) b = b.filter((x) => !exclude.includes(x));
      s = this.balancer.pick(b, ctx) as UpstreamServer | undefined;
    }
    return s;
  }

  /** Reports the start of a request or tunnel on `s` (counts it as active). */
  begin(s: UpstreamServer): void {
    s.active++;
    s.stats.requests++;
    this.balancer.onStart?.(s, this.#ctx);
  }

  /** Reports its end; `latencyMs` is the time to the response head. */
  end(s: UpstreamServer, latencyMs: number, ok: boolean, now: number): void {
    s.active--;
    this.balancer.onEnd?.(s, latencyMs, ok, now);
  }
}
