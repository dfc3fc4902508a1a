/**
 * The seam between scheduling (`checker.ts`) and probing (`probes/*.ts`), as in
 * Envoy's HealthCheckerImplBase: the checker owns interval, jitter, timeout, thresholds
 * and history; a probe only answers "is this target healthy right now?".
 *
 * @example
 * const probe: Probe = tcpProbe();
 * const r = await probe({ host: "10.0.1.10", port: 8080 }, AbortSignal.timeout(2000));
 * r; // { ok: false, latencyMs: 1.2, reason: "connect refused" }
 */
import type { Address } from "../../config/types.ts";

/**
 * One probe's verdict. `reason` is short and human (`status 404`, `connect refused`,
 * `timeout after 2000ms`); `weight` is the agent weight (integer 0–256) when the
 * response carried one.
 *
 * @example
 * const r: ProbeResult = { ok: true, latencyMs: 3.1, reason: "status 200", weight: 50 };
 */
export interface ProbeResult {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly reason: string;
  readonly weight?: number;
}

/**
 * Checks one target. Must settle promptly once `signal` aborts and must never reject
 * for a failed check (a rejection is still counted as a failure by the checker).
 *
 * @example
 * const alwaysUp: Probe = async () => ({ ok: true, latencyMs: 0, reason: "ok" });
 */
export type Probe = (target: Address, signal: AbortSignal) => Promise<ProbeResult>;
