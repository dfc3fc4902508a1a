// The workloads: what is measured, on which targets, and how its table looks.
//
// This is the seam of the bench: WORKLOADS below is the one list of workloads and of
// the targets each one runs (targets are defined in targets.ts). A later measurement
// (a balancing policy, `workers: auto` vs nginx/HAProxy with 2 workers, the cost of the
// access log) is one more target name in a list here, or one more entry in WORKLOADS.
//
// Method (BENCH.md): the proxy alone on the proxy CPU, backend + load generator on the
// load CPU; rounds interleaved over the targets (A B C, A B C, ...) with a fresh proxy
// and a warm-up each; medians and min–max; "vs direct" / "vs NGINX" = median of the
// per-round ratios; proxy CPU per operation from /proc/PID/stat.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Ctx, Row } from "./lib/context.ts";
import { startHttpBackend, startWsBackend, checkHello, type Backend } from "./lib/backends.ts";
import { runWrk } from "./lib/wrk.ts";
import { cpuSnap, cpuDelta, rssKib, hwmKib, sumKib } from "./lib/measure.ts";
import { log, run, start, stop } from "./lib/proc.ts";
import { median, fmt, spread, ratioByRun, pct, times, table, col } from "./lib/report.ts";
import { StartError, TARGETS, type Running, type Target } from "./targets.ts";

export interface Workload {
  id: string;
  title: string;
  /** Target names, in report order. */
  targets: string[];
  /** The target of the "vs NGINX" columns. */
  reference: string;
  /** Tools without which the whole workload is skipped. */
  needs: ("wrk")[];
  run(ctx: Ctx, targets: Target[]): Promise<Row[]>;
  /** Markdown: the heading's detail line, the table and its notes. */
  report(ctx: Ctx, rows: Row[], targets: Target[]): string;
}

type Measured = Pick<Row, "m" | "info">;

/** Numbers of a client's JSON line go to m, the rest (first_error...) to info. */
function split(res: Record<string, unknown>): Measured {
  const m: Record<string, number | null> = {};
  const info: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(res)) {
    if (typeof v === "number" || v === null) m[k] = v;
    else info[k] = v;
  }
  return { m, info };
}

/** Run a client from bench/clients on the load CPU; its last stdout line is JSON. */
async function client(ctx: Ctx, script: string, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const r = await run(script, ctx.node, [path.join(ctx.bench, "clients", script), ...args],
    { cpu: ctx.s.loadCpu, timeoutMs, errLog: path.join(ctx.dir, "logs", "clients.err") });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !last.startsWith("{")) throw new Error(`${script} exited with ${r.code}: ${last.slice(0, 200)}`);
  return JSON.parse(last) as Record<string, unknown>;
}

const cpuArgs = (ctx: Ctx, pids: number[]): string[] =>
  [`--cpu-pids=${pids.join(",")}`, `--proxy-cpu=${ctx.s.proxyCpu}`, `--load-cpu=${ctx.s.loadCpu}`];

/**
 * Rounds interleaved over the targets. A target whose start hangs (StartError.giveUp)
 * is not tried again in this workload; any other failure is recorded for that round only.
 */
async function interleave(ctx: Ctx, wid: string, targets: Target[], rounds: number,
  one: (t: Target, round: number) => Promise<Measured>): Promise<Row[]> {
  const rows: Row[] = [];
  const broken = new Set<string>();
  for (let r = 1; r <= rounds; r++) {
    for (const t of targets) {
      if (broken.has(t.name)) continue;
      let row: Row;
      try {
        row = { workload: wid, target: t.name, run: r, ...(await one(t, r)) };
        log(`${wid} ${t.name} round ${r}: ${JSON.stringify(row.m)}`);
      } catch (e) {
        const msg = (e as Error).message.replace(/\s+/g, " ");
        row = { workload: wid, target: t.name, run: r, error: msg, m: {} };
        if (e instanceof StartError && e.giveUp) broken.add(t.name);
        log(`${wid} ${t.name} round ${r} FAILED: ${msg}`);
      }
      rows.push(row);
      ctx.raw(row);
    }
  }
  return rows;
}

/**
 * Start a target, check it answers, run the measurement, stop it. A failure says
 * whether the proxy process died (with the gist of its log).
 */
