// The failover workload (issue 4 part 7): how long the gateway keeps sending requests
// to a backend that died, and what the client sees meanwhile. Not wrk: 3 small Node
// backends (bench/servers/failover-backend.ts, on the load CPU), holdfast (pinned to the
// proxy CPU as usual) with an HTTP health check, and a steady keep-alive request loop
// (bench/clients/failover-load.ts, on the load CPU) that kills one backend and watches
// the admin API. Four configurations, interleaved over the rounds: health interval 5s ×
// fall 3 (the defaults) and 1s × fall 2, each without and with passive ejection.
import fs from "node:fs";
import path from "node:path";
import type { Ctx } from "./lib/context.ts";
import type { Backend } from "./lib/backends.ts";
import { start, stop, waitPort, type Proc } from "./lib/proc.ts";
import { median, fmt, spread, table, col } from "./lib/report.ts";
import { type Workload, client, interleave, withTarget, failureNotes, noiseNote } from "./lib/harness.ts";
import { FAILOVER_CONFIGS } from "./targets.ts";

const VICTIM = 2; // s2 dies

async function startBackends(ctx: Ctx, round: number): Promise<{ be: Backend; procs: Proc[]; logs: string[] }> {
  const procs: Proc[] = [];
  const logs: string[] = [];
  const ports: number[] = [];
  try {
    for (let i = 1; i <= 3; i++) {
      const port = await ctx.port(`failover-backend-${i}`);
      const log = path.join(ctx.dir, "logs", `failover-backend-s${i}-${round}.log`);
      fs.writeFileSync(log, "");
      procs.push(start(`failover-s${i}`, ctx.node, [path.join(ctx.bench, "servers", "failover-backend.ts"), String(port), `s${i}`],
        { cpu: ctx.s.loadCpu, log }));
      logs.push(log);
      ports.push(port);
    }
    for (let i = 0; i < 3; i++) await waitPort(ports[i] as number, 10_000, procs[i]);
  } catch (e) {
    for (const p of procs) await stop(p);
    throw e;
  }
  const be: Backend = {
    port: ports[0] as number, ports, pids: procs.map((p) => p.pid), proto: "http", kind: "3 × Node failover-backend",
    stop: async () => {
      for (const p of procs) await stop(p);
    },
  };
  return { be, procs, logs };
}

/** The backend's own report of its death: {"killed_at", "served", "checks"}. */
function killedLine(log: string): { killed_at: number; served: number; checks: number } | null {
  try {
    const line = fs.readFileSync(log, "utf8").split("\n").find((l) => l.startsWith("{\"killed_at\""));
    return line ? (JSON.parse(line) as { killed_at: number; served: number; checks: number }) : null;
  } catch {
    return null;
  }
}

const num = (x: unknown): number | null => (typeof x === "number" ? x : null);
const since = (t: unknown, t0: number): number | null => (typeof t === "number" ? t - t0 : null);

