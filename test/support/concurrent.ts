import { describe, test as nodeTest } from "node:test";

/**
 * A file's top-level tests run `n` at a time, in one suite, instead of one after the
 * other: for files whose tests spend most of their time waiting (graceful stops,
 * drains, timeouts, other processes) rather than computing, so the suite stays short
 * on two cores. Each test must own everything it starts: its servers on ports from the
 * OS, its temporary files, its child processes; none may read another's state.
 *
 * Register with `tests.test(...)` exactly as with node:test's `test`, then call
 * `tests.run(name)` once, at the end of the file.
 *
 * @example
 * const tests = concurrentTests(3);
 * tests.test("a drain under load …", async () => { … });
 * tests.run("process lifecycle");
 */
export function concurrentTests(n: number): { test: typeof nodeTest; run(name: string): void } {
  const cases: unknown[][] = [];
  let ran = false;
  return {
    test: ((...args: unknown[]) => void cases.push(args)) as unknown as typeof nodeTest,
    run(name: string): void {
      if (ran) throw new Error(`concurrentTests: "${name}" registered twice`);
      ran = true;
      describe(name, { concurrency: n }, () => {
        for (const c of cases) (nodeTest as (...a: unknown[]) => unknown)(...c);
      });
    },
  };
}