async function withTarget<T>(ctx: Ctx, t: Target, be: Backend, check: ((port: number) => Promise<void>) | null,
  fn: (r: Running) => Promise<T>): Promise<T> {
  const r = await t.start(ctx, be);
  try {
    if (check) {
      try {
        await check(r.port);
      } catch (e) {
        throw new Error(`started but ${(e as Error).message}`, { cause: e });
      }
    }
    return await fn(r);
  } catch (e) {
    const died = r.died();
    throw died ? new Error(`${(e as Error).message}; ${died}`, { cause: e }) : e;
  } finally {
    await r.stop();
  }
}

// ------------------------------------------------------------------ reporting

interface ThroughputSpec {
  metric: string; // key of the main number
  metricHead: string;
  lat: [string, string]; // keys of p50 / p99
  latHead: [string, string];
  op: string; // "req", "round trip", "connection"
  errKeys: string[];
  errHead: string;
}

function labelOf(_targets: Target[], name: string): string {
  return TARGETS.find((t) => t.name === name)?.label ?? name;
}

/** Rows that did not run and targets that were skipped, as notes under a table. */
function failureNotes(rows: Row[], targets: Target[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!r.error || seen.has(r.target)) continue;
    seen.add(r.target);
    const n = rows.filter((x) => x.target === r.target && x.error).length;
    out.push(`- **${labelOf(targets, r.target)}**: ${n} round(s) failed: ${r.error.slice(0, 400)}`);
  }
  return out;
}

/**
 * CPU that other processes (not ours: other users of the machine) took on the proxy
 * core during a measurement, in % of the core. For "direct" nothing of ours runs there.
 */
export function otherLoad(r: Row): number | null {
  const us = r.m.cpu_proxy_core_usersys_pct;
  if (typeof us !== "number") return null;
  return r.target === "direct" ? us : Math.max(0, us - (r.m.cpu_proxy_proc_pct ?? 0));
}

function noiseNote(rows: Row[]): string | null {
  const o = rows.filter((r) => !r.error).map(otherLoad).filter((x): x is number => x !== null);
  if (!o.length) return null;
  const med = median(o) as number;
  const max = Math.max(...o);
  return `- Other processes on the proxy core during these measurements: median ${fmt(med)}%, max ${fmt(max)}% of the core` +
    (max >= 10 ? " ⚠ the machine was shared: throughput (and its ratios) is disturbed, the CPU µs/op columns much less." : ".");
}

function throughputTable(w: Workload, rows: Row[], targets: Target[], spec: ThroughputSpec): string {
  const ok = rows.filter((r) => !r.error);
  const by = (name: string): Row[] => ok.filter((r) => r.target === name);
  const direct = by("direct");
  const ref = by(w.reference);
  const lines: string[][] = [];
  const flagged: string[] = [];
  for (const name of w.targets) {
    const t = targets.find((x) => x.name === name);
    if (!t) continue;
    const rs = by(name);
    const all = rows.filter((r) => r.target === name);
    if (!all.length) continue;
    if (!rs.length) {
      lines.push([`${t.label} ⚠`, "did not run", ...Array(10).fill("—") as string[]]);
      continue;
    }
    const errs = rs.reduce((a, r) => a + spec.errKeys.reduce((b, k) => b + (r.m[k] ?? 0), 0), 0);
    if (errs > 0) flagged.push(t.label);
    const isDirect = name === "direct";
    lines.push([
      `${t.label}${errs > 0 ? " ⚠" : ""}`,
      fmt(median(col(rs, spec.metric))),
      spread(col(rs, spec.metric)),
      direct.length ? pct(ratioByRun(rs, direct, spec.metric)) : "n/a",
      ref.length ? times(ratioByRun(rs, ref, spec.metric)) : "n/a",
      fmt(median(col(rs, spec.lat[0])), 3),
      fmt(median(col(rs, spec.lat[1])), 3),
      fmt(median(col(rs, "cpu_proxy_proc_pct"))),
      fmt(median(col(rs, "cpu_load_core_pct"))),
      fmt(median(col(rs, "proxy_cpu_us_per_op")), 1),
      isDirect || !ref.length ? "—" : times(ratioByRun(rs, ref, "proxy_cpu_us_per_op")),
      `${errs}${all.length > rs.length ? ` (${all.length - rs.length} round(s) failed)` : ""}`,
    ]);
  }
  const refLabel = labelOf(targets, w.reference);
  const out = [table([
    "target", `${spec.metricHead} (median)`, "min–max", "vs direct", `vs ${refLabel.split(" (")[0]}`,
    spec.latHead[0], spec.latHead[1], "proxy CPU %", "load core %", `proxy CPU µs/${spec.op}`,
    `CPU/${spec.op} vs ${refLabel.split(" (")[0]}`, spec.errHead,
  ], lines)];
  const notes = failureNotes(rows, targets);
  const noise = noiseNote(rows);
  if (noise) notes.push(noise);
  if (flagged.length) notes.unshift(`- ⚠ **errors** during the measurement (${spec.errHead}): ${flagged.join(", ")}; their numbers are not comparable.`);
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}

