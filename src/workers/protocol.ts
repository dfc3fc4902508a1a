import type { Config } from "../config/types.ts";
import type { ServerAction } from "../control/plane.ts";
import type { HealthRecord } from "../core/health/state.ts";
import type { Snapshot } from "./snapshot.ts";

/**
 * Messages between the primary (control plane) and the data-plane workers, over
 * node:cluster's IPC channel. Configs and health records are plain data.
 *
 * @example
 * worker.send({ t: "health", backend: "api", server: "api1", record } satisfies ToWorker);
 */
export type ToWorker =
  | { readonly t: "start"; readonly config: Config; readonly workers: number; /** hex; the same TLS ticket keys in every worker */ readonly ticketSecret: string }
  | { readonly t: "health"; readonly backend: string; readonly server: string; readonly record: HealthRecord; readonly timeOrigin: number }
  | { readonly t: "action"; readonly backend: string; readonly server: string; readonly action: ServerAction; readonly weight?: number }
  | { readonly t: "reload"; readonly config: Config }
  | { readonly t: "shutdown" };

export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "failed"; readonly message: string }
  | { readonly t: "snapshot"; readonly data: Snapshot }
  | { readonly t: "reloaded"; readonly ok: boolean; readonly message?: string };

/** Resolves `workers: auto | N` to a count (auto: one per core). */
export function workerCount(workers: number | "auto", cores: number): number {
  return workers === "auto" ? Math.max(1, cores) : workers;
}
