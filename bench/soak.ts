// `npm run soak` (issue 14 part 5): holdfast holds 10,000 idle WebSockets (the gateway
// pings them every 25 s, they answer) while a steady HTTP load runs through it, for 30
// minutes; every 10 s it samples each holdfast process's RSS, V8 heap after the last GC
// (from --trace-gc) and open file descriptors, plus the admin API's open tunnels. After
// the warm-up the RSS must stay flat: drift ≤ 2 % (last 5 samples vs the first 5 after
// the warm-up). Not part of `npm run bench` nor CI: run it alone, under the bench lock.
//
// Env: SOAK_MINUTES (30) SOAK_WS (10000) SOAK_RATE (1000 req/s) SOAK_WORKERS (2)
//      SOAK_WARMUP (5 minutes) SAMPLE_S (10) WRITE_DOCS (1: docs/soak.md + docs/soak.svg)
//
// workers: 2 because this machine caps a process at 20,000 open files: one process
// could hold ~9,900 proxied WebSockets (two sockets each), two hold 10,000.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startHttpBackend, startWsBackend, type Backend } from "./lib/backends.ts";
import { findTools, makeCtx, readSettings, render } from "./lib/context.ts";
import { descendants, rssKib } from "./lib/measure.ts";
import { initSystem, installSignalHandlers, log, start, stop, stopAll, sys, waitPort, type Proc } from "./lib/proc.ts";
import { adminJson } from "./targets.ts";
import { soakSvg, type SoakSample } from "./soak-plot.ts";

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const MINUTES = num("SOAK_MINUTES", 30);
const WS = num("SOAK_WS", 10_000);
const RATE = num("SOAK_RATE", 1000);
const WORKERS = num("SOAK_WORKERS", 2);
const WARMUP_MIN = num("SOAK_WARMUP", 5);
const SAMPLE_S = num("SAMPLE_S", 10);
const WRITE_DOCS = process.env.WRITE_DOCS !== "0";

