// The slow-clients workload (issue 14 part 3): normal clients' req/s while slowhttptest
// (Debian's package, a tool written for exactly this) attacks the proxy in each mode:
//
// - slowloris: 5,000 connections, each sending a header line every 10 s and never
//   finishing its head;
// - slow body: 5,000 POSTs announcing an 8 KiB body sent 10 bytes every 10 s;
// - slow read: 1,000 connections asking for a 256 KiB response three times (pipelined)
//   with a 1-2 byte receive window, reading a byte every 5 s. Fewer connections: each
//   parks ~1 MiB in kernel socket buffers, and the machine is shared.
//
// One round per target: wrk alone (the baseline), then wrk again while each attack is
// at full strength. Reported: req/s under attack ÷ req/s alone, the connections the
// attacker held open meanwhile (slowhttptest's own count), and the proxy's RSS growth.
// The attacker runs beside wrk and the backend on the load CPU.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Ctx, Row } from "./lib/context.ts";
import { startHttpBackend, checkHello } from "./lib/backends.ts";
import { runWrk } from "./lib/wrk.ts";
import { cpuDelta, cpuSnap, procTicks, rssKib, sumKib } from "./lib/measure.ts";
import { start, stop, which } from "./lib/proc.ts";
import { median, fmt, table, col } from "./lib/report.ts";
import { type Workload, interleave, withTarget, failureNotes, noiseNote, labelOf } from "./lib/harness.ts";
import type { Target } from "./targets.ts";

interface Mode {
  id: string;
  what: string;
  conns: number;
  args: (url: string) => string[];
}

/** Seconds for the attacker to open its connections before wrk starts. */
const RAMP = 8;

export const SLOW_MODES: Mode[] = [
  { id: "slowloris", what: "slowloris (slow headers)", conns: 5000, args: (u) => ["-H", "-i", "10", "-x", "24", "-r", "1000", "-t", "GET", "-u", u] },
  { id: "slowbody", what: "slow body (R-U-Dead-Yet)", conns: 5000, args: (u) => ["-B", "-i", "10", "-s", "8192", "-x", "10", "-r", "1000", "-t", "POST", "-u", u] },
  { id: "slowread", what: "slow read (1-2 byte window)", conns: 1000, args: (u) => ["-X", "-k", "3", "-w", "1", "-y", "2", "-n", "5", "-z", "1", "-r", "500", "-u", `${u}big`] },
];

/** slowhttptest's CSV: seconds, closed, pending, connected, service available. */
function connectedDuring(csv: string, from: number, to: number): number | null {
  const rows = csv.trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
  const inWindow = rows.filter((r) => (r[0] ?? -1) >= from && (r[0] ?? -1) <= to).map((r) => r[3] ?? 0);
  return inWindow.length ? (median(inWindow) as number) : null;
}