const CPU_NOTE = '"proxy CPU %": CPU time (user+sys) of the proxy over the measured window, 100 = one core ' +
  '(nginx: its worker; holdfast: the process and its children; "direct": the backend). "load core %": busy share of the core ' +
  "running the backend and the load generator (~100 = the load side, not the proxy, is the limit). " +
  '"proxy CPU µs/op" is the proxy\'s own cost per operation, meaningful whichever side saturates.';

// ------------------------------------------------------------------ HTTP (wrk)

function httpWorkload(id: string, title: string, targets: string[], reference: string): Workload {
  const w: Workload = {
    id, title, targets, reference, needs: ["wrk"],
    async run(ctx, ts) {
      const be = await startHttpBackend(ctx);
      const note = `HTTP backend: ${be.kind}, on CPU ${ctx.s.loadCpu}.`;
      if (!ctx.notes.includes(note)) ctx.notes.push(note);
      try {
        return await interleave(ctx, id, ts, ctx.s.runs, (t, r) => withTarget(ctx, t, be, checkHello, async (running) => {
          // warm-up (JIT, pools, upstream connections); not recorded
          if (ctx.s.warmup > 0) await runWrk(ctx, running.port, ctx.s.warmup, null);
          const c0 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
          const res = await runWrk(ctx, running.port, ctx.s.duration, path.join(ctx.dir, "logs", `wrk-${id}-${t.name}-${r}.txt`));
          const c1 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
          return { m: { ...res, ...cpuDelta(c0, c1, ctx.s.proxyCpu, ctx.s.loadCpu, res.requests ?? 0) } };
        }));
      } finally {
        await be.stop();
      }
    },
    report(ctx, rows, ts) {
      return [
        `wrk -t1 -c${ctx.s.conns} -d${ctx.s.duration}s --latency, 12-byte body, ${ctx.s.runs} round(s), ${ctx.s.warmup} s warm-up each.\n`,
        throughputTable(w, rows, ts, {
          metric: "rps", metricHead: "req/s", lat: ["p50_ms", "p99_ms"], latHead: ["p50 ms", "p99 ms"],
          op: "req", errKeys: ["errors", "non2xx"], errHead: "errors (socket + non-2xx)",
        }),
        "",
        CPU_NOTE,
      ].join("\n");
    },
  };
  return w;
}

// ------------------------------------------------------------------ WebSocket

const wsEcho: Workload = {
  id: "ws-echo",
  title: "WebSocket echo round trips",
  targets: ["direct", "holdfast", "nginx", "haproxy", "http-proxy"],
  reference: "nginx",
  needs: [],
  async run(ctx, ts) {
    const s = ctx.s;
    return interleave(ctx, this.id, ts, s.runs, async (t) => {
      const be = await startWsBackend(ctx);
      try {
        return await withTarget(ctx, t, be, null, async (running) => {
          const res = await client(ctx, "ws-echo-bench.ts", [`--port=${running.port}`, `--conns=${s.echoConns}`,
            `--size=${s.echoSize}`, `--duration=${s.duration}`, `--warmup=${s.warmup}`, ...cpuArgs(ctx, running.pids)],
          (s.duration + s.warmup + 90) * 1000);
          if (res.conns === 0) throw new Error(`no WebSocket could be opened: ${String(res.first_error)}`);
          return split(res);
        });
      } finally {
        await be.stop();
      }
    });
  },
  report(ctx, rows, ts) {
    return [
      `${ctx.s.echoConns} connections, ${ctx.s.echoSize}-byte binary messages, one in flight per connection, ` +
      `${ctx.s.warmup} s warm-up + ${ctx.s.duration} s, ${ctx.s.runs} round(s), fresh backend and proxy each.\n`,
      throughputTable(this, rows, ts, {
        metric: "rtt_per_sec", metricHead: "round trips/s", lat: ["p50_ms", "p99_ms"], latHead: ["p50 RTT ms", "p99 RTT ms"],
        op: "round trip", errKeys: ["errors", "open_failed"], errHead: "errors",
      }),
      "",
      CPU_NOTE + " For \"direct\" the CPU columns describe the `ws` backend.",
    ].join("\n");
  },
};

