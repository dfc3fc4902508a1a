// `npm run bench`: holdfast's gateway side by side with NGINX, HAProxy and the Node
// peer (http-proxy) on this machine, method as in BENCH.md. Prints a markdown report
// and writes it to bench/results/<timestamp>/report.md and docs/benchmarks.md.
//
// Env: RUNS (3) DURATION (10 s) CONNS (50) IDLE_N (10000) TARGETS ("holdfast nginx ...")
//      QUICK=1 (1 round, 3 s, IDLE_N=2000: a smoke run)
//      WORKLOADS ("http l4 https tls-handshake h2 h2c ws-echo ws-idle ws-rate workers-http workers-ws ws-tunnel http-policies
//                 http-accesslog failover pool slow-clients hub-fanout-1x5000 hub-fanout-1000x5 hub-idle hub-resume
//                 policies ws-frames cookie-scan storm e2e")
//      HUB_IDLE_N (5000) HUB_SUBS (5000) HUB_RATE_1 (2) HUB_RATE_1000 (1000): the hub workloads (bench/hub.ts)
//      E2E_N (200) E2E_RATE (20) E2E_SPREAD (10s): the e2e workload (bench/e2e.ts)
//      WARMUP (1 s) ECHO_CONNS (100) RATE_TOTAL (5000) RATE_CONC (50) RATE_WARM (2000)
//      FAILOVER_RATE (200 req/s) FAILOVER_WARM (3 s)
//      PROXY_CPU (0) LOAD_CPU (1) BASE_PORT (24100) WRITE_DOCS (1; 0 = leave docs/benchmarks.md alone)
//      HIDE_TOOLS ("nginx haproxy wrk libnginx-mod-stream holdfast": act as if missing, to try the skip paths)
//
// Built from holdfast's shared benchmark anchors (run-http.sh, run-ws.sh, lib.sh,
// clients/, servers/, conf/, tools/), self-contained here.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { initSystem, installSignalHandlers, log, run, stopAll, sys, tail } from "./lib/proc.ts";
import { readSettings, findTools, makeCtx, INSTALL_HINT, type Ctx, type Row, type Tools } from "./lib/context.ts";
import { median, fmt, table } from "./lib/report.ts";
import { TARGETS, type Need, type Target } from "./targets.ts";
import { WORKLOADS, goalsTable, otherLoad } from "./workloads.ts";

