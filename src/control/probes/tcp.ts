/**
 * TCP connect probe (L4): healthy when the handshake completes before the signal
 * aborts. The socket is closed at once; nothing is sent.
 *
 * @example
 * const probe = tcpProbe();
 * await probe({ host: "10.0.1.10", port: 5432 }, AbortSignal.timeout(2000));
 * // { ok: true, latencyMs: 0.8, reason: "connected" } or { ok: false, ..., reason: "connect refused" }
 */
import { connect } from "node:net";
import type { Probe, ProbeResult } from "../../core/health/types.ts";
import { abortReason, socketErrorReason } from "./reasons.ts";

/**
 * Builds the TCP probe.
 *
 * @example
 * new HealthChecker({ config: backend.health, probe: tcpProbe() });
 */
export function tcpProbe(): Probe {
  return (target, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const started = performance.now();
      if (signal.aborted) {
        resolve({ ok: false, latencyMs: 0, reason: abortReason(signal, 0) });
        return;
      }
      const socket = connect({ host: target.host, port: target.port });
      let done = false;
      const finish = (ok: boolean, reason: string): void => {
        if (done) return;
        done = true;
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve({ ok, latencyMs: performance.now() - started, reason });
      };
      const onAbort = (): void => finish(false, abortReason(signal, performance.now() - started));
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("connect", () => finish(true, "connected"));
      socket.once("error", (err) => finish(false, socketErrorReason(err)));
    });
}
