// A hub node as a real child process (`holdfast hub -c FILE`), for tests that kill one
// with SIGKILL or stop one with SIGTERM. The caller kills what it started; `killAll`
// is the safety net for a test that failed half-way.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROCESS_START_MS } from "../support/wait.ts";
import { assertOwnAdmin } from "../support/ports.ts";

const BIN = new URL("../../bin/holdfast.js", import.meta.url).pathname;
const started = new Set<ChildProcess>();

export interface HubProcess {
  readonly url: string;
  readonly adminUrl: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `holdfast hub -c <yaml written to a temp file>`; resolves once it listens. */
export async function spawnHub(yaml: string, env: Record<string, string> = {}, timeoutMs = PROCESS_START_MS): Promise<HubProcess> {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-hub-"));
  const file = join(dir, "hub.yaml");
  assertOwnAdmin(yaml);
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, ["--max-semi-space-size=2", BIN, "hub", "-c", file], {
    env: { ...process.env, HOLDFAST_LOG: process.env.HOLDFAST_TEST_LOG ?? "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      started.delete(child);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/\S+) /.exec(out);
    const a = /admin on (http:\/\/\S+) /.exec(out);
    if (m && a) return { url: m[1]!, adminUrl: a[1]!, child, output: () => out, exited, kill: (s = "SIGKILL") => void child.kill(s) };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`hub process did not start within ${timeoutMs} ms (exit ${child.exitCode}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILLs every hub process still running. */
export function killAll(): void {
  for (const c of started) c.kill("SIGKILL");
}
