// What the workloads share: the Workload shape, running clients, interleaved rounds,
// starting and stopping a target around a measurement, and the throughput table.
// (Split out of bench/workloads.ts so workloads can live in more than one file.)
import path from "node:path";
import type { Ctx, Row } from "./context.ts";
import type { Backend } from "./backends.ts";
import { log, run } from "./proc.ts";
import { median, fmt, spread, ratioByRun, pct, times, table, col } from "./report.ts";
import { BASE_PAIRS, StartError, TARGETS, type Running, type Target } from "../targets.ts";

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

export type Measured = Pick<Row, "m" | "info">;

/** Numbers of a client's JSON line go to m, the rest (first_error...) to info. */
export function split(res: Record<string, unknown>): Measured {
  const m: Record<string, number | null> = {};
  const info: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(res)) {
    if (typeof v === "number" || v === null) m[k] = v;
    else info[k] = v;
  }
  return { m, info };
}

/** Run a client from bench/clients on the load CPU; its last stdout line is JSON. */
export async function client(ctx: Ctx, script: string, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const r = await run(script, ctx.node, [path.join(ctx.bench, "clients", script), ...args],
    { cpu: ctx.s.loadCpu, timeoutMs, errLog: path.join(ctx.dir, "logs", "clients.err") });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !last.startsWith("{")) throw new Error(`${script} exited with ${r.code}: ${last.slice(0, 200)}`);
  return JSON.parse(last) as Record<string, unknown>;
}

export const cpuArgs = (ctx: Ctx, pids: number[]): string[] =>
  [`--cpu-pids=${pids.join(",")}`, `--proxy-cpu=${ctx.s.proxyCpu}`, `--load-cpu=${ctx.s.loadCpu}`];

/**
 * Rounds interleaved over the targets. A target whose start hangs (StartError.giveUp)
 * is not tried again in this workload; any other failure is recorded for that round only.
 */