const wsRate: Workload = {
  id: "ws-rate",
  title: "WebSocket handshake rate",
  targets: ["direct", "holdfast", "nginx", "haproxy"],
  reference: "nginx",
  needs: [],
  async run(ctx, ts) {
    const s = ctx.s;
    return interleave(ctx, this.id, ts, s.runs, async (t) => {
      const be = await startWsBackend(ctx);
      try {
        return await withTarget(ctx, t, be, null, async (running) => {
          // warm-up: open + close some connections (JIT, pools)
          const warm = await client(ctx, "ws-connect-rate.ts", [`--port=${running.port}`, `--total=${s.rateWarm}`, "--conc=20"], 150_000);
          if (warm.ok === 0) throw new Error(`no WebSocket handshake succeeded: ${String(warm.first_error)}`);
          const res = await client(ctx, "ws-connect-rate.ts", [`--port=${running.port}`, `--total=${s.rateTotal}`,
            `--conc=${s.rateConc}`, ...cpuArgs(ctx, running.pids)], 150_000);
          return split(res);
        });
      } finally {
        await be.stop();
      }
    });
  },
  report(ctx, rows, ts) {
    return [
      `${ctx.s.rateTotal} × (connect + upgrade + close handshake), concurrency ${ctx.s.rateConc}, after ${ctx.s.rateWarm} warm-up ` +
      `connections; ${ctx.s.runs} round(s), fresh backend and proxy each.\n`,
      throughputTable(this, rows, ts, {
        metric: "conns_per_sec", metricHead: "connections/s", lat: ["hs_p50_ms", "hs_p99_ms"],
        latHead: ["handshake p50 ms", "handshake p99 ms"], op: "connection", errKeys: ["failed"], errHead: "failed",
      }),
      "",
      '"handshake" = TCP connect until the 101 response is read; each connection also does the close handshake before it counts. ' +
      CPU_NOTE + " For \"direct\" the CPU columns describe the `ws` backend.",
    ].join("\n");
  },
};

