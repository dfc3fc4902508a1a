// Process handling for the bench. Every process is started through /bin/sh only to
// raise `ulimit -n` and then `exec`s (taskset, which execs the command), so the PID we
// hold is the command's own PID. Every PID is remembered and stopped by PID: SIGTERM,
// SIGKILL after 5 s, also on Ctrl-C. Nothing is ever stopped by name.
// Adapted from start_bg / stop_pid / cleanup / wait_port in holdfast's shared
// benchmark anchors (anchors/lib.sh).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { procStartTime } from "./measure.ts";

export interface Proc {
  name: string;
  pid: number;
  log: string;
  done: boolean;
  code: number | null;
  exited: Promise<void>;
  /** Other processes to stop with this one (nginx workers, holdfast workers): pid + start time. */
  extra: { pid: number; start: number }[];
}

/** ulimit -n for children and whether taskset exists; filled in by initSystem(). */
export const sys = { nofile: 1024, hardNofile: 1024, taskset: false };

const live = new Map<number, Proc>();
/** Set on Ctrl-C: nothing new is started while we stop what runs. */
let aborting = false;

export function log(msg: string): void {
  const t = new Date().toTimeString().slice(0, 8);
  process.stderr.write(`[${t}] ${msg}\n`);
}

/** Finds an executable on PATH or in the sbin folders (Debian keeps nginx in /usr/sbin). */
export function which(cmd: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${cmd}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Raise ulimit -n for the children (ask for 200000, fall back to the hard limit), like the anchors. */
export function initSystem(): void {
  sys.taskset = which("taskset") !== null;
  const sh = (script: string): number => {
    const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8" });
    const n = Number.parseInt(r.stdout.trim(), 10);
    return Number.isFinite(n) ? n : 1024;
  };
  sys.hardNofile = sh('h=$(ulimit -Hn); [ "$h" = unlimited ] && h=1048576; echo "$h"');
  sys.nofile = sh('ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; n=$(ulimit -n); [ "$n" = unlimited ] && n=1048576; echo "$n"');
}

const WRAP = 'ulimit -n "$0" 2>/dev/null; exec "$@"';

/** A CPU (0), a CPU list for taskset ("0,1"), or null: inherit the parent's affinity. */
export type CpuSpec = number | string | null;

function argv(cmd: string, args: string[], cpu: CpuSpec): string[] {
  const pin = cpu !== null && sys.taskset ? ["taskset", "-c", String(cpu)] : [];
  return ["-c", WRAP, String(sys.nofile), ...pin, cmd, ...args];
}

export interface StartOpts {
  cpu: CpuSpec;
  log: string;
  /** stdout to this file instead of `log` (stderr still goes to `log`). */
  stdout?: string;
  cwd?: string;
  /** Added to the environment. */
  env?: Record<string, string>;
}

/** Start a long-running process in the background, output appended to opts.log. */
export function start(name: string, cmd: string, args: string[], opts: StartOpts): Proc {
  if (aborting) throw new Error("interrupted");
  const out = fs.openSync(opts.log, "a");
  const stdout = opts.stdout ? fs.openSync(opts.stdout, "a") : out;
  const child = spawn("/bin/sh", argv(cmd, args, opts.cpu), {
    stdio: ["ignore", stdout, out], cwd: opts.cwd, env: opts.env === undefined ? undefined : { ...process.env, ...opts.env },
  });
  fs.closeSync(out);
  if (stdout !== out) fs.closeSync(stdout);
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`);
  const pid = child.pid;
  let resolveExit: () => void = () => {};
  const p: Proc = {
    name, pid, log: opts.log, done: false, code: null, extra: [],
    exited: new Promise<void>((res) => { resolveExit = res; }),
  };
  child.on("error", () => {});
  child.once("exit", (code, signal) => {
    p.done = true;
    p.code = code ?? (signal ? 128 : null);
    live.delete(pid);
    resolveExit();
  });
  live.set(pid, p);
  return p;
}

/** Remember more processes (by pid + start time, so a recycled pid is never hit) to stop with p. */
export function addExtra(p: Proc, pids: number[]): void {
  for (const pid of pids) {
    const st = procStartTime(pid);
    if (st !== null && !p.extra.some((x) => x.pid === pid)) p.extra.push({ pid, start: st });
  }
}

function killIfSame(x: { pid: number; start: number }, sig: NodeJS.Signals): boolean {
  if (procStartTime(x.pid) !== x.start) return false;
  try {
    process.kill(x.pid, sig);
  } catch {
    return false;
  }
  return true;
}

/** SIGTERM, wait up to 5 s, then SIGKILL. Only ever our own pids. */
export async function stop(p: Proc | null | undefined): Promise<void> {
  if (!p) return;
  if (!p.done) {
    try {
      process.kill(p.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await Promise.race([p.exited, sleep(5000)]);
    if (!p.done) {
      log(`${p.name} (pid ${p.pid}) did not stop on SIGTERM, sending SIGKILL`);
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await Promise.race([p.exited, sleep(2000)]);
    }
  }
  // children the main process should have taken down with it
  for (let i = 0; i < 20 && p.extra.some((x) => procStartTime(x.pid) === x.start); i++) await sleep(100);
  for (const x of p.extra) {
    if (killIfSame(x, "SIGKILL")) log(`${p.name}: child ${x.pid} outlived its parent, sent SIGKILL`);
  }
  live.delete(p.pid);
}

export async function stopAll(): Promise<void> {
  for (const p of [...live.values()].reverse()) await stop(p);
}

/** Ctrl-C / SIGTERM: stop everything we started (by PID), then exit 130. */
export function installSignalHandlers(): void {
  let stopping = false;
  const onSignal = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    aborting = true;
    log(`${sig}: stopping ${live.size} process(es) we started`);
    void stopAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("exit", () => {
    for (const p of live.values()) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone
      }
      for (const x of p.extra) killIfSame(x, "SIGKILL");
    }
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  timedOut: boolean;
}

/** Run a command to completion (bounded by timeoutMs), stdout captured, stderr to `errLog` if given. */
export function run(name: string, cmd: string, args: string[], opts: { cpu: CpuSpec; timeoutMs: number; errLog?: string; cwd?: string }): Promise<RunResult> {
  if (aborting) return Promise.reject(new Error("interrupted"));
  return new Promise((resolve) => {
    const err = opts.errLog ? fs.openSync(opts.errLog, "a") : "ignore";
    const child = spawn("/bin/sh", argv(cmd, args, opts.cpu), { stdio: ["ignore", "pipe", err], cwd: opts.cwd });
    if (typeof err === "number") fs.closeSync(err);
    const chunks: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => chunks.push(d));
    let timedOut = false;
    let p: Proc | null = null;
    let resolveExit: () => void = () => {};
    if (child.pid !== undefined) {
      const exited = new Promise<void>((res) => { resolveExit = res; });
      p = { name, pid: child.pid, log: opts.errLog ?? "", done: false, code: null, extra: [], exited };
      live.set(child.pid, p);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      log(`${name}: still running after ${opts.timeoutMs} ms, stopping it`);
      if (p) void stop(p);
    }, opts.timeoutMs);
    child.on("error", () => {});
    child.once("close", (code) => {
      clearTimeout(timer);
      if (p) {
        p.done = true;
        p.code = code;
        live.delete(p.pid);
      }
      resolveExit();
      resolve({ code, stdout: Buffer.concat(chunks).toString("utf8"), timedOut });
    });
  });
}

/** Does something accept TCP connections on 127.0.0.1:port? */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    const t = setTimeout(() => { s.destroy(); resolve(false); }, timeoutMs);
    s.once("connect", () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once("error", () => { clearTimeout(t); s.destroy(); resolve(false); });
  });
}

/** The gist of a log: its first error line (if any) and its last lines. */
export function tail(file: string, lines = 3): string {
  let all: string[];
  try {
    all = fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => l.trim()).filter(Boolean);
  } catch {
    return "(no log)";
  }
  const last = all.slice(-lines);
  const err = all.find((l) => /\b\w*Error\b|\[emerg\]|\[ALERT\]|error:/i.test(l));
  return (err && !last.includes(err) ? [err, "...", ...last] : last).join(" | ") || "(empty log)";
}

/** Wait until 127.0.0.1:port accepts; fail early if p exits first. */
export async function waitPort(port: number, timeoutMs: number, p?: Proc): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (p?.done) throw new Error(`${p.name} exited (code ${p.code}) before listening on ${port}: ${tail(p.log)}`);
    if (await canConnect(port)) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs / 1000} s${p ? `: ${tail(p.log)}` : ""}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => resolve(true)));
  });
}

const taken = new Set<number>();
/** The next free port at or above `from` (below the ephemeral range, so clients never take it). */
export async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 2000; p++) {
    if (taken.has(p)) continue;
    if (await isFree(p)) {
      taken.add(p);
      return p;
    }
  }
  throw new Error(`no free port in ${from}..${from + 2000}`);
}
