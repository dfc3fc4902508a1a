/**
 * `npm test`'s runner: every `*.test.ts` under `src/` and `test/` through `node --test`
 * (two files at a time, 120 s per test), with a deadline on the whole run instead of
 * `--test-force-exit`; with `--typecheck`, `tsc --noEmit` runs beside the tests.
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
 * timers, drains and other processes). Its output is printed after the tests', and the
 * run fails if either fails.
 *
 * @example
 * node scripts/test-run.ts --typecheck          # what npm test runs
 * node scripts/test-run.ts test/integration/sse.test.ts   # some files only
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const minutes = Number(process.env.TEST_RUN_MINUTES ?? 30);
const typecheck = process.argv.includes("--typecheck");
const files = process.argv.slice(2).filter((a) => a !== "--typecheck");
const args = ["--test", "--test-concurrency=2", "--test-timeout=120000", ...(files.length ? files : ["src/**/*.test.ts", "test/**/*.test.ts"])];
// Node's compile cache (V8 code for every module, TypeScript already stripped) for the
// test files and every gateway, hub or CLI process they spawn: each loads the same
// modules, and about half of a process's start is compiling them (0.85 s of CPU for
// `holdfast --version` without the cache, 0.5 s with it; lifecycle-process.test.ts 39 s
// of CPU → 32 s). Node checks each entry against the source, so an edit is never stale.
const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? `${ROOT}.cache/node-compile` };
const child = spawn(process.execPath, args, { stdio: "inherit", detached: true, env });

/** `tsc --noEmit -p .` with its output held until the tests are done; resolves to its exit code. */
function runTypecheck(): { done: Promise<number>; output: () => string; proc: ChildProcess } {
  const proc = spawn(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, "--noEmit", "-p", ROOT], { stdio: ["ignore", "pipe", "pipe"] });
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
const tsc = typecheck ? runTypecheck() : null;

let timedOut = false;
const deadline = setTimeout(() => {
  timedOut = true;
  process.stderr.write(`\nnpm test: the run did not end within ${minutes} minutes — a test file is keeping its process alive ` +
    "(a server, socket or timer left open, usually after a failed test skipped its cleanup); stopping it.\n");
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}, minutes * 60_000);
deadline.unref();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    tsc?.proc.kill(sig);
    try {
      process.kill(-child.pid!, sig);
    } catch {
      child.kill(sig);
    }
  });
}
child.on("exit", (code, signal) => {
  clearTimeout(deadline);
  const tests = timedOut ? 1 : (code ?? (signal ? 1 : 0));
  if (tsc === null) process.exit(tests);
  void tsc.done.then((rc) => {
    const out = tsc.output().trim();
    process.stdout.write(rc === 0 ? "npm test: tsc --noEmit: no type errors\n" : `\nnpm test: tsc --noEmit failed (exit ${rc}):\n${out}\n`);
    process.exit(tests !== 0 ? tests : rc);
  });
});
