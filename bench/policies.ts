// Micro-benchmark of the balancing policies: the cost of one pick, in ns, for every
// registered policy at 3, 30 and 300 servers. Not a test. Run it alone with
// `node bench/policies.ts` (prints a markdown table), or through `npm run bench`
// (bench/lib/run-micro.ts calls benchPolicies()).
//
// The harness drives each policy as a proxy would: it keeps requests in flight (so
// `active` varies and least-conn has something to compare), calls onStart/onEnd, uses a
// rotating set of hash keys and advances a virtual clock. The "(harness only)" row is
// that bookkeeping around a trivial policy: subtract it to get the policy's own cost.
// Each policy runs in its own worker thread, so the JIT's type feedback from one policy
// does not slow down the next; each cell is the best of 3 rounds, to shed the noise of
// whatever else runs on the machine.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { balancers, type BalancerName } from "../src/core/balance/registry.ts";
import { makeServers, mulberry32, type TestServer } from "../src/core/balance/testing.kit.ts";
import type { Balancer, ServerView } from "../src/core/balance/types.ts";

/**
 * One line of the result: a policy and its pick cost at each backend size.
 *
 * @example
 * const row: Row = { policy: "p2c", "3 servers (ns/pick)": 46, "30 servers (ns/pick)": 138, "300 servers (ns/pick)": 957 };
 */
export interface Row {
  policy: string;
  "3 servers (ns/pick)": number;
  "30 servers (ns/pick)": number;
  "300 servers (ns/pick)": number;
}

const SIZES = [3, 30, 300] as const;
const PICKS = 1_000_000; // per cell, in ROUNDS rounds
const ROUNDS = 3;
const WARMUP = 200_000;
const KEYS = 4096; // distinct hash keys, cycled
const TICK_MS = 0.01; // virtual time between picks: 100,000 picks/s

interface Ctx {
  key: string | undefined;
  now: number;
  random: () => number;
}

// The harness without a policy: picks by position, to measure the bookkeeping alone.
function harnessOnly(): Balancer {
  let i = 0;
  return {
    name: "(harness only)",
    pick(servers: readonly ServerView[]): ServerView | undefined {
      i = i + 1 === servers.length ? 0 : i + 1;
      return servers[i];
    },
  };
}

/**
 * Times `picks` picks of `b` over `n` servers after a warm-up; returns ns per pick.
 * Requests stay in flight for 2 × n picks (then end with a latency of 5..11 ms by
 * server), so every server holds about two on average.
 */
function timePicks(b: Balancer, n: number, picks: number): number {
  const servers = makeServers(Array.from({ length: n }, (_, i) => 1 + (i % 5)));
  const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
  const ctx: Ctx = { key: undefined, now: 0, random: mulberry32(1) };
  const depth = 2 * n;
  const ring: (TestServer | undefined)[] = new Array<TestServer | undefined>(depth).fill(undefined);
  let head = 0;
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) {
      ctx.now += TICK_MS;
      ctx.key = keys[i & (KEYS - 1)];
      const done = ring[head];
      if (done !== undefined) {
        done.active--;
        b.onEnd?.(done, 5 + (done.index % 7), true, ctx.now);
      }
      const s = b.pick(servers, ctx) as TestServer | undefined;
      if (s !== undefined) {
        s.active++;
        b.onStart?.(s, ctx);
      }
      ring[head] = s;
      head = head + 1 === depth ? 0 : head + 1;
    }
  };
  run(WARMUP);
  let best = Infinity;
  const perRound = Math.ceil(picks / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    run(perRound);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / perRound);
  }
  return best;
}

function factory(policy: string): () => Balancer {
  return policy === "(harness only)" ? harnessOnly : () => balancers[policy as BalancerName]({});
}

function benchOne(policy: string): Row {
  const make = factory(policy);
  const [a, b, c] = SIZES.map((n) => timePicks(make(), n, PICKS)) as [number, number, number];
  return { policy, "3 servers (ns/pick)": a, "30 servers (ns/pick)": b, "300 servers (ns/pick)": c };
}

function inWorker(policy: string): Promise<Row> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { policy } });
    w.once("message", (row: Row) => resolve(row));
    w.once("error", reject);
    w.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`${policy}: worker exited with ${code}`))));
  });
}

/**
 * Pick cost of every registered policy (plus the harness alone) at 3, 30 and 300
 * servers, in ns per pick including the harness's bookkeeping.
 *
 * @example
 * const rows = await benchPolicies();
 * rows.find((r) => r.policy === "maglev")?.["300 servers (ns/pick)"];
 */
export async function benchPolicies(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const policy of ["(harness only)", ...Object.keys(balancers)]) rows.push(await inWorker(policy));
  return rows;
}

/**
 * The rows as a markdown table.
 *
 * @example
 * console.log(toMarkdown(await benchPolicies()));
 */
export function toMarkdown(rows: readonly Row[]): string {
  const head = ["policy", ...SIZES.map((n) => `${n} servers (ns/pick)`)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`];
  for (const r of rows) {
    const cells = [r["3 servers (ns/pick)"], r["30 servers (ns/pick)"], r["300 servers (ns/pick)"]].map((v) => v.toFixed(0));
    lines.push(`| ${r.policy} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

if (!isMainThread && typeof (workerData as { policy?: unknown } | null)?.policy === "string") {
  parentPort!.postMessage(benchOne((workerData as { policy: string }).policy));
} else if (isMainThread && (import.meta.main ?? process.argv[1] === import.meta.filename)) {
  console.log(`Node ${process.version}; ${PICKS.toLocaleString("en")} picks per cell after ${WARMUP.toLocaleString("en")} warm-up, best of ${ROUNDS} rounds\n`);
  console.log(toMarkdown(await benchPolicies()));
}
