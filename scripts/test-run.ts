/**
 * `npm test`'s runner: every `*.test.ts` under `src/` and `test/` through `node --test`,
 * each test stopped after 120 s, with a deadline on the whole run instead of
 * `--test-force-exit`; with `--typecheck`, `tsc --noEmit` runs beside the tests.
 *
 * Two runs side by side:
 * - `test/**`: the integration, process and browser tests, two files at a time
 *   (`--test-concurrency=2`), each file in its own process: they start servers and
 *   processes, subscribe to process-wide diagnostics channels, and mostly wait.
 * - `src/**`: the unit tests beside the code (pure tables, codecs, fuzzers, the
 *   brokers' conformance), one after the other in a single process
 *   (`--test-isolation=none`). Starting a process for each of ~90 files cost more
 *   than most of them run (the whole set: 27 s in one process, against 33 s of two
 *   lanes with a process each), and they run while the integration tests wait.
 *   Each file must clean up after itself (no listener, timer or subscription left
 *   behind): the next file runs in the same process.
 * Files named on the command line run the first way, whatever their folder.
 *
 * Why not `--test-force-exit`: on Node 24 it ends a test file's process while a suite's
 * async `before` hook is still running, and the tests after it are neither run nor
 * reported — the run passes with fewer tests (seen here: the llhttp response
 * differential suite ran 9 of its ~60 cases; a 55-test file with one async `before`
 * reported 47 to 55 over five runs). A run that silently skips tests is worse than one
 * that waits.
 *
 * What force-exit was for — a test that fails before its cleanup leaves a server
 * listening, so its file never exits — is bounded here: past `TEST_RUN_MINUTES`
 * (default 30) the run is stopped and fails with a message saying so.
 *
 * Why the type check runs beside the tests rather than before them: it is 20–30 s of
 * one core, and the tests leave a core idle much of the time (most of them wait on
 * timers, drains and other processes). The unit run and the type check run at a lower
 * priority (nice 10) than the integration tests. Their output is printed after the
 * integration run's; the run fails if any fails.
 *
 * @example
 * node scripts/test-run.ts --typecheck          # what npm test runs
 * node scripts/test-run.ts test/integration/sse.test.ts   # some files only
 */
import { spawn, type ChildProcess } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const minutes = Number(process.env.TEST_RUN_MINUTES ?? 30);
const typecheck = process.argv.includes("--typecheck");
const files = process.argv.slice(2).filter((a) => a !== "--typecheck");
const common = ["--test", "--test-timeout=120000"];
// Node's compile cache (V8 code for every module, TypeScript already stripped) for the
// test files and every gateway, hub or CLI process they spawn: each loads the same
// modules, and about half of a process's start is compiling them (0.85 s of CPU for
// `holdfast --version` without the cache, 0.5 s with it; lifecycle-process.test.ts 39 s
// of CPU → 32 s). Node checks each entry against the source, so an edit is never stale.
const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? `${ROOT}.cache/node-compile` };
const child = spawn(process.execPath, [...common, "--test-concurrency=2", ...(files.length ? files : ["test/**/*.test.ts"])], { stdio: "inherit", detached: true, env });

/** A command whose output is held until the integration run is done; resolves to its exit code. */
function held(args: string[], extraEnv: NodeJS.ProcessEnv = process.env): { done: Promise<number>; output: () => string; proc: ChildProcess } {
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, env: extraEnv });
  // Below the integration tests' priority: they wait on timers and other processes and
  // want a core when they wake; this work fills the time they leave idle.
  if (proc.pid !== undefined) {
    try {
      setPriority(proc.pid, 10);
    } catch {
      // not allowed here: it runs at the same priority
    }
  }
  const chunks: Buffer[] = [];
  proc.stdout!.on("data", (b: Buffer) => chunks.push(b));
  proc.stderr!.on("data", (b: Buffer) => chunks.push(b));
  const done = new Promise<number>((resolve) => {
    proc.on("error", (e) => {
      chunks.push(Buffer.from(`${e.message}\n`));
      resolve(1);
    });
    proc.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  return { done, output: () => Buffer.concat(chunks).toString(), proc };
}
const unit = files.length ? null : held([...common, "--test-isolation=none", "--test-reporter=spec", "src/**/*.test.ts"], env);

const tsc = typecheck ? held([`${ROOT}node_modules/typescript/bin/tsc`, "--noEmit", "-p", ROOT]) : null;

const groups = (): number[] => [child.pid, unit?.proc.pid, tsc?.proc.pid].filter((p): p is number => p !== undefined);
function killAll(sig: NodeJS.Signals): void {
  for (const pid of groups()) {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }
}

let timedOut = false;
const deadline = setTimeout(() => {
  timedOut = true;
  process.stderr.write(`\nnpm test: the run did not end within ${minutes} minutes — a test file is keeping its process alive ` +
    "(a server, socket or timer left open, usually after a failed test skipped its cleanup); stopping it.\n");
  killAll("SIGKILL");
}, minutes * 60_000);
deadline.unref();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => killAll(sig));

const integration = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
const [tests, unitRc, tscRc] = await Promise.all([integration, unit?.done ?? 0, tsc?.done ?? 0]);
clearTimeout(deadline);
if (unit !== null) {
  process.stdout.write(`\nnpm test: the unit tests (src/**/*.test.ts, one process)${unitRc === 0 ? "" : ` FAILED (exit ${unitRc})`}:\n${unit.output()}`);
}
if (tsc !== null) {
  process.stdout.write(tscRc === 0 ? "npm test: tsc --noEmit: no type errors\n" : `\nnpm test: tsc --noEmit failed (exit ${tscRc}):\n${tsc.output().trim()}\n`);
}
process.exit(timedOut ? 1 : [tests, unitRc, tscRc].find((rc) => rc !== 0) ?? 0);
