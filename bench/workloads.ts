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
import { startHttpBackend, startWsBackend, checkHello } from "./lib/backends.ts";
import { runWrk, type WrkOpts, type WrkResult } from "./lib/wrk.ts";
import { cpuSnap, cpuDelta, rssKib, hwmKib, sumKib } from "./lib/measure.ts";
import { start, stop } from "./lib/proc.ts";
import { median, fmt, ratioByRun, times, table, col } from "./lib/report.ts";
import {
  type Workload, type ThroughputSpec, split, client, cpuArgs, interleave, withTarget, labelOf, failureNotes,
  throughputTable, CPU_NOTE,
} from "./lib/harness.ts";
import { adminJson, withBase, type Running, type Target } from "./targets.ts";
import { failover } from "./failover.ts";
import { poolWorkload } from "./pool.ts";
import { slowClients } from "./slow.ts";
import { HUB_GOALS, HUB_WORKLOADS } from "./hub.ts";
import { TLS_GOALS, TLS_WORKLOADS, checkFront } from "./tls.ts";

export { otherLoad } from "./lib/harness.ts";
export type { Workload } from "./lib/harness.ts";

type Extra = Record<string, number | null>;

interface HttpOpts {
  /** Backend server blocks (3 for the balancing policies); holdfast gets one server per block. */
  servers?: number;
  /** The same wrk options for every target of the workload (a Lua script, headers). */
  wrk?: WrkOpts;
  /** Said after the wrk line of the report. */
  detail?: string;
  /**
   * Called before the measured window; what it returns is called after it and adds
   * numbers to the round (log bytes written, requests per server...).
   */
  probe?: (ctx: Ctx, r: Running) => Promise<(res: WrkResult) => Promise<Extra>>;
  spec?: Pick<ThroughputSpec, "refHead" | "extra">;
  /** More report after the table (ratio tables, notes). */
  more?: (ctx: Ctx, rows: Row[], ts: Target[]) => string[];
  /** How a started target is checked (default: GET / over HTTP/1.1 answers "hello world"). */
  check?: (port: number) => Promise<void>;
}

// ------------------------------------------------------------------ HTTP (wrk)

function httpWorkload(id: string, title: string, targets: string[], reference: string, o: HttpOpts = {}): Workload {
  const w: Workload = {
    id, title, targets, reference, needs: ["wrk"],
    async run(ctx, ts) {
      const be = await startHttpBackend(ctx, o.servers ?? 1);
      const note = `HTTP backend: ${be.kind}, on CPU ${ctx.s.loadCpu}.`;
      if (!ctx.notes.includes(note)) ctx.notes.push(note);
      try {
        return await interleave(ctx, id, ts, ctx.s.runs, (t, r) => withTarget(ctx, t, be, o.check ?? checkHello, async (running) => {
          // warm-up (JIT, pools, upstream connections); not recorded
          if (ctx.s.warmup > 0) await runWrk(ctx, running.port, ctx.s.warmup, null, o.wrk);
          const after = o.probe ? await o.probe(ctx, running) : null;
          const c0 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
          const res = await runWrk(ctx, running.port, ctx.s.duration, path.join(ctx.dir, "logs", `wrk-${id}-${t.name}-${r}.txt`), o.wrk);
          const c1 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
          const more = after ? await after(res) : {};
          return { m: { ...res, ...cpuDelta(c0, c1, ctx.s.proxyCpu, ctx.s.loadCpu, res.requests ?? 0), procs: running.pids.length, ...more } };
        }));
      } finally {
        await be.stop();
      }
    },
    report(ctx, rows, ts) {
      return [
        `wrk -t1 -c${ctx.s.conns} -d${ctx.s.duration}s --latency, 12-byte body, ${ctx.s.runs} round(s), ${ctx.s.warmup} s warm-up each.` +
        (o.detail ? ` ${o.detail}` : "") + "\n",
        throughputTable(w, rows, ts, {
          metric: "rps", metricHead: "req/s", lat: ["p50_ms", "p99_ms"], latHead: ["p50 ms", "p99 ms"],
          op: "req", errKeys: ["errors", "non2xx"], errHead: "errors (socket + non-2xx)", ...o.spec,
        }),
        ...(o.more ? ["", ...o.more(ctx, rows, ts)] : []),
        "",
        CPU_NOTE,
      ].join("\n");
    },
  };
  return w;
}