export const slowClients: Workload = {
  id: "slow-clients",
  title: "Slow clients: normal req/s while slowhttptest attacks",
  targets: ["holdfast", "holdfast-hold60", "nginx", "haproxy"],
  reference: "nginx",
  needs: ["wrk"],
  async run(ctx: Ctx, ts: Target[]): Promise<Row[]> {
    const tool = which("slowhttptest");
    if (!tool) throw new Error("slowhttptest not found (apt-get install slowhttptest)");
    const be = await startHttpBackend(ctx, 1, { big: 256 * 1024 });
    try {
      return await interleave(ctx, this.id, ts, ctx.s.runs, (t, r) => withTarget(ctx, t, be, checkHello, async (running) => {
        if (ctx.s.warmup > 0) await runWrk(ctx, running.port, ctx.s.warmup, null);
        const b0 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
        const base = await runWrk(ctx, running.port, ctx.s.duration, path.join(ctx.dir, "logs", `wrk-slow-base-${t.name}-${r}.txt`));
        const bd = cpuDelta(b0, cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu), ctx.s.proxyCpu, ctx.s.loadCpu, base.requests ?? 0);
        const m: Record<string, number | null> = {
          rps_base: base.rps, errors_base: base.errors + base.non2xx,
          cpu_us_base: bd.proxy_cpu_us_per_op, proxy_pct_base: bd.cpu_proxy_proc_pct, load_pct_base: bd.cpu_load_core_pct,
        };
        for (const mode of SLOW_MODES) {
          const out = path.join(ctx.dir, "logs", `slowhttptest-${mode.id}-${t.name}-${r}`);
          const rss0 = sumKib(running.pids, rssKib);
          const atk = start(`slowhttptest-${mode.id}`, tool, ["-c", String(mode.conns), ...mode.args(`http://127.0.0.1:${running.port}/`),
            "-p", "3", "-l", String(RAMP + ctx.s.duration + 5), "-g", "-o", out], { cpu: ctx.s.loadCpu, log: `${out}.log` });
          try {
            await sleep(RAMP * 1000);
            const a0 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
            const atk0 = procTicks(atk.pid);
            const res = await runWrk(ctx, running.port, ctx.s.duration, path.join(ctx.dir, "logs", `wrk-slow-${mode.id}-${t.name}-${r}.txt`));
            const a1 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
            const ad = cpuDelta(a0, a1, ctx.s.proxyCpu, ctx.s.loadCpu, res.requests ?? 0);
            const rss1 = sumKib(running.pids, rssKib);
            // The proxy's CPU per normal request while under attack (the attack's own cost
            // to the proxy included) against alone: the proxy's per-core capacity kept,
            // apart from what the attacker takes from the load CPU it shares with wrk.
            m[`cpu_us_${mode.id}`] = ad.proxy_cpu_us_per_op;
            m[`core_ratio_${mode.id}`] = ad.proxy_cpu_us_per_op && bd.proxy_cpu_us_per_op ? +(bd.proxy_cpu_us_per_op / ad.proxy_cpu_us_per_op).toFixed(3) : null;
            m[`proxy_pct_${mode.id}`] = ad.cpu_proxy_proc_pct;
            m[`load_pct_${mode.id}`] = ad.cpu_load_core_pct;
            // ticks are 1/100 s: ticks per second = % of one core (null once the attacker has
            // exited: it stops early when the proxy has closed all its connections)
            const atk1 = procTicks(atk.pid);
            m[`attacker_pct_${mode.id}`] = atk1 >= atk0 && atk1 > 0 ? +((atk1 - atk0) / ((a1.t - a0.t) / 1000)).toFixed(1) : null;
            m[`rps_${mode.id}`] = res.rps;
            m[`ratio_${mode.id}`] = res.rps !== null && base.rps ? +(res.rps / base.rps).toFixed(3) : null;
            m[`errors_${mode.id}`] = res.errors + res.non2xx;
            m[`rss_growth_mib_${mode.id}`] = rss0 !== null && rss1 !== null ? +((rss1 - rss0) / 1024).toFixed(1) : null;
            await Promise.race([atk.exited, sleep(15_000)]);
          } finally {
            await stop(atk);
          }
          let csv = "";
          try {
            csv = fs.readFileSync(`${out}.csv`, "utf8");
          } catch {
            // the attacker did not write its report: its log says why
          }
          m[`held_${mode.id}`] = connectedDuring(csv, RAMP, RAMP + ctx.s.duration);
          // let the proxy close what the attacker left before the next mode
          await sleep(3000);
        }
        return { m };
      }));
    } finally {
      await be.stop();
    }
  },
  report(ctx: Ctx, rows: Row[], ts: Target[]): string {
    const ok = rows.filter((r) => !r.error);
    const lines: string[][] = [];
    for (const name of this.targets) {
      const rs = ok.filter((r) => r.target === name);
      if (!rs.length) continue;
      for (const mode of SLOW_MODES) {
        const errs = rs.reduce((a, r) => a + (r.m[`errors_${mode.id}`] ?? 0) + (r.m.errors_base ?? 0), 0);
        lines.push([
          labelOf(ts, name), mode.what, String(mode.conns),
          fmt(median(col(rs, "rps_base"))), fmt(median(col(rs, `rps_${mode.id}`))),
          `${fmt(median(col(rs, `ratio_${mode.id}`)), 2)}×`,
          `${fmt(median(col(rs, "cpu_us_base")), 1)} → ${fmt(median(col(rs, `cpu_us_${mode.id}`)), 1)}`,
          `${fmt(median(col(rs, `core_ratio_${mode.id}`)), 2)}×`,
          `${fmt(median(col(rs, `proxy_pct_${mode.id}`)))} / ${fmt(median(col(rs, `load_pct_${mode.id}`)))} / ${fmt(median(col(rs, `attacker_pct_${mode.id}`)))}`,
          fmt(median(col(rs, `held_${mode.id}`))), fmt(median(col(rs, `rss_growth_mib_${mode.id}`)), 1),
          String(errs),
        ]);
      }
    }
    const out = [
      `wrk -t1 -c${ctx.s.conns} -d${ctx.s.duration}s alone, then while slowhttptest (${RAMP} s to open its connections first) ` +
      `attacks the same listener; ${ctx.s.runs} round(s). "held": connections slowhttptest kept open during wrk (median of its per-second count).\n`,
      "\"proxy CPU µs/req\": the proxy's CPU time (user+sys) per normal request, alone → under attack (the attack's own cost to the proxy included); " +
      "\"per core\" = alone ÷ under attack, the share of its per-core capacity the proxy keeps. \"CPU % proxy / load core / attacker\" during the attack: " +
      "when the load core is near 100% the attacker (slowhttptest) and wrk compete for it, and req/s drops for the load side's reason, not the proxy's.\n",
      table(["target", "attack", "attack conns", "req/s alone", "req/s under attack", "ratio", "proxy CPU µs/req", "per core", "CPU % proxy / load core / attacker", "held", "proxy RSS growth MiB", "wrk errors"], lines),
    ];
    const notes = failureNotes(rows, ts);
    const noise = noiseNote(rows);
    if (noise) notes.push(noise);
    if (notes.length) out.push("", ...notes);
    return out.join("\n");
  },
};
