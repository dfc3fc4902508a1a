// The holdfast command as a child process.
import { spawn } from "node:child_process";

/** `bin/holdfast.js`, run with the test's Node (`process.execPath`). */
export const BIN = new URL("../../bin/holdfast.js", import.meta.url).pathname;

/** What a finished command printed and its exit code. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `holdfast ...args` to completion (with `env`, default this process's).
 *
 * @example
 * const r = await runCli(["check", "-c", file]);
 * assert.equal(r.code, 0);
 */
export function runCli(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], ...(env === undefined ? {} : { env }) });
  let stdout = "";
  let stderr = "";
  p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on("close", (code) => resolve({ code, stdout, stderr })));
}