const wsIdle: Workload = {
  id: "ws-idle",
  title: "Memory per idle WebSocket tunnel",
  targets: ["holdfast", "nginx", "haproxy"],
  reference: "nginx",
  needs: [],
  async run(ctx, ts) {
    const s = ctx.s;
    // one measurement per target (memory does not drift like throughput)
    return interleave(ctx, this.id, ts, 1, async (t) => {
      const be = await startWsBackend(ctx);
      try {
        return await withTarget(ctx, t, be, null, async (running) => {
          const warm = await client(ctx, "ws-connect-rate.ts", [`--port=${running.port}`, "--total=200", "--conc=20"], 60_000);
          if (warm.ok === 0) throw new Error(`no WebSocket handshake succeeded: ${String(warm.first_error)}`);
          await sleep(1000);
          const rss0 = sumKib(running.pids, rssKib);
          const logf = path.join(ctx.dir, "logs", `idle-${t.name}.log`);
          const idle = start(`idle-${t.name}`, ctx.node, [path.join(ctx.bench, "clients", "ws-idle.ts"), `--port=${running.port}`,
            `--n=${s.idleN}`, "--inflight=200", "--hold=180"], { cpu: s.loadCpu, log: logf });
          try {
            let line: string | undefined;
            for (let i = 0; i < 1200 && !line && !idle.done; i++) {
              await sleep(100);
              line = fs.readFileSync(logf, "utf8").split("\n").find((l) => l.startsWith("ALLOPEN "));
            }
            if (!line) throw new Error(`the idle client did not open its connections (see ${logf})`);
            const opened = JSON.parse(line.slice(8)) as Record<string, unknown>;
            await sleep(s.settle * 1000);
            const rss1 = sumKib(running.pids, rssKib);
            const hwm1 = sumKib(running.pids, hwmKib);
            const beRss = sumKib(be.pids, rssKib);
            const n = typeof opened.opened === "number" ? opened.opened : 0;
            return {
              m: {
                n: s.idleN, opened: n, failed: typeof opened.failed === "number" ? opened.failed : null,
                open_secs: typeof opened.open_secs === "number" ? opened.open_secs : null,
                rss_before_kib: rss0, rss_after_kib: rss1, hwm_after_kib: hwm1, backend_rss_after_kib: beRss,
                kib_per_conn: rss0 !== null && rss1 !== null && n > 0 ? +((rss1 - rss0) / n).toFixed(2) : null,
              },
              info: { first_error: opened.first_error },
            };
          } finally {
            await stop(idle);
          }
        });
      } finally {
        await be.stop();
      }
    });
  },
  report(ctx, rows, ts) {
    const ok = rows.filter((r) => !r.error);
    const ref = ok.find((r) => r.target === this.reference);
    const lines: string[][] = [];
    for (const name of this.targets) {
      const t = ts.find((x) => x.name === name);
      const r = ok.find((x) => x.target === name);
      if (!t) continue;
      if (!r) {
        if (rows.some((x) => x.target === name)) lines.push([`${t.label} ⚠`, "did not run", "—", "—", "—", "—", "—", "—", "—"]);
        continue;
      }
      const failed = r.m.failed ?? 0;
      const kib = r.m.kib_per_conn ?? null;
      const refKib = ref?.m.kib_per_conn ?? null;
      lines.push([
        `${t.label}${failed > 0 ? " ⚠" : ""}`,
        `${fmt(r.m.opened)}/${fmt(r.m.n)}${failed > 0 ? ` (${failed} failed)` : ""}`,
        fmt((r.m.rss_before_kib ?? NaN) / 1024, 1), fmt((r.m.rss_after_kib ?? NaN) / 1024, 1),
        fmt(kib, 2),
        kib !== null && refKib ? times(kib / refKib) : "n/a",
        fmt((r.m.hwm_after_kib ?? NaN) / 1024, 1), fmt(r.m.open_secs, 2), fmt((r.m.backend_rss_after_kib ?? NaN) / 1024, 1),
      ]);
    }
    const notes = failureNotes(rows, ts);
    return [
      `${ctx.s.idleN} WebSocket connections opened (200 handshakes at a time) and held idle through each proxy.` +
      (ctx.s.idleN < ctx.s.idleNRequested ? ` (IDLE_N=${ctx.s.idleNRequested} lowered to ${ctx.s.idleN} to fit ulimit -n.)` : "") + "\n",
      table(["target", "connections open", "RSS before MiB", "RSS after MiB", "KiB per connection", "vs NGINX",
        "peak RSS MiB", "open time s", "backend RSS after MiB"], lines),
      ...(notes.length ? ["", ...notes] : []),
      "",
      "RSS is the proxy's VmRSS (nginx: the worker; holdfast: the process and its children), read after a 200-connection " +
      `warm-up and again after all connections are open and ${ctx.s.settle} s of settling; KiB per connection = the difference ÷ N. ` +
      "Kernel socket buffers are not in RSS. \"vs NGINX\" < 1 means less memory than nginx.",
    ].join("\n");
  },
};

// ------------------------------------------------------------------ the list

/** Every workload, in report order. Workload ids can be picked with WORKLOADS="http l4 ...". */
export const WORKLOADS: Workload[] = [
  httpWorkload("http", "HTTP/1.1 keep-alive, small responses (L7)", ["direct", "holdfast", "http-proxy", "nginx", "haproxy"], "nginx"),
  httpWorkload("l4", "L4 (TCP) proxying: HTTP/1.1 keep-alive through a TCP proxy", ["direct", "holdfast-tcp", "nginx-stream", "haproxy-tcp"], "nginx-stream"),
  wsEcho,
  wsIdle,
  wsRate,
];

