import type { AddressInfo } from "node:net";
import type { Config } from "../config/types.ts";
import type { HealthRecord } from "../core/health/state.ts";
import type { Backend } from "../gateway/backend.ts";
import { DataPlane } from "../gateway/data-plane.ts";
import type { ClientSession } from "../gateway/http/downstream.ts";
import type { TimerWheel } from "../gateway/timer-wheel.ts";
import type { Tunnel } from "../gateway/tunnel/tunnel.ts";
import type { Logger } from "../log.ts";
import { ControlPlane, type ReloadReport, type ServerAction } from "./plane.ts";

/**
 * How this gateway process takes part (defaults: one process doing everything).
 *
 * @example
 * new Gateway(config, log, { reusePort: true, activeChecks: false, share: 1 / 2 }); // a worker of 2
 */
export interface GatewayOptions {
  /** Replaces the default access-log destination (stdout), e.g. in tests. */
  readonly accessLog?: Logger;
  /** Each worker binds its own listening socket (SO_REUSEPORT): the kernel spreads connections. */
  readonly reusePort?: boolean;
  /** Run active health checks here (false in workers: the primary runs them). */
  readonly activeChecks?: boolean;
  /** This process's share of per-server limits (admission): 1/N with N workers. */
  readonly share?: number;
  /** Derives the TLS session ticket keys: the same in every worker, so any worker resumes any session. */
  readonly ticketSecret?: Buffer;
}

/**
 * A gateway in one process: its data plane (`gateway/`: listeners, sessions, tunnels,
 * pools) driven by its control plane (`control/`: checks, drains, rebalancing, admin
 * actions, reloads). The package's public entry.
 *
 * @example
 * const gw = new Gateway(config, logger);
 * await gw.start();
 * gw.address("web"); // { address: "127.0.0.1", port: 8080, family: "IPv4" }
 * await gw.reload(newConfig); // applied in place; established connections untouched
 * await gw.shutdown();        // graceful: finish requests, spread tunnel closes
 */
export class Gateway {
  readonly data: DataPlane;
  readonly control: ControlPlane;

  constructor(config: Config, log?: Logger, opts: GatewayOptions = {}) {
    this.data = new DataPlane(config, log, opts);
    this.control = new ControlPlane(config, log, this.data, opts);
  }

  /** Starts the checks and binds every listener; rejects (and stops) if one cannot bind. */
  async start(): Promise<void> {
    this.control.start();
    try {
      await this.data.start();
    } catch (err) {
      await this.control.stop();
      throw err;
    }
  }

  get config(): Config {
    return this.control.config;
  }

  get backends(): Map<string, Backend> {
    return this.control.backends;
  }

  get wheel(): TimerWheel {
    return this.data.wheel;
  }

  get sessions(): Set<ClientSession> {
    return this.data.sessions;
  }

  get tunnels(): Set<Tunnel> {
    return this.data.tunnels;
  }

  get health(): ControlPlane["health"] {
    return this.control.health;
  }

  get counters(): ControlPlane["counters"] {
    return this.control.counters;
  }

  /** True from the start of a graceful stop. */
  get stopping(): boolean {
    return this.control.stopping;
  }

  get listenerNames(): string[] {
    return this.data.listenerNames;
  }

  /** The bound address of a listener (useful with port 0). */
  address(listener: string): AddressInfo {
    return this.data.address(listener);
  }

  /** See {@link ControlPlane.serverAction}. */
  serverAction(backend: string, server: string, action: ServerAction, weight?: number): boolean {
    return this.control.serverAction(backend, server, action, weight);
  }

  /** See {@link ControlPlane.applyHealth}. */
  applyHealth(backend: string, server: string, record: HealthRecord, clockOffset: number): void {
    this.control.applyHealth(backend, server, record, clockOffset);
  }

  /** See {@link ControlPlane.reload}. */
  reload(next: Config): Promise<ReloadReport> {
    return this.control.reload(next);
  }

  /** See {@link ControlPlane.shutdown}. */
  shutdown(delay?: number, timeout?: number): Promise<void> {
    return this.control.shutdown(delay, timeout);
  }

  /** Stops at once: closes listeners, sessions, tunnels and pooled connections. */
  stop(): Promise<void> {
    return this.control.stop();
  }
}
