import { formatIssue } from "../config/issues.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Gateway } from "./gateway.ts";
import type { ReloadReport } from "./plane.ts";
import type { Logger } from "../log.ts";

/**
 * The outcome of a reload from a file (SIGHUP, `holdfast reload`, `--watch`,
 * `POST /api/reload`), in words. An invalid new config is refused, logged with its
 * errors, counted, and the old one keeps serving.
 *
 * @example
 * const r = await reloadFromFile(gw, "holdfast.yaml", log);
 * if (!r.ok) console.error(r.errors.join("\n"));
 */
export type ReloadOutcome = { readonly ok: true; readonly summary: string } | { readonly ok: false; readonly errors: readonly string[] };

let chain: Promise<unknown> = Promise.resolve();

/** One line saying what a reload changed. */
export function reloadSummary(report: ReloadReport): string {
  const d = report.diff;
  return (
    `listeners +${d.listeners.added.length} -${d.listeners.removed.length} ~${d.listeners.changed.length}, ` +
    `backends +${d.backends.added.length} -${d.backends.removed.length} ~${d.backends.changed.length}` +
    (report.needsRestart.length > 0 ? `; needs a restart to apply: ${report.needsRestart.join(", ")}` : "")
  );
}

/** Re-reads `file` and applies it. Reloads are serialised: a second waits for the first. */
export function reloadFromFile(gw: Gateway, file: string, log: Logger): Promise<ReloadOutcome> {
  const run = async (): Promise<ReloadOutcome> => {
    // During a graceful stop a reload would bind added listeners again and drain with 1012
    // what the stop is closing with 1001: the stop wins.
    if (gw.stopping) {
      log.warn({ file }, "reload ignored: the gateway is stopping");
      return { ok: false, errors: ["the gateway is stopping; the reload was not applied"] };
    }
    const loaded = loadConfigFile(file);
    if (!loaded.ok) {
      gw.counters.reloadFailures++;
      const errors = loaded.issues.map((i) => formatIssue(i));
      log.error({ file, errors }, "reload refused: the new config is invalid; the old one keeps serving");
      return { ok: false, errors };
    }
    try {
      const report = await gw.reload(loaded.config);
      if (!report.changed) return { ok: true, summary: "no changes" };
      const summary = reloadSummary(report);
      return { ok: true, summary };
    } catch (err) {
      gw.counters.reloadFailures++;
      const message = (err as Error).message;
      log.error({ file, err: message }, "reload failed; the old config keeps serving");
      return { ok: false, errors: [message] };
    }
  };
  const p = chain.then(run, run);
  chain = p;
  return p;
}