const t0 = Date.now();
const repo = path.resolve(import.meta.dirname, "..");
initSystem();
installSignalHandlers();
const cpus = os.availableParallelism();
const s = readSettings(cpus);
const tools = findTools(repo);
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const dir = path.join(repo, "bench", "results", stamp);
for (const d of ["conf", "logs", "tmp"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
const ctx = makeCtx(s, tools, repo, dir);
log(`results -> ${path.relative(repo, dir)}`);

// The driver itself only waits on its children; keep it off the proxy's CPU.
if (sys.taskset) spawnSync("taskset", ["-a", "-p", "-c", String(s.loadCpu), String(process.pid)], { stdio: "ignore" });

function version(cmd: string | null, args: string[]): string {
  if (!cmd) return "missing";
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5000 });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "?";
}
function pkgVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "missing";
  }
}
function envHeader(): string {
  const cpuModel = os.cpus()[0]?.model ?? "?";
  let osName = "?";
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)/m.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? "?";
  } catch {
    // not Linux-like
  }
  const git = (...a: string[]): string => spawnSync("git", ["-C", repo, ...a], { encoding: "utf8" }).stdout?.trim() ?? "";
  const commit = (git("rev-parse", "--short", "HEAD") || "?") + (git("status", "--porcelain", "--", "src", "bin") ? " + uncommitted changes in src/ or bin/" : "");
  return [
    `date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`,
    `kernel: ${os.release()}`,
    `cpu: ${cpuModel} x ${cpus}`,
    `mem: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `os: ${osName}`,
    `ulimit -n: ${sys.nofile} (hard ${sys.hardNofile})`,
    sys.taskset
      ? `pinning: proxy on CPU ${s.proxyCpu}; backend + load generator (and this driver) on CPU ${s.loadCpu}; ` +
        `multi-worker targets unpinned (CPUs ${s.allCpus})`
      : "pinning: none (taskset not found)",
    `nginx: ${version(tools.nginx, ["-v"]).replace(/^nginx version: /, "")}${tools.nginx && !tools.streamModule ? " (no stream module)" : ""}`,
    `haproxy: ${version(tools.haproxy, ["-v"])}`,
    `wrk: ${version(tools.wrk, ["-v"])}`,
    `h2load: ${version(tools.h2load, ["--version"])}`,
    `node: ${process.version}`,
    `ws: ${pkgVersion("ws")}  http-proxy: ${pkgVersion("http-proxy")}  undici: ${pkgVersion("undici")}`,
    `holdfast: ${commit}`,
    `knobs: RUNS=${s.runs} DURATION=${s.duration} CONNS=${s.conns} IDLE_N=${s.idleN}${s.idleN < s.idleNRequested ? ` (asked ${s.idleNRequested})` : ""}` +
      ` WARMUP=${s.warmup}${s.quick ? " QUICK=1" : ""}${s.targets ? ` TARGETS="${s.targets.join(" ")}"` : ""}` +
      `${s.workloads ? ` WORKLOADS="${s.workloads.join(" ")}"` : ""}`,
  ].join("\n");
}

const NEED_OK: Record<Need, (t: Tools) => boolean> = {
  nginx: (t) => t.nginx !== null,
  haproxy: (t) => t.haproxy !== null,
  "nginx-stream": (t) => t.streamModule !== null,
  holdfast: (t) => t.holdfast,
};
const NEED_MSG: Record<Need, string> = {
  nginx: "nginx not installed",
  haproxy: "haproxy not installed",
  "nginx-stream": "nginx's stream module (ngx_stream_module.so) not installed",
  holdfast: "bin/holdfast.js not found",
};
function missing(t: Target): Need[] {
  return t.needs.filter((n) => !NEED_OK[n](tools));
}

const header = envHeader();
process.stderr.write(header + "\n");
const skipLines: string[] = [];
const skip = (msg: string): void => {
  log(`SKIP ${msg.replace(/\*\*/g, "")}`);
  skipLines.push(`- skipped ${msg}`);
};
if (!tools.nginx || !tools.haproxy || !tools.wrk || !tools.streamModule) {
  const gone = [!tools.nginx && "nginx", !tools.haproxy && "haproxy", !tools.wrk && "wrk", !tools.streamModule && "libnginx-mod-stream"].filter(Boolean);
  log(`missing: ${gone.join(", ")}; the targets that need them are skipped. Install with: ${INSTALL_HINT}`);
}
if (s.idleN < s.idleNRequested) {
  ctx.notes.push(`ulimit -n is ${sys.nofile} (hard limit ${sys.hardNofile}): the idle test opens ${s.idleN} connections instead of ${s.idleNRequested}.`);
  log(ctx.notes[ctx.notes.length - 1] as string);
}
if (cpus < 2) ctx.notes.push(`only ${cpus} CPU: the proxy and the load share it, numbers are not comparable with 2-core runs.`);

const wanted = (name: string): boolean => !s.targets || s.targets.includes(name);
if (s.targets) {
  for (const n of s.targets) if (!TARGETS.some((t) => t.name === n)) log(`TARGETS: unknown target "${n}" (known: ${TARGETS.map((t) => t.name).join(" ")})`);
}

const sections: string[] = [];
const allRows: Row[] = [];
let num = 0;
for (const w of WORKLOADS) {
  if (s.workloads && !s.workloads.includes(w.id)) continue;
  num++;
  const title = `## ${num}. ${w.title}`;
  const noTool = w.needs.filter((n) => !tools[n]);
  if (noTool.length) {
    skip(`workload **${w.id}**: ${noTool.join(", ")} not installed (install: ${INSTALL_HINT})`);
    sections.push(`${title}\n\nSkipped: ${noTool.join(", ")} not installed (\`${INSTALL_HINT}\`).`);
    continue;
  }
  const runnable: Target[] = [];
  const skippedHere: string[] = [];
  for (const name of w.targets) {
    const t = TARGETS.find((x) => x.name === name);
    if (!t || !wanted(name)) continue;
    const miss = missing(t);
    if (miss.length) {
      const why = miss.map((m) => NEED_MSG[m]).join(", ");
      skippedHere.push(`- skipped **${t.label}**: ${why} (install: \`${INSTALL_HINT}\`)`);
      log(`SKIP ${w.id} ${name}: ${why} (install: ${INSTALL_HINT})`);
      continue;
    }
    runnable.push(t);
  }
  // A workload that lists no targets (pool) runs its own clients.
  if (!runnable.length && w.targets.length) {
    sections.push(`${title}\n\nNo target to run.${skippedHere.length ? "\n\n" + skippedHere.join("\n") : ""}`);
    continue;
  }
  log(`=== ${w.id}: ${w.title} — ${runnable.map((t) => t.name).join(", ")}`);
  let body: string;
  try {
    const rows = await w.run(ctx, runnable);
    allRows.push(...rows);
    body = w.report(ctx, rows, runnable);
  } catch (e) {
    body = `Failed: ${(e as Error).message}`;
    log(`${w.id} FAILED: ${(e as Error).message}`);
  }
  sections.push(`${title}\n\n${body}${skippedHere.length ? "\n\n" + skippedHere.join("\n") : ""}`);
}