const repo = path.resolve(import.meta.dirname, "..");
initSystem();
installSignalHandlers();
const s = readSettings(2);
const tools = findTools(repo);
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const dir = path.join(repo, "bench", "results", `soak-${stamp}`);
for (const d of ["conf", "logs", "tmp"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
const ctx = makeCtx(s, tools, repo, dir);
const FLAGS = (/^#!.*?\bnode\b(.*)$/m.exec(fs.readFileSync(path.join(repo, "bin/holdfast.js"), "utf8"))?.[1] ?? "").trim().split(/\s+/).filter(Boolean);

/** The last GC line of each pid in the log since `from` (byte offset): heap used after it, MiB. */
function heapAfterGc(logFile: string, from: number): { heap: Map<number, number>; end: number } {
  const heap = new Map<number, number>();
  let text: string;
  try {
    const fd = fs.openSync(logFile, "r");
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    fs.readSync(fd, buf, 0, buf.length, from);
    fs.closeSync(fd);
    // Whole lines only: the last one may be half written.
    text = buf.toString("latin1", 0, buf.lastIndexOf(0x0a) + 1);
  } catch {
    return { heap, end: from };
  }
  const end = from + Buffer.byteLength(text, "latin1");
  for (const m of text.matchAll(/^\[(\d+):0x[0-9a-f]+\]\s+\d+ ms: (?:Scavenge|Mark-Compact|Mark-sweep)[^\n]*?-> ([\d.]+) \(([\d.]+)\) MB/gm)) {
    heap.set(Number(m[1]), Number(m[2]));
  }
  return { heap, end };
}

function fds(pid: number): number | null {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

async function waitLine(file: string, prefix: string, timeoutMs: number, p: Proc): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const line = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(prefix)) : undefined;
    if (line !== undefined) return line;
    if (p.done) throw new Error(`${p.name} exited (code ${p.code}) before printing ${prefix}`);
    await sleep(500);
  }
  throw new Error(`${p.name}: no ${prefix} line within ${timeoutMs / 1000} s`);
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
function slopePerHour(pts: [number, number][]): number {
  const mx = mean(pts.map((p) => p[0])), my = mean(pts.map((p) => p[1]));
  const num_ = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : (num_ / den) * 3600;
}

let http: Backend | undefined, ws: Backend | undefined;
try {
  log(`soak: ${WS} idle WebSockets + ${RATE} req/s for ${MINUTES} min, holdfast workers: ${WORKERS}, sample every ${SAMPLE_S} s -> ${path.relative(repo, dir)}`);
  http = await startHttpBackend(ctx);
  ws = await startWsBackend(ctx);
  const web = await ctx.port("holdfast-web");
  const admin = await ctx.port("holdfast-admin");
  const conf = render(ctx, "holdfast-soak.yaml", "holdfast-soak.yaml", { ADMIN_PORT: admin, WEB_PORT: web, WORKERS, HTTP_PORT: http.port, WS_PORT: ws.port });
  const gwLog = path.join(dir, "logs", "holdfast.log");
  const gw = start("holdfast", ctx.node, [...FLAGS, "--trace-gc", "bin/holdfast.js", "gateway", "-c", conf], { cpu: null, log: gwLog, cwd: repo });
  await waitPort(web, 20_000, gw);
  await waitPort(admin, 20_000, gw);
  await sleep(1000);
  const pids = (): number[] => [gw.pid, ...descendants(gw.pid)];

  const idleOut = path.join(dir, "logs", "ws-idle.out");
  const idle = start("ws-idle", ctx.node, [path.join(ctx.bench, "clients", "ws-idle.ts"), `--port=${web}`, `--n=${WS}`, "--inflight=200",
    `--hold=${MINUTES * 60 + 120}`, "--pong=1"], { cpu: s.loadCpu, log: path.join(dir, "logs", "ws-idle.err"), stdout: idleOut });
  const allopen = JSON.parse((await waitLine(idleOut, "ALLOPEN ", 300_000, idle)).slice(8)) as { opened: number; failed: number; first_error: string | null };
  log(`idle WebSockets: ${allopen.opened} open, ${allopen.failed} failed${allopen.first_error ? ` (${allopen.first_error})` : ""}`);
  const loadOut = path.join(dir, "logs", "steady-http.out");
  const load = start("steady-http", ctx.node, [path.join(ctx.bench, "clients", "steady-http.ts"), `--port=${web}`, "--path=/h",
    `--rate=${RATE}`, "--conns=20", `--duration=${MINUTES * 60}`], { cpu: s.loadCpu, log: path.join(dir, "logs", "steady-http.err"), stdout: loadOut });

  const samples: SoakSample[] = [];
  const csv = fs.createWriteStream(path.join(dir, "samples.csv"));
  csv.write("t_s,rss_total_mib,heap_total_mib,fds_total,tunnels,per_process\n");
  let logAt = 0;
  const t0 = Date.now();
  const heapLast = new Map<number, number>();
  while (Date.now() - t0 < MINUTES * 60_000) {
    await sleep(Math.max(0, t0 + (samples.length + 1) * SAMPLE_S * 1000 - Date.now()));
    if (gw.done) throw new Error(`holdfast exited (code ${gw.code}) during the soak`);
    const ps = pids();
    const gc = heapAfterGc(gwLog, logAt);
    logAt = gc.end;
    for (const [pid, h] of gc.heap) heapLast.set(pid, h);
    const per = ps.map((pid) => ({ pid, rssMiB: (rssKib(pid) ?? 0) / 1024, heapMiB: heapLast.get(pid) ?? null, fds: fds(pid) ?? 0 }));
    let tunnels: number | null = null;
    try {
      tunnels = ((await adminJson(admin, "/api/backends")) as { totals: { tunnels: number } }).totals.tunnels;
    } catch {
      // the admin did not answer within 3 s: a gap in that series
    }
    const sample: SoakSample = {
      t: Math.round((Date.now() - t0) / 1000),
      rssMiB: per.reduce((a, p) => a + p.rssMiB, 0),
      heapMiB: per.every((p) => p.heapMiB !== null) ? per.reduce((a, p) => a + (p.heapMiB ?? 0), 0) : null,
      fds: per.reduce((a, p) => a + p.fds, 0),
      tunnels,
      per,
    };
    samples.push(sample);
    csv.write(`${sample.t},${sample.rssMiB.toFixed(2)},${sample.heapMiB?.toFixed(2) ?? ""},${sample.fds},${tunnels ?? ""},` +
      `"${per.map((p) => `${p.pid}:${p.rssMiB.toFixed(1)}/${p.heapMiB?.toFixed(1) ?? "?"}/${p.fds}`).join(" ")}"\n`);
    if (samples.length % 6 === 0) log(`soak ${(sample.t / 60).toFixed(1)} min: RSS ${sample.rssMiB.toFixed(1)} MiB, heap ${sample.heapMiB?.toFixed(1) ?? "?"} MiB, fds ${sample.fds}, tunnels ${tunnels ?? "?"}`);
  }
  csv.end();
  await Promise.race([load.exited, sleep(20_000)]);
  const loadRes = JSON.parse(fs.readFileSync(loadOut, "utf8").trim().split("\n").pop() ?? "{}") as Record<string, number | string | null>;
  await stop(idle);
  const idleExit = fs.readFileSync(idleOut, "utf8").split("\n").find((l) => l.startsWith("EXIT ")) ?? "";
  await stop(gw);

  // After the warm-up: the first and the last five samples.
  const post = samples.filter((x) => x.t >= WARMUP_MIN * 60);
  const first = post.slice(0, 5), last = post.slice(-5);
  const drift = (k: (x: SoakSample) => number | null): number | null => {
    const a = first.map(k).filter((v): v is number => v !== null), b = last.map(k).filter((v): v is number => v !== null);
    return a.length && b.length ? (mean(b) - mean(a)) / mean(a) : null;
  };
  const rssDrift = drift((x) => x.rssMiB);
  const heapDrift = drift((x) => x.heapMiB);
  const fdDrift = drift((x) => x.fds);
  const slope = slopePerHour(post.map((x) => [x.t, x.rssMiB]));
  const pct = (x: number | null): string => (x === null ? "n/a" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} %`);
  const met = rssDrift !== null && Math.abs(rssDrift) <= 0.02;
  const everyMinute = samples.filter((x, i) => i % Math.max(1, Math.round(60 / SAMPLE_S)) === Math.max(1, Math.round(60 / SAMPLE_S)) - 1);
  const report = [
    "# Soak: 10,000 idle WebSockets and a steady HTTP load",
    "",
    `Measured by \`npm run soak\` (bench/soak.ts) on ${new Date().toISOString().slice(0, 10)}: holdfast (\`workers: ${WORKERS}\`) held ` +
    `${allopen.opened.toLocaleString("en-US")} idle WebSockets to a \`ws\` echo backend, pinged every 25 s (the clients answer), while ` +
    `${RATE} HTTP requests per second went through it to an nginx backend, for ${MINUTES} minutes. Every ${SAMPLE_S} s: each holdfast ` +
    "process's RSS (/proc), V8 heap after its last GC (`--trace-gc`) and open file descriptors, summed over the primary and the workers, and the admin API's open tunnels. " +
    `This machine caps a process at ${sys.hardNofile.toLocaleString("en-US")} open files; each proxied WebSocket takes two, hence two workers.`,
    "",
    "![RSS, heap and file descriptors over the soak](soak.svg)",
    "",
    `| after the ${WARMUP_MIN}-minute warm-up | first 5 samples | last 5 samples | drift | goal |`,
    "|---|---:|---:|---:|---|",
    `| RSS, MiB | ${mean(first.map((x) => x.rssMiB)).toFixed(1)} | ${mean(last.map((x) => x.rssMiB)).toFixed(1)} | ${pct(rssDrift)} | ≤ 2 %: ${met ? "met" : "not met"} |`,
    `| V8 heap after GC, MiB | ${first.every((x) => x.heapMiB !== null) ? mean(first.map((x) => x.heapMiB as number)).toFixed(1) : "n/a"} | ${last.every((x) => x.heapMiB !== null) ? mean(last.map((x) => x.heapMiB as number)).toFixed(1) : "n/a"} | ${pct(heapDrift)} | |`,
    `| open file descriptors | ${mean(first.map((x) => x.fds)).toFixed(0)} | ${mean(last.map((x) => x.fds)).toFixed(0)} | ${pct(fdDrift)} | |`,
    "",
    `RSS trend over the samples after the warm-up (least squares): ${slope >= 0 ? "+" : ""}${slope.toFixed(2)} MiB per hour.`,
    "",
    `HTTP load: ${String(loadRes.sent)} requests sent, ${String(loadRes.ok)} answered 200, ${String(loadRes.non2xx)} other statuses, ` +
    `${String(loadRes.errors)} errors; p50 ${String(loadRes.p50_ms)} ms, p99 ${String(loadRes.p99_ms)} ms. ${idleWords(idleExit)}`,
    "",
    "| minute | RSS MiB | heap MiB | fds | tunnels |",
    "|---:|---:|---:|---:|---:|",
    ...everyMinute.map((x) => `| ${(x.t / 60).toFixed(0)} | ${x.rssMiB.toFixed(1)} | ${x.heapMiB?.toFixed(1) ?? "—"} | ${x.fds} | ${x.tunnels ?? "—"} |`),
    "",
    `Raw samples: bench/results/soak-${stamp}/samples.csv.`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "report.md"), report);
  fs.writeFileSync(path.join(dir, "soak.svg"), soakSvg(samples, WARMUP_MIN * 60));
  if (WRITE_DOCS) {
    fs.writeFileSync(path.join(repo, "docs", "soak.md"), report);
    fs.writeFileSync(path.join(repo, "docs", "soak.svg"), soakSvg(samples, WARMUP_MIN * 60));
  }
  process.stdout.write(report);
  log(`RSS drift after warm-up ${pct(rssDrift)} (goal ≤ 2 %): ${met ? "met" : "NOT met"}`);
} finally {
  await stopAll();
  await http?.stop();
  await ws?.stop();
}

/** The idle clients' exit line (`EXIT <why> closed_early=<n> pongs=<n>`, bench/clients/ws-idle.ts) in words. */
function idleWords(line: string): string {
  const m = /^EXIT (\S+) closed_early=(\d+) pongs=(\d+)/.exec(line);
  if (!m) return `Idle clients: ${line || "no exit line"}.`;
  const n = (x: string) => Number(x).toLocaleString("en-US");
  return `Idle clients: stopped at the end (${m[1]}); ${n(m[2]!)} connections closed before then; ${n(m[3]!)} pings answered.`;
}
