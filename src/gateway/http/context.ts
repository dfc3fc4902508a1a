import type { HttpListenerConfig } from "../../config/types.ts";
import type { Router } from "../routes.ts";
import type { TimerWheel } from "../timer-wheel.ts";
import type { Tunnel } from "../tunnel/tunnel.ts";
import type { ClientSession } from "./downstream.ts";
import type { LiveEventStream } from "./sse.ts";
import type { HttpTunnelOwner } from "./upgrade.ts";

/**
 * What an HTTP listener shares with its sessions, HTTP/2 streams, exchanges and
 * tunnels: one per listener, kept across reloads.
 *
 * @example
 * new HttpSession(attach(socket, destroyOnInput), ctx);
 */
export interface HttpListenerContext {
  /** Replaced in place by a reload (sessions read it per request). */
  cfg: HttpListenerConfig;
  /** Picks the backend of a request; replaced by a reload. */
  router: Router;
  /** The one timer wheel of the data plane (every connection deadline). */
  readonly wheel: TimerWheel;
  /** The listener's open client connections (a graceful stop closes the idle ones). */
  readonly sessions: Set<ClientSession>;
  /** The listener's tunnels (after a 101). */
  readonly tunnels: Set<Tunnel>;
  /** Exchanges streaming an event stream (from its head to its end): a drain ends them. */
  readonly streams: Set<LiveEventStream>;
  /** The data plane's counters this listener adds to (admission refusals, `HF_ERR_*` endings). */
  readonly counters: { admissionRejected: number; readonly errors: Float64Array };
  /** Ends the accounting of the listener's tunnels (created with the first one). */
  tunnelOwner?: HttpTunnelOwner;
  /** The data plane, named as the source of the events published here. */
  readonly plane: object;
}
