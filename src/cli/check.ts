import { readFileSync } from "node:fs";
import type { Env } from "../config/interpolate.ts";
import { isHubConfigText, runHubCheck } from "../hub/config/check.ts";
import { formatIssue } from "../config/issues.ts";
import { loadConfigFile } from "../config/load.ts";

/**
 * Where `runCheck` writes: `process.stdout`, or a collector in tests.
 *
 * @example
 * const lines: string[] = [];
 * runCheck(file, { write: (s) => lines.push(s) }, process.stderr);
 */
export interface Writer {
  write(chunk: string): unknown;
}

/**
 * `holdfast check -c FILE`: loads the file and prints a one-line summary to `out`
 * (exit code 0), or every problem to `err`, one `path: message` per line (exit code 1;
 * 2 when the file cannot be read).
 *
 * @example
 * process.exitCode = runCheck("holdfast.yaml", process.stdout, process.stderr);
 * // ok: 2 listeners, 5 backends, 7 servers
 */
export function runCheck(file: string, out: Writer, err: Writer, env: Env = process.env): number {
  const r = loadConfigFile(file, env);
  if (!r.ok) {
    for (const issue of r.issues) err.write(`${formatIssue(issue)}\n`);
    return "unreadable" in r ? 2 : 1;
  }
  const backends = Object.values(r.config.backends);
  const servers = backends.reduce((n, b) => n + b.servers.length, 0);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  out.write(`ok: ${count(r.config.listeners.length, "listener")}, ${count(backends.length, "backend")}, ${count(servers, "server")}\n`);
  return 0;
}

/**
 * The `check` command: {@link runCheck} on the process's streams, or the hub's check for
 * a hub config (`hub.yaml`: no `listeners`, hub keys).
 *
 * @example
 * process.exitCode = await runCheckCommand("holdfast.yaml");
 */
export async function runCheckCommand(file: string): Promise<number> {
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = undefined; // runCheck reports it
  }
  if (text !== undefined && isHubConfigText(text)) return runHubCheck(file, process.stdout, process.stderr);
  return runCheck(file, process.stdout, process.stderr);
}