export async function interleave(ctx: Ctx, wid: string, targets: Target[], rounds: number,
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
export async function withTarget<T>(ctx: Ctx, t: Target, be: Backend, check: ((port: number) => Promise<void>) | null,
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

export interface ExtraCol {
  head: string;
  /** The cell of one target from its successful rounds. */
  cell(rs: Row[]): string;
}

export interface ThroughputSpec {
  metric: string; // key of the main number
  metricHead: string;
  lat: [string, string]; // keys of p50 / p99
  latHead: [string, string];
  /** Decimals of the two latency columns (3: milliseconds to the microsecond). */
  latDigits?: number;
  op: string; // "req", "round trip", "connection"
  errKeys: string[];
  errHead: string;
  /** Short name of the reference in the column heads (default: its label up to " ("). */
  refHead?: string;
  /** More columns, before the errors. */
  extra?: ExtraCol[];
}

export function labelOf(_targets: Target[], name: string): string {
  return TARGETS.find((t) => t.name === name)?.label ?? name;
}

/** Rows that did not run and targets that were skipped, as notes under a table. */
export function failureNotes(rows: Row[], targets: Target[]): string[] {
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
  // an unpinned proxy runs on both cores: what is "other" on the proxy core is unknown
  if (typeof us !== "number" || TARGETS.find((t) => t.name === r.target)?.unpinned) return null;
  return r.target === "direct" ? us : Math.max(0, us - (r.m.cpu_proxy_proc_pct ?? 0));
}

export function noiseNote(rows: Row[]): string | null {
  const o = rows.filter((r) => !r.error).map(otherLoad).filter((x): x is number => x !== null);
  if (!o.length) return null;
  const med = median(o) as number;
  const max = Math.max(...o);
  const unpinned = rows.some((r) => TARGETS.find((t) => t.name === r.target)?.unpinned);
  return `- Other processes on the proxy core during these measurements${unpinned ? " (pinned targets only)" : ""}: ` +
    `median ${fmt(med)}%, max ${fmt(max)}% of the core` +
    (max >= 10 ? " ⚠ the machine was shared: throughput (and its ratios) is disturbed, the CPU µs/op columns much less." : ".");
}

const ratio3 = (x: number | null): string => (x === null ? "n/a" : `${x.toFixed(3)}×`);

export function throughputTable(w: Workload, rows: Row[], targets: Target[], spec: ThroughputSpec): string {
  const ok = rows.filter((r) => !r.error);
  const by = (name: string): Row[] => ok.filter((r) => r.target === name);
  const direct = by("direct");
  const hasDirect = w.targets.includes("direct");
  const extra = spec.extra ?? [];
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
      lines.push([`${t.label} ⚠`, "did not run", ...Array((hasDirect ? 10 : 9) + extra.length).fill("—") as string[]]);
      continue;
    }
    const errs = rs.reduce((a, r) => a + spec.errKeys.reduce((b, k) => b + (r.m[k] ?? 0), 0), 0);
    if (errs > 0) flagged.push(t.label);
    const isDirect = name === "direct";
    lines.push([
      `${t.label}${errs > 0 ? " ⚠" : ""}`,
      fmt(median(col(rs, spec.metric))),
      spread(col(rs, spec.metric)),
      ...(hasDirect ? [direct.length ? pct(ratioByRun(rs, direct, spec.metric)) : "n/a"] : []),
      ref.length ? times(ratioByRun(rs, ref, spec.metric)) : "n/a",
      fmt(median(col(rs, spec.lat[0])), spec.latDigits ?? 3),
      fmt(median(col(rs, spec.lat[1])), spec.latDigits ?? 3),
      fmt(median(col(rs, "cpu_proxy_proc_pct"))),
      fmt(median(col(rs, "cpu_load_core_pct"))),
      fmt(median(col(rs, "proxy_cpu_us_per_op")), 1),
      isDirect || !ref.length ? "—" : times(ratioByRun(rs, ref, "proxy_cpu_us_per_op")),
      ...extra.map((c) => c.cell(rs)),
      `${errs}${all.length > rs.length ? ` (${all.length - rs.length} round(s) failed)` : ""}`,
    ]);
  }
  const refHead = spec.refHead ?? labelOf(targets, w.reference).split(" (")[0];
  const out = [table([
    "target", `${spec.metricHead} (median)`, "min–max", ...(hasDirect ? ["vs direct"] : []), `vs ${refHead}`,
    spec.latHead[0], spec.latHead[1], "proxy CPU %", "load core %", `proxy CPU µs/${spec.op}`,
    `CPU/${spec.op} vs ${refHead}`, ...extra.map((c) => c.head), spec.errHead,
  ], lines)];
  const notes = failureNotes(rows, targets);
  for (const [mine, base] of BASE_PAIRS) {
    const a = by(mine);
    const b = by(base);
    if (!a.length || !b.length) continue;
    notes.push(`- **${mine} ÷ ${base}** (this checkout ÷ HOLDFAST_BASE, median of per-round ratios): ${spec.metricHead} ` +
      `${ratio3(ratioByRun(a, b, spec.metric))}, proxy CPU µs/${spec.op} ${ratio3(ratioByRun(a, b, "proxy_cpu_us_per_op"))}.`);
  }
  const noise = noiseNote(rows);
  if (noise) notes.push(noise);
  if (flagged.length) notes.unshift(`- ⚠ **errors** during the measurement (${spec.errHead}): ${flagged.join(", ")}; their numbers are not comparable.`);
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}

export const CPU_NOTE = '"proxy CPU %": CPU time (user+sys) of the proxy over the measured window, 100 = one core ' +
  '(nginx: its workers; holdfast: the process and its children, i.e. the primary and its workers with `workers: N`; "direct": the backend). "load core %": busy share of the core ' +
  "running the backend and the load generator (~100 = the load side, not the proxy, is the limit). " +
  '"proxy CPU µs/op" is the proxy\'s own cost per operation, meaningful whichever side saturates.';