// ------------------------------------------------------------------ goals (BENCH.md)

export interface GoalResult {
  /** What this run measured (throughput ratio, KiB...). */
  value: string;
  /** The same per core, from the proxy CPU per operation (robust when the machine is shared). */
  perCore: string;
  met: boolean | null; // null = not measured
}

export interface Goal {
  what: string;
  goal: string;
  check(rows: Row[]): GoalResult;
}

const okRows = (rows: Row[], w: string, t: string): Row[] => rows.filter((r) => r.workload === w && r.target === t && !r.error);
const hasErrors = (rs: Row[], keys: string[]): boolean => rs.some((r) => keys.some((k) => (r.m[k] ?? 0) > 0));
const NOT_MEASURED: GoalResult = { value: "not measured", perCore: "—", met: null };
const shortLabel = (name: string): string => labelOf([], name).split(" (")[0] ?? name;

/**
 * Throughput per core ≥ limit × the reference's. The proxy is pinned to one core, so
 * per-core capacity is 1 ÷ (CPU µs per request): the goal is judged on the CPU ratio,
 * which holds even when the load side or other work on the machine caps throughput.
 */
function throughputGoal(what: string, w: string, t: string, ref: string, limit: number): Goal {
  return {
    what,
    goal: `≥ ${limit}× ${shortLabel(ref)} per core`,
    check(rows) {
      const rs = okRows(rows, w, t);
      const refRows = okRows(rows, w, ref);
      if (!rs.length || !refRows.length) return NOT_MEASURED;
      const q = ratioByRun(rs, refRows, "rps");
      const cpu = ratioByRun(rs, refRows, "proxy_cpu_us_per_op");
      const perCore = cpu ? 1 / cpu : null;
      const err = hasErrors(rs, ["errors", "non2xx"]) ? " ⚠ errors" : "";
      return {
        value: q === null ? "n/a" : `${q.toFixed(2)}× req/s${err}`,
        perCore: perCore === null ? "n/a" : `${perCore.toFixed(2)}× (CPU/req ${(cpu as number).toFixed(2)}×)`,
        met: perCore === null ? null : perCore >= limit && !err,
      };
    },
  };
}

/** holdfast's per-core targets from BENCH.md that this bench measures. */
export const GOALS: Goal[] = [
  throughputGoal("L7 keep-alive req/s", "http", "holdfast", "nginx", 0.75),
  throughputGoal("L4 req/s", "l4", "holdfast-tcp", "nginx-stream", 0.9),
  {
    what: "WebSocket idle memory",
    goal: "≤ 4.6 KiB per connection (HAProxy L7)",
    check(rows) {
      const r = okRows(rows, "ws-idle", "holdfast")[0];
      const v = r?.m.kib_per_conn ?? null;
      if (!r || v === null) return NOT_MEASURED;
      const err = (r.m.failed ?? 0) > 0 ? " ⚠ errors" : "";
      return { value: `${v.toFixed(2)} KiB${err}`, perCore: "—", met: v <= 4.6 && !err };
    },
  },
  {
    what: "WebSocket handshake CPU",
    goal: "≤ 1.5× nginx L7",
    check(rows) {
      const rs = okRows(rows, "ws-rate", "holdfast");
      const refRows = okRows(rows, "ws-rate", "nginx");
      const cpu = rs.length && refRows.length ? ratioByRun(rs, refRows, "proxy_cpu_us_per_op") : null;
      if (cpu === null) return NOT_MEASURED;
      const err = hasErrors(rs, ["failed"]) ? " ⚠ errors" : "";
      return { value: `${cpu.toFixed(2)}× CPU/connection${err}`, perCore: "—", met: cpu <= 1.5 && !err };
    },
  },
];

/** The goals table, or null when none of them was measured. */
export function goalsTable(rows: Row[]): string | null {
  const res = GOALS.map((g) => ({ g, c: g.check(rows) }));
  if (res.every((x) => x.c.met === null)) return null;
  return table(["holdfast", "goal (BENCH.md)", "this run", "per core (from CPU µs/op)", "met"],
    res.map(({ g, c }) => [g.what, g.goal, c.value, c.perCore, c.met === null ? "—" : c.met ? "yes" : "no"]), [0, 1]);
}
