import { channel, type Channel } from "node:diagnostics_channel";
import type { HealthState } from "../core/health/state.ts";
import type { AccessRecord } from "./access-log.ts";
import type { Backend } from "./backend.ts";
import type { Tunnel } from "./tunnel/tunnel.ts";
import type { UpstreamServer } from "./upstream.ts";

/**
 * holdfast's events on `node:diagnostics_channel` (undici's `lib/core/diagnostics.js`
 * idea): publishers check `hasSubscribers` first, so an event nobody listens to costs
 * one property read and builds nothing. The access log, the workers' fan-out and the
 * dashboard subscribe; so can an embedding application, cluster mode or the hub, by
 * name. Channels are process-wide: a message names its source (`plane`, `control` or
 * `backend`) so a subscriber can keep to its own gateway when a process runs several.
 * The list, with each message's fields, is in docs/architecture.md#events.
 *
 * @example
 * import { subscribe } from "node:diagnostics_channel";
 * subscribe("holdfast:server:state", (m) => console.log(m)); // { backend: "api", server: "api1", from: "up", to: "down", ... }
 */
export const events = {
  /** An HTTP exchange ended (response complete, failed, or refused); {@link ExchangeFinished}. */
  exchangeFinished: channel("holdfast:exchange:finished") as TypedChannel<ExchangeFinished>,
  /** A tunnel opened (a WebSocket after its 101, or an L4 connection); {@link TunnelEvent}. */
  tunnelOpened: channel("holdfast:tunnel:opened") as TypedChannel<TunnelEvent>,
  /** A tunnel closed; {@link TunnelEvent}. */
  tunnelClosed: channel("holdfast:tunnel:closed") as TypedChannel<TunnelEvent>,
  /** Admission control refused a new connection or upgrade; {@link AdmissionRefused}. */
  admissionRefused: channel("holdfast:admission:refused") as TypedChannel<AdmissionRefused>,
  /** Passive outlier detection ejected a server; {@link ServerEjected}. */
  serverEjected: channel("holdfast:server:ejected") as TypedChannel<ServerEjected>,
  /** An active check changed a server's visible state; {@link ServerStateChanged}. */
  serverState: channel("holdfast:server:state") as TypedChannel<ServerStateChanged>,
  /** An active check finished (its record is what workers apply); {@link HealthChecked}. */
  healthChecked: channel("holdfast:health:checked") as TypedChannel<HealthChecked>,
  /** An admin action was applied to a server; {@link AdminAction}. */
  adminAction: channel("holdfast:admin:action") as TypedChannel<AdminAction>,
  /** A new config was applied; {@link ReloadApplied}. */
  reload: channel("holdfast:reload") as TypedChannel<ReloadApplied>,
} as const;

/**
 * A channel whose messages are `T` (node's `Channel` types them `unknown`).
 *
 * @example
 * const ch: TypedChannel<AdminAction> = events.adminAction;
 */
export interface TypedChannel<T> extends Channel {
  publish(message: T): void;
}

/**
 * Subscribes `fn` to a channel; returns the unsubscribe function.
 *
 * @example
 * const off = on(events.adminAction, (m) => forward(m));
 * off();
 */
export function on<T>(ch: TypedChannel<T>, fn: (message: T) => void): () => void {
  const listener = (m: unknown) => fn(m as T);
  ch.subscribe(listener);
  return () => void ch.unsubscribe(listener);
}

/**
 * `holdfast:exchange:finished`: the exchange's access record (built only while the
 * channel has subscribers).
 *
 * @example
 * on(events.exchangeFinished, ({ record }) => log.info(record));
 */
export interface ExchangeFinished {
  /** The data plane that served it (a `DataPlane`). */
  readonly plane: object;
  readonly record: AccessRecord;
}

/**
 * `holdfast:tunnel:opened` / `holdfast:tunnel:closed`. On close, `record` is the access
 * record of the upgrade that opened it (null for L4 tunnels or when nobody listened).
 *
 * @example
 * on(events.tunnelClosed, ({ tunnel }) => console.log(tunnel.bytesIn, tunnel.bytesOut));
 */
export interface TunnelEvent {
  readonly plane: object;
  readonly tunnel: Tunnel;
  readonly record: AccessRecord | null;
}

/**
 * `holdfast:admission:refused`.
 *
 * @example
 * on(events.admissionRefused, (m) => console.log(m.backend.name, m.server.name, m.websocket));
 */
export interface AdmissionRefused {
  readonly plane: object;
  readonly listener: string;
  readonly backend: Backend;
  readonly server: UpstreamServer;
  /** A WebSocket upgrade (answered 101 then 1013) rather than an HTTP request (503) or an L4 connection. */
  readonly websocket: boolean;
}

/**
 * `holdfast:server:ejected`.
 *
 * @example
 * on(events.serverEjected, (m) => console.log(m.server.name, m.reason, m.forMs));
 */
export interface ServerEjected {
  readonly backend: Backend;
  readonly server: UpstreamServer;
  readonly reason: string;
  readonly forMs: number;
}

/**
 * `holdfast:server:state`.
 *
 * @example
 * on(events.serverState, (m) => console.log(`${m.server.name}: ${m.from} -> ${m.to} (${m.reason})`));
 */
export interface ServerStateChanged {
  readonly backend: Backend;
  readonly server: UpstreamServer;
  readonly from: HealthState;
  readonly to: HealthState;
  readonly reason: string;
}

/**
 * `holdfast:health:checked`.
 *
 * @example
 * on(events.healthChecked, (m) => console.log(m.server.name, m.ok, m.reason));
 */
export interface HealthChecked {
  readonly backend: Backend;
  readonly server: UpstreamServer;
  readonly ok: boolean;
  readonly reason: string;
}

/**
 * `holdfast:admin:action`.
 *
 * @example
 * on(events.adminAction, (m) => console.log(m.backend, m.server, m.action, m.weight));
 */
export interface AdminAction {
  /** The control plane that applied it (a `ControlPlane`). */
  readonly control: object;
  readonly backend: string;
  readonly server: string;
  readonly action: "drain" | "enable" | "maintenance" | "weight";
  readonly weight: number | undefined;
}

/**
 * `holdfast:reload`.
 *
 * @example
 * on(events.reload, (m) => console.log(m.listeners, m.backends, m.needsRestart));
 */
export interface ReloadApplied {
  readonly control: object;
  readonly listeners: NamesChanged;
  readonly backends: NamesChanged;
  /** Top-level settings that only take effect on restart. */
  readonly needsRestart: readonly string[];
}

/**
 * What a reload added, removed and changed, by name.
 *
 * @example
 * const c: NamesChanged = { added: ["api2"], removed: [], changed: ["web"] };
 */
export interface NamesChanged {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}
