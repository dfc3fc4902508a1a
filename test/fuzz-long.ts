import { spawn } from "node:child_process";
import { once } from "node:events";
import { globSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The long fuzzing run (`npm run fuzz`): every `*.fuzz.test.ts` of the repository,
 * again and again with a fresh seed and budgets far above CI's, until the time is up or
 * one fails. A failure prints its seed: `FUZZ_SEED=<seed> npx node --test <file>`
 * replays it at the CI budget, or with the budgets below.
 *
 *   FUZZ_MINUTES=60   how long (default 60)
 *
 * @example
 * FUZZ_MINUTES=5 npm run fuzz
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MINUTES = Number(process.env.FUZZ_MINUTES ?? 60);
/** Per run of each file: roughly a minute of work on our 2-core VMs. */
const BUDGETS: Record<string, string> = {
  FUZZ_ITERATIONS: "2000000", // HTTP head mutations
  FUZZ_DIFF: "5000", // of them, sent to llhttp too
  FUZZ_WS_ROUNDS: "20000", // WebSocket tracker rounds per property
  FUZZ_WS_TUNNELS: "300", // hostile tunnels through a real gateway
  FUZZ_CONFIG: "5000", // YAML documents
  FUZZ_HUB: "200000", // hub messages through the reader
  FUZZ_HUB_SOCKETS: "200", // hostile connections to a real hub
};

const files = globSync(["src/**/*.fuzz.test.ts", "test/**/*.fuzz.test.ts"], { cwd: ROOT }).sort();
const deadline = Date.now() + MINUTES * 60_000;
const runs = new Map<string, number>(files.map((f) => [f, 0]));
let round = 0;
process.stdout.write(`fuzzing ${files.length} files for ${MINUTES} min: ${files.join(", ")}\n`);
while (Date.now() < deadline) {
  round++;
  for (const file of files) {
    if (Date.now() >= deadline) break;
    const seed = String((Math.random() * 2 ** 32) >>> 0);
    const started = Date.now();
    const child = spawn(process.execPath, ["--test", "--test-timeout=1800000", file], {
      cwd: ROOT, env: { ...process.env, ...BUDGETS, FUZZ_SEED: seed }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const [code] = (await once(child, "close")) as [number | null];
    runs.set(file, runs.get(file)! + 1);
    const secs = Math.round((Date.now() - started) / 1000);
    if (code !== 0) {
      process.stdout.write(`${out}\nFAILED ${file} (round ${round}, ${secs} s)\nreplay: FUZZ_SEED=${seed} npx node --test ${relative(process.cwd(), join(ROOT, file))}\n`);
      process.exit(1);
    }
    process.stdout.write(`round ${round} ${file}: ok (seed ${seed}, ${secs} s)\n`);
  }
}
process.stdout.write(`done: ${[...runs].map(([f, n]) => `${f} ×${n}`).join(", ")}; 0 failures\n`);
