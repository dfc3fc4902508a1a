// The holdfast command as a child process.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { assertOwnAdmin } from "./ports.ts";
import { PROCESS_START_MS } from "./wait.ts";

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

/** A `holdfast gateway` child process, started by {@link startGatewayProcess}. */
export interface GatewayProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The port `listener` is listening on, as the gateway printed it. */
  port(listener?: string): number;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
  /** Its JSON log lines (stderr), parsed. */
  logs(): Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after `ms`; resolves with the exit code (null when killed). */
  stop(ms?: number): Promise<number | null>;
}

/**
 * Starts `holdfast gateway -c file ...args` and resolves once it printed its pid line
 * (listeners bound, workers serving, admin up); rejects with its output if it exits or
 * takes longer than 30 s.
 *
 * @example
 * const g = await startGatewayProcess(file);
 * await fetch(`http://127.0.0.1:${g.port("web")}/`);
 * assert.equal(await g.stop(), 0);
 */
export async function startGatewayProcess(file: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = { ...process.env, HOLDFAST_LOG: "info" }): Promise<GatewayProcess> {
  assertOwnAdmin(readFileSync(file, "utf8"));
  const proc = spawn(process.execPath, [BIN, "gateway", "-c", file, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let exited = false;
  void exit.then(() => (exited = true));
  const t0 = Date.now();
  while (!/holdfast: pid \d+ in /.test(out)) {
    if (exited || Date.now() - t0 > PROCESS_START_MS) {
      proc.kill("SIGKILL");
      throw new Error(`the gateway did not start:\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    proc,
    pid: proc.pid!,
    port(listener = "web") {
      const m = new RegExp(`listener ${listener} \\(\\w+\\) listening on [\\d.]+:(\\d+)`).exec(out);
      if (m === null) throw new Error(`no listener ${listener} in:\n${out}`);
      return Number(m[1]);
    },
    output: () => `${out}${err}`,
    logs: () =>
      err.split("\n").flatMap((line) => {
        if (!line.startsWith("{")) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return []; // a line still being written
        }
      }),
    async stop(ms = 15_000) {
      if (!exited) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), ms);
      const code = await exit;
      clearTimeout(t);
      return code;
    },
  };
}