// ------------------------------------------------------------------ WebSocket

interface EchoOpts {
  detail?: string;
  spec?: Pick<ThroughputSpec, "refHead" | "extra">;
  more?: (ctx: Ctx, rows: Row[], ts: Target[]) => string[];
}

function wsEchoWorkload(id: string, title: string, targets: string[], reference: string, o: EchoOpts = {}): Workload {
  const w: Workload = {
    id, title, targets, reference,
    needs: [],
    async run(ctx, ts) {
      const s = ctx.s;
      return interleave(ctx, id, ts, s.runs, async (t) => {
        const be = await startWsBackend(ctx);
        try {
          return await withTarget(ctx, t, be, null, async (running) => {
            const res = await client(ctx, "ws-echo-bench.ts", [`--port=${running.port}`, `--conns=${s.echoConns}`,
              `--size=${s.echoSize}`, `--duration=${s.duration}`, `--warmup=${s.warmup}`, ...cpuArgs(ctx, running.pids)],
            (s.duration + s.warmup + 90) * 1000);
            if (res.conns === 0) throw new Error(`no WebSocket could be opened: ${String(res.first_error)}`);
            const out = split(res);
            out.m.procs = running.pids.length;
            return out;
          });
        } finally {
          await be.stop();
        }
      });
    },
    report(ctx, rows, ts) {
      return [
        `${ctx.s.echoConns} connections, ${ctx.s.echoSize}-byte binary messages, one in flight per connection, ` +
        `${ctx.s.warmup} s warm-up + ${ctx.s.duration} s, ${ctx.s.runs} round(s), fresh backend and proxy each.` +
        (o.detail ? ` ${o.detail}` : "") + "\n",
        throughputTable(w, rows, ts, {
          metric: "rtt_per_sec", metricHead: "round trips/s", lat: ["p50_ms", "p99_ms"], latHead: ["p50 RTT ms", "p99 RTT ms"],
          op: "round trip", errKeys: ["errors", "open_failed"], errHead: "errors", ...o.spec,
        }),
        ...(o.more ? ["", ...o.more(ctx, rows, ts)] : []),
        "",
        CPU_NOTE + (targets.includes("direct") ? " For \"direct\" the CPU columns describe the `ws` backend." : ""),
      ].join("\n");
    },
  };
  return w;
}

const wsEcho = wsEchoWorkload("ws-echo", "WebSocket echo round trips", withBase(["direct", "holdfast", "nginx", "haproxy", "http-proxy"]), "nginx");