export const failover: Workload = {
  id: "failover",
  title: "Failover: a backend dies under steady load",
  targets: ["holdfast-hc5s", "holdfast-hc5s-passive", "holdfast-hc1s", "holdfast-hc1s-passive"],
  reference: "holdfast-hc5s",
  needs: [],
  async run(ctx, ts) {
    return interleave(ctx, this.id, ts, ctx.s.runs, async (t, round) => {
      const cfg = FAILOVER_CONFIGS.get(t.name);
      if (!cfg) throw new Error(`no failover settings for target ${t.name}`);
      const { be, procs, logs } = await startBackends(ctx, round);
      try {
        return await withTarget(ctx, t, be, null, async (running) => {
          if (running.admin === undefined) throw new Error(`${t.name} has no admin port`);
          // bounded: long enough for fall checks after the kill (with jitter and the check timeout), plus slack
          const max = Math.ceil(((cfg.fall + 1) * cfg.interval * 1.1 + cfg.timeout) / 1000) + 5;
          const res = await client(ctx, "failover-load.ts", [`--port=${running.port}`, `--admin=${running.admin}`,
            `--victim-pid=${(procs[VICTIM - 1] as Proc).pid}`, `--server=s${VICTIM}`, `--rate=${ctx.s.failoverRate}`,
            `--warm=${ctx.s.failoverWarm}`, `--max=${max}`, `--fall=${cfg.fall}`], (ctx.s.failoverWarm + max + 60) * 1000);
          const killed = killedLine(logs[VICTIM - 1] as string);
          const t0 = killed?.killed_at ?? (res.kill_sent_at as number);
          // every attempt before the kill reached s2 (the backend counted it); the rest came after
          const attemptsEnd = num(res.attempts_end);
          const attemptsAfter = attemptsEnd === null ? null
            : killed ? Math.max(0, attemptsEnd - killed.served)
              : num(res.attempts_at_kill) === null ? null : attemptsEnd - (res.attempts_at_kill as number);
          const cfAfter = num(res.connect_failures_end) !== null && num(res.connect_failures_at_kill) !== null
            ? (res.connect_failures_end as number) - (res.connect_failures_at_kill as number) : null;
          const hi = since(res.last_attempt_seen_at, t0);
          const lo = since(res.last_attempt_prev_snapshot_at, t0);
          return {
            m: {
              kill_lag_ms: killed ? killed.killed_at - (res.kill_sent_at as number) : null,
              // no increase after the kill: the last request went before it
              last_attempt_ms: hi ?? 0,
              last_attempt_lo_ms: hi === null ? 0 : Math.max(0, lo ?? 0),
              check_down_ms: since(res.check_down_at, t0),
              down_ms: since(res.down_at, t0),
              ejected_ms: since(res.ejected_at, t0),
              window_ms: since(res.end_at, t0),
              attempts_after_kill: attemptsAfter,
              connect_failures_after_kill: cfAfter,
              sent: num(res.sent),
              ok: num(res.ok),
              failed_after_kill: num(res.failed_after_kill),
              failed_before_kill: num(res.failed_before_kill),
              p99_after_ms: num(res.p99_after_ms),
              max_after_ms: num(res.max_after_ms),
              victim_served: killed?.served ?? null,
              still_growing: num(res.still_growing),
              snapshots: num(res.snapshots),
              errors: (num(res.failed_after_kill) ?? 0) + (num(res.failed_before_kill) ?? 0),
            },
            info: { first_error: res.first_error, by_server: res.by_server, killed: killed !== null },
          };
        });
      } finally {
        await be.stop();
      }
    });
  },
  report(ctx, rows, ts) {
    const ok = rows.filter((r) => !r.error);
    const lines: string[][] = [];
    const victimServed = median(col(ok, "victim_served"));
    for (const name of this.targets) {
      const t = ts.find((x) => x.name === name);
      if (!t) continue;
      const rs = ok.filter((r) => r.target === name);
      if (!rs.length) {
        if (rows.some((r) => r.target === name)) lines.push([`${t.label} ⚠`, "did not run", ...Array(8).fill("—") as string[]]);
        continue;
      }
      const sum = (k: string): number => rs.reduce((a, r) => a + (r.m[k] ?? 0), 0);
      const growing = sum("still_growing");
      const ms = (k: string): string => (rs.some((r) => r.m[k] !== null && r.m[k] !== undefined)
        ? `${fmt(median(col(rs, k)))} (${spread(col(rs, k))})` : "—");
      lines.push([
        t.label + (growing ? ` ⚠ ${growing} round(s) still sending at the end` : ""),
        `${fmt(median(col(rs, "last_attempt_lo_ms")))}–${fmt(median(col(rs, "last_attempt_ms")))}`,
        ms("check_down_ms"),
        ms("ejected_ms"),
        `${fmt(median(col(rs, "attempts_after_kill")))} / ${fmt(median(col(rs, "connect_failures_after_kill")))}`,
        `${rs.map((r) => fmt(r.m.failed_after_kill)).join(", ")}`,
        fmt(median(col(rs, "p99_after_ms")), 1),
        fmt(median(col(rs, "max_after_ms")), 1),
        fmt(median(col(rs, "window_ms"))),
      ]);
    }
    const notes = failureNotes(rows, ts);
    const noise = noiseNote(rows);
    if (noise) notes.push(noise);
    const firstErr = ok.map((r) => r.info?.first_error).find((x) => typeof x === "string");
    const lag = ok.map((r) => r.m.kill_lag_ms).filter((x): x is number => typeof x === "number");
    return [
      `3 Node backends (s1, s2, s3, \`bench/servers/failover-backend.ts\`, on CPU ${ctx.s.loadCpu}) behind holdfast ` +
      `(\`balance: round-robin\`, \`health: { type: http, path: / }\`, \`retries: 2\` by default; pinned to CPU ${ctx.s.proxyCpu}); ` +
      `a Node client (\`bench/clients/failover-load.ts\`, CPU ${ctx.s.loadCpu}) sends ${ctx.s.failoverRate} req/s evenly spread ` +
      `over keep-alive connections; after ${ctx.s.failoverWarm} s it kills s${VICTIM} (the backend closes its listener and ` +
      `destroys its connections: later connects are refused; it had served ${fmt(victimServed)} requests, median) and polls the ` +
      `admin API every 20 ms. ${ctx.s.runs} round(s), fresh backends and gateway each; times in ms from the kill, median (min–max).\n`,
      table(["configuration", "kill → last request to s2 ms (between snapshots)", "kill → active check down ms", "kill → ejected ms",
        "attempts / connect failures to s2 after the kill", "client-visible failures (per round)", "p99 ms after kill",
        "max ms after kill", "observed ms"], lines),
      ...(notes.length ? ["", ...notes] : []),
      "",
      "\"last request to s2\": holdfast's admin server renders `/metrics` at most every 200 ms and serves that snapshot " +
      "in between, so the client notes when a new snapshot appears: the last increase of " +
      "`holdfast_server_attempts_total{server=\"s2\"}` happened between the snapshot before (first number) and the one that " +
      "showed it (second number; medians over the rounds) — a resolution of ~200 ms, coarse next to the health " +
      "checks' seconds but not next to a passive ejection (which takes a few connect failures, i.e. a few ms at this rate). " +
      "After the kill every attempt to s2 is a connect failure (`holdfast_upstream_connect_failures_total`), which the gateway " +
      "retries on another server, so the client does not see it: \"client-visible failures\" are the requests the client got " +
      "no 200 for (a request in flight on s2 when it died can surface as a 502). \"attempts\" after the kill = the counter at " +
      "the end minus what s2 had served. \"active check down\": the time of the `fall`-th failed check after the kill (from the " +
      "check history of `/api/backends/b`, whose snapshots are cached the same way); \"ejected\": the first snapshot that showed " +
      "passive ejection. \"observed\": the client stops once the checks took s2 down and its attempts have not moved for " +
      "1.5 s (bounded). \"p99/max ms after kill\": the client's latency for requests sent after the kill (a retried connect " +
      "failure costs a round trip)." +
      (lag.length ? ` The backend closed its listener ${fmt(median(lag))} ms (median) after the signal; times count from then.` : "") +
      (firstErr ? ` First client error seen: \`${String(firstErr).slice(0, 120)}\`.` : ""),
    ].join("\n");
  },
};
