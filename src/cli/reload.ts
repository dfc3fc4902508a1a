import { readFileSync } from "node:fs";
import { defaultPidFile } from "./lifecycle.ts";

/**
 * `holdfast reload`: tells a running gateway to re-read its config (SIGHUP through its
 * pid file). The gateway validates the file first; an invalid file is refused and the
 * old config keeps serving (see its log, or `POST /api/reload` for the errors).
 */
export function runReload(opts: { config?: string; pidFile?: string }): number {
  const path = opts.pidFile ?? (opts.config !== undefined ? defaultPidFile(opts.config) : undefined);
  if (path === undefined) {
    process.stderr.write("holdfast reload: give the gateway's config (-c FILE) or its --pid-file\n");
    return 2;
  }
  let pid: number;
  try {
    pid = Number(readFileSync(path, "utf8").trim());
  } catch {
    process.stderr.write(`holdfast reload: no pid file at ${path}: is the gateway running with this config?\n`);
    return 1;
  }
  try {
    process.kill(pid, "SIGHUP");
  } catch (err) {
    process.stderr.write(`holdfast reload: cannot signal pid ${pid}: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`holdfast reload: sent SIGHUP to ${pid}\n`);
  return 0;
}