// ---------------------------------------------------------------- micro-benchmarks
// In-process micro-benchmarks other files of bench/ provide: a function returning rows
// (objects -> one table). Each is skipped while its file is not there.
interface Micro {
  id: string;
  title: string;
  file: string; // in bench/
  fn: string;
  /** Runs on every CPU (it starts its own gateway and hub processes), not pinned to the proxy's. */
  unpinned?: boolean;
}
const MICRO: Micro[] = [
  { id: "policies", title: "Balancing policies (micro-benchmark)", file: "policies.ts", fn: "benchPolicies" },
  { id: "ws-frames", title: "WebSocket frame parsers (micro-benchmark)", file: "ws-frames.ts", fn: "benchWsFrames" },
  { id: "cookie-scan", title: "Sticky cookie scan on hostile headers (micro-benchmark)", file: "cookie-scan.ts", fn: "benchCookieScan" },
  { id: "storm", title: "Reconnect storm: 10,000 clients dropped at once (simulation)", file: "storm.ts", fn: "benchStorm" },
  { id: "e2e", title: "End to end: the client SDK through the gateway and two hub nodes on Redis (SIGKILL, drain, rolling restart, scale-out)", file: "e2e.ts", fn: "benchE2e", unpinned: true },
];

async function micro(c: Ctx, m: Micro): Promise<string> {
  if (!fs.existsSync(path.join(c.bench, m.file))) return `Skipped: bench/${m.file} is not there.`;
  const errLog = path.join(c.dir, "logs", `${m.id}.err`);
  const r = await run(m.id, c.node, [path.join(c.bench, "lib", "run-micro.ts"), m.file, m.fn],
    { cpu: m.unpinned ? c.s.allCpus : c.s.proxyCpu, timeoutMs: 900_000, errLog });
  const line = r.stdout.split("\n").find((l) => l.startsWith("ROWS "));
  if (r.code !== 0 || !line) return `Failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${tail(errLog)}`;
  let data = JSON.parse(line.slice(5)) as unknown;
  if (data && typeof data === "object" && !Array.isArray(data) && Array.isArray((data as { rows?: unknown }).rows)) data = (data as { rows: unknown[] }).rows;
  if (typeof data === "string") return data;
  if (!Array.isArray(data) || !data.length) return `${m.fn}() returned no rows.`;
  const objs = data.filter((x): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x));
  if (!objs.length) return data.map(String).join("\n");
  const keys = [...new Set(objs.flatMap((o) => Object.keys(o)))];
  const cell = (v: unknown): string => (typeof v === "number" ? fmt(v, Number.isInteger(v) ? 0 : 2) : v === undefined || v === null ? "" : String(v));
  return `\`bench/${m.file}\` (\`${m.fn}()\`), in one process pinned to CPU ${c.s.proxyCpu}.\n\n` +
    table(keys, objs.map((o) => keys.map((k) => cell(o[k]))));
}
for (const m of MICRO) {
  if (s.workloads && !s.workloads.includes(m.id)) continue;
  num++;
  log(`=== ${m.id}: ${m.title}`);
  let body: string;
  try {
    body = await micro(ctx, m);
  } catch (e) {
    body = `Failed: ${(e as Error).message}`;
  }
  log(`${m.id}: ${body.split("\n")[0]}`);
  sections.push(`## ${num}. ${m.title}\n\n${body}`);
}

await stopAll();

// ---------------------------------------------------------------- report
const steals = allRows.map((r) => r.m.steal_pct).filter((x): x is number => typeof x === "number");
const others = allRows.filter((r) => !r.error).map(otherLoad).filter((x): x is number => x !== null);
const secs = Math.round((Date.now() - t0) / 1000);
const goals = goalsTable(allRows);
const body = [
  "```",
  header,
  "```",
  "",
  ...(ctx.notes.length || skipLines.length ? [...ctx.notes.map((n) => `- ${n}`), ...skipLines, ""] : []),
  ...(goals ? ["## Summary: holdfast against its targets", "", goals, ""] : []),
  sections.join("\n\n"),
  "",
  steals.length
    ? `CPU steal (hypervisor) during the measured windows: median ${fmt(median(steals), 1)}%, max ${fmt(Math.max(...steals), 1)}%. `
    : "",
  others.length
    ? `Other processes' CPU on the proxy core (CPU ${s.proxyCpu}) during the measured windows: median ${fmt(median(others))}%, ` +
      `max ${fmt(Math.max(...others))}%${Math.max(...others) >= 10 ? " (the machine was shared with other work; prefer the CPU µs/op columns)" : ""}.`
    : "",
  '"vs direct" / "vs NGINX" = median over rounds of (target ÷ reference in the same round); ' +
    "\"CPU/op vs NGINX\" the same for proxy CPU µs per operation (lower is cheaper). ⚠ = errors, not comparable.",
  "",
  `total time: ${secs} s; raw data, logs and rendered configs: bench/results/${stamp}/`,
].join("\n").replace(/\n{3,}/g, "\n\n");

const report = `# holdfast benchmark (${stamp})\n\n${body}\n`;
fs.writeFileSync(path.join(dir, "report.md"), report);
process.stdout.write(report);

if (s.writeDocs) {
  const preface = fs.readFileSync(path.join(ctx.bench, "docs-preface.md"), "utf8");
  fs.writeFileSync(path.join(repo, "docs", "benchmarks.md"),
    `${preface.trimEnd()}\n\n## Latest run (${stamp})\n\n${body.replace(/^## /gm, "### ")}\n`);
  log("wrote docs/benchmarks.md");
}
log(`report: ${path.relative(repo, path.join(dir, "report.md"))}`);
process.exit(0);