const wsRate: Workload = {
  id: "ws-rate",
  title: "WebSocket handshake rate",
  targets: withBase(["direct", "holdfast", "nginx", "haproxy"]),
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

// ------------------------------------------------------------------ holdfast variants

const okOf = (rows: Row[], t: string): Row[] => rows.filter((r) => r.target === t && !r.error);
const pctMore = (x: number | null): string => (x === null ? "n/a" : `${x >= 1 ? "+" : "−"}${fmt(Math.abs(x - 1) * 100)}%`);
const procsCol = { head: "processes measured", cell: (rs: Row[]): string => fmt(median(col(rs, "procs"))) };

/** 1 worker vs N workers, per proxy, from the same rounds. */
const SCALE_PAIRS: [string, string][] = [["holdfast", "holdfast-auto"], ["nginx", "nginx-2w"], ["haproxy", "haproxy-2t"]];

function scaling(metric: string, unit: string, op: string) {
  return (ctx: Ctx, rows: Row[]): string[] => {
    const lines: string[][] = [];
    for (const [one, many] of SCALE_PAIRS) {
      const a = okOf(rows, one);
      const b = okOf(rows, many);
      if (!a.length || !b.length) continue;
      lines.push([
        shortLabel(one),
        fmt(median(col(a, metric))), fmt(median(col(b, metric))), times(ratioByRun(b, a, metric)),
        fmt(median(col(a, "proxy_cpu_us_per_op")), 1), fmt(median(col(b, "proxy_cpu_us_per_op")), 1),
        times(ratioByRun(b, a, "proxy_cpu_us_per_op")), fmt(median(col(b, "cpu_proxy_proc_pct"))),
      ]);
    }
    if (!lines.length) return [];
    const n = ctx.s.allCpuCount;
    return [
      `**Scaling, ${n} workers ÷ 1 worker** (median of the per-round ratios; holdfast: \`workers: auto\` = ${n} workers ÷ \`workers: 1\`):\n`,
      table(["proxy", `1 worker ${unit}`, `${n} workers ${unit}`, `${n} ÷ 1`, `CPU µs/${op}, 1`, `CPU µs/${op}, ${n}`,
        `CPU/${op} ${n} ÷ 1`, `CPU % of the ${n}-worker proxy`], lines),
      "",
      `The 1-worker targets are pinned to CPU ${ctx.s.proxyCpu} as in every other table; the ${n}-worker ones (holdfast ` +
      `\`workers: auto\`, nginx \`worker_processes ${n}\`, HAProxy \`nbthread ${n}\`) are not pinned (\`taskset -c ${ctx.s.allCpus}\`), ` +
      `and the backend and the load generator still run on CPU ${ctx.s.loadCpu}: **the load generator then shares the cores with the proxy**, ` +
      `so no proxy can reach ${n}× here; read holdfast's ratio next to nginx's and HAProxy's. CPU per operation sums every process ` +
      "of the proxy (holdfast: the primary and its workers, the children of the holdfast pid; nginx: its workers).",
    ];
  };
}

const workersHttp = httpWorkload("workers-http", "workers: auto vs workers: 1 — HTTP/1.1 keep-alive (L7)",
  ["holdfast", "holdfast-auto", "nginx", "nginx-2w", "haproxy", "haproxy-2t"], "holdfast", {
    detail: "1-worker targets pinned to the proxy CPU; the 2-worker ones unpinned (see below).",
    spec: { refHead: "holdfast workers: 1", extra: [procsCol] },
    more: scaling("rps", "req/s", "req"),
  });

const workersWs = wsEchoWorkload("workers-ws", "workers: auto vs workers: 1 — WebSocket echo round trips",
  ["holdfast", "holdfast-auto", "nginx", "nginx-2w", "haproxy", "haproxy-2t"], "holdfast", {
    detail: "1-worker targets pinned to the proxy CPU; the 2-worker ones unpinned (see below).",
    spec: { refHead: "holdfast workers: 1", extra: [procsCol] },
    more: scaling("rtt_per_sec", "round trips/s", "round trip"),
  });

const wsTunnel = wsEchoWorkload("ws-tunnel", "WebSocket tunnel: frame-aware (L7) vs blind (L4)",
  ["holdfast-tcp", "holdfast", "holdfast-ping"], "holdfast-tcp", {
    detail: "The same ws echo backend behind one holdfast gateway: its L4 (`mode: tcp`) listener is a blind byte tunnel; " +
      "its L7 listener tracks the frames server→client (FrameTracker); with `websocket: { pingInterval: 25s, pongTimeout: 10s }` " +
      "it also runs every client→server chunk through the pong filter (no ping is due within the window: this is the cost of the filter armed).",
    spec: { refHead: "blind (L4)" },
    more(_ctx, rows) {
      const blind = okOf(rows, "holdfast-tcp");
      const lines: string[][] = [];
      for (const t of ["holdfast", "holdfast-ping"]) {
        const rs = okOf(rows, t);
        if (!rs.length || !blind.length) continue;
        const q = ratioByRun(rs, blind, "proxy_cpu_us_per_op");
        lines.push([t === "holdfast" ? "frame-aware (L7) ÷ blind (L4)" : "frame-aware + pong filter ÷ blind (L4)",
          fmt(median(col(rs, "proxy_cpu_us_per_op")), 1), fmt(median(col(blind, "proxy_cpu_us_per_op")), 1),
          times(q), pctMore(q), q === null ? "—" : q < 1.1 ? "yes" : "no"]);
      }
      if (!lines.length) return [];
      return [table(["proxy CPU per round trip", "µs, frame-aware", "µs, blind", "ratio (median per round)", "more CPU", "< 10% (goal)"], lines)];
    },
  });

const httpPolicies = httpWorkload("http-policies", "Balancing policies through the gateway (3 servers)",
  ["holdfast-rr", "holdfast-maglev", "holdfast-lrt"], "holdfast-rr", {
    servers: 3,
    wrk: { script: "conf/wrk-x-user.lua" },
    detail: "Backend: 3 server blocks on 3 ports of the backend nginx (holdfast servers s1, s2, s3). Every request " +
      "carries `X-User: u1`..`u1000` (wrk Lua script `bench/conf/wrk-x-user.lua`, the same for all three policies), the " +
      "key of maglev's `hashKey: header:X-User`.",
    spec: {
      refHead: "round-robin",
      extra: [{
        head: "requests s1 / s2 / s3 %",
        cell: (rs) => [1, 2, 3].map((i) => fmt(median(col(rs, `share_s${i}`)))).join(" / "),
      }],
    },
    async probe(_ctx, r) {
      const counts = async (): Promise<number[] | null> => {
        if (r.admin === undefined) return null;
        try {
          const b = (await adminJson(r.admin, "/api/backends/b")) as { servers?: { name: string; requests: number }[] };
          return [1, 2, 3].map((i) => b.servers?.find((x) => x.name === `s${i}`)?.requests ?? 0);
        } catch {
          return null;
        }
      };
      const before = await counts();
      return async () => {
        const after = await counts();
        if (!before || !after) return {};
        const d = after.map((x, i) => x - (before[i] ?? 0));
        const tot = d.reduce((a, b) => a + b, 0);
        return Object.fromEntries(d.map((x, i) => [`share_s${i + 1}`, tot > 0 ? +((100 * x) / tot).toFixed(1) : null]));
      };
    },
    more: () => ["\"requests s1 / s2 / s3\": each server's share of the measured window's requests (admin API `/api/backends/b`)."],
  });

const fileSize = (f: string): number => {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
};

const httpAccessLog = httpWorkload("http-accesslog", "Access log cost (L7)", ["holdfast", "holdfast-accesslog"], "holdfast", {
  detail: "`accessLog: true` on the listener; the gateway's stdout (the access lines, pino, asynchronous) goes to a file " +
    "in the results folder, so the write cost is real.",
  spec: {
    refHead: "log off",
    extra: [
      { head: "log written MiB", cell: (rs) => (rs.some((r) => r.m.log_bytes) ? fmt(median(col(rs, "log_bytes")) as number / 2 ** 20, 1) : "—") },
      { head: "log B/req", cell: (rs) => (rs.some((r) => r.m.log_bytes) ? fmt(median(col(rs, "log_bytes_per_req"))) : "—") },
    ],
  },
  async probe(_ctx, r) {
    const f = r.accessLog;
    if (!f) return async () => ({});
    const size0 = fileSize(f);
    return async (res) => {
      await sleep(300); // pino writes asynchronously
      const b = fileSize(f) - size0;
      return { log_bytes: b, log_bytes_per_req: res.requests ? +(b / res.requests).toFixed(1) : null };
    };
  },
  more(ctx, rows) {
    const on = okOf(rows, "holdfast-accesslog");
    const off = okOf(rows, "holdfast");
    const f = path.join(ctx.dir, "logs", "holdfast-accesslog-access.log");
    const size = fileSize(f);
    const out: string[] = [];
    if (on.length && off.length) {
      const cpu = ratioByRun(on, off, "proxy_cpu_us_per_op");
      const q = ratioByRun(on, off, "rps");
      out.push(`Access log on: ${pctMore(cpu)} CPU per request (${times(cpu)}), ${times(q)} the req/s of log off (medians of the per-round ratios).`);
    }
    if (size > 0) {
      let sample = "";
      try {
        const fd = fs.openSync(f, "r");
        const buf = Buffer.alloc(8192);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        fs.closeSync(fd);
        // the gateway's own startup lines go to stdout too; the access lines are JSON
        sample = buf.subarray(0, n).toString("utf8").split("\n").find((l) => l.startsWith("{")) ?? "";
      } catch {
        // no sample
      }
      out.push("", `The log file (\`bench/results/${path.basename(ctx.dir)}/logs/holdfast-accesslog-access.log\`, every round and warm-up) ` +
        `is ${fmt(size / 2 ** 20, 1)} MiB; one line:`, "", "```json", sample, "```");
    }
    return out;
  },
});

// ------------------------------------------------------------------ the list

/** Every workload, in report order. Workload ids can be picked with WORKLOADS="http l4 ...". */
export const WORKLOADS: Workload[] = [
  httpWorkload("http", "HTTP/1.1 keep-alive, small responses (L7)", withBase(["direct", "holdfast", "http-proxy", "nginx", "haproxy"]), "nginx"),
  httpWorkload("l4", "L4 (TCP) proxying: HTTP/1.1 keep-alive through a TCP proxy", withBase(["direct", "holdfast-tcp", "nginx-stream", "haproxy-tcp"]), "nginx-stream"),
  wsEcho,
  wsIdle,
  wsRate,
  workersHttp,
  workersWs,
  wsTunnel,
  httpPolicies,
  httpAccessLog,
  failover,
  poolWorkload,
  slowClients,
  httpWorkload("https", "HTTPS keep-alive, small responses (TLS termination, L7)", ["holdfast-tls", "nginx-tls", "haproxy-tls"], "nginx-tls", {
    wrk: { scheme: "https" },
    check: (port) => checkFront(port, "tls"),
    detail: "Over TLS 1.3 (X25519, the bench's ECDSA P-256 certificate, ALPN http/1.1): one handshake per connection, then keep-alive.",
    spec: { refHead: "NGINX" },
  }),
  ...TLS_WORKLOADS,
  ...HUB_WORKLOADS,
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

/** `workers: auto` ÷ `workers: 1`, same rounds; nginx's 2 ÷ 1 workers alongside for what this machine allows. */
function workersGoal(what: string, w: string, metric: string, unit: string, op: string, errKeys: string[]): Goal {
  return {
    what,
    goal: "≥ 1.8× `workers: 1`",
    check(rows) {
      const one = okRows(rows, w, "holdfast");
      const auto = okRows(rows, w, "holdfast-auto");
      if (!one.length || !auto.length) return NOT_MEASURED;
      const q = ratioByRun(auto, one, metric);
      const cpu = ratioByRun(auto, one, "proxy_cpu_us_per_op");
      const ng = ratioByRun(okRows(rows, w, "nginx-2w"), okRows(rows, w, "nginx"), metric);
      const err = hasErrors(auto, errKeys) || hasErrors(one, errKeys) ? " ⚠ errors" : "";
      return {
        value: q === null ? "n/a" : `${q.toFixed(2)}× ${unit}${ng === null ? "" : ` (nginx 2 ÷ 1 workers: ${ng.toFixed(2)}×)`}${err}`,
        perCore: cpu === null ? "n/a" : `— (CPU/${op} ${cpu.toFixed(2)}× workers: 1)`,
        met: q === null ? null : q >= 1.8 && !err,
      };
    },
  };
}

/** CPU per round trip of a frame-aware tunnel ÷ the blind one (holdfast L4), < 1.10. */
function tunnelGoal(what: string, t: string): Goal {
  return {
    what,
    goal: "< 10% more CPU per round trip than blind (L4)",
    check(rows) {
      const rs = okRows(rows, "ws-tunnel", t);
      const blind = okRows(rows, "ws-tunnel", "holdfast-tcp");
      const q = rs.length && blind.length ? ratioByRun(rs, blind, "proxy_cpu_us_per_op") : null;
      if (q === null) return NOT_MEASURED;
      const err = hasErrors(rs, ["errors", "open_failed"]) || hasErrors(blind, ["errors", "open_failed"]) ? " ⚠ errors" : "";
      const more = `${q >= 1 ? "+" : "−"}${(Math.abs(q - 1) * 100).toFixed(0)}%`;
      return { value: `${more} CPU/round trip (${q.toFixed(2)}×)${err}`, perCore: "—", met: q < 1.1 && !err };
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
  tunnelGoal("frame-aware WebSocket tunnel vs blind", "holdfast"),
  tunnelGoal("… with pings armed (pong filter)", "holdfast-ping"),
  workersGoal("`workers: auto` on 2 cores, HTTP req/s", "workers-http", "rps", "req/s", "req", ["errors", "non2xx"]),
  workersGoal("`workers: auto` on 2 cores, WebSocket echo", "workers-ws", "rtt_per_sec", "round trips/s", "round trip", ["errors", "open_failed"]),
  {
    what: "pool: statistics overhead vs plain undici",
    goal: "≤ 3% CPU per request",
    check(rows) {
      const v = median(okRows(rows, "pool", "overhead").map((r) => r.m.cpu_ratio));
      if (v === null) return NOT_MEASURED;
      return { value: `${v >= 1 ? "+" : "−"}${(Math.abs(v - 1) * 100).toFixed(1)}% CPU/req (one process, paired blocks)`, perCore: "—", met: v <= 1.03 };
    },
  },
  {
    what: "pool: Pools vs https.Agent keepAlive (HTTPS)",
    goal: "≥ 2× per core",
    check(rows) {
      const rs = okRows(rows, "pool", "pools");
      const refRows = okRows(rows, "pool", "https-agent");
      const q = ratioByRun(rs, refRows, "rps");
      const cpu = ratioByRun(rs, refRows, "proxy_cpu_us_per_op");
      if (q === null || cpu === null) return NOT_MEASURED;
      return { value: `${q.toFixed(2)}× req/s`, perCore: `${(1 / cpu).toFixed(2)}× (CPU/req ${cpu.toFixed(2)}×)`, met: 1 / cpu >= 2 };
    },
  },
];

GOALS.push(
  throughputGoal("HTTPS keep-alive req/s", "https", "holdfast-tls", "nginx-tls", 0.75),
  throughputGoal("HTTP/2 req/s over TLS (h2load 50 × 10)", "h2", "holdfast-tls", "nginx-tls", 0.75),
  throughputGoal("HTTP/2 req/s, h2c (h2load 50 × 10)", "h2c", "holdfast-h2c", "nginx-h2c", 0.75),
  ...TLS_GOALS,
  ...HUB_GOALS,
);

/** The goals table, or null when none of them was measured. */
export function goalsTable(rows: Row[]): string | null {
  const res = GOALS.map((g) => ({ g, c: g.check(rows) }));
  if (res.every((x) => x.c.met === null)) return null;
  return table(["holdfast", "goal (BENCH.md)", "this run", "per core (from CPU µs/op)", "met"],
    res.map(({ g, c }) => [g.what, g.goal, c.value, c.perCore, c.met === null ? "—" : c.met ? "yes" : "no"]), [0, 1]);
}
