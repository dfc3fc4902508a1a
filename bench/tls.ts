// The TLS and HTTP/2 workloads (issue 13): holdfast, NGINX and HAProxy as the front that
// terminates TLS (the same ECDSA P-256 certificate, bench/lib/pki.ts) or speaks h2c, in
// front of the same HTTP backend, one worker each, pinned to the proxy CPU.
//
//   https          (workloads.ts) wrk over TLS, keep-alive: one handshake per connection
//   tls-handshake  new TLS connections per second: parallel `openssl s_time` clients
//                  (C, OpenSSL), each connection a handshake + `GET /` + close; full
//                  handshakes (-new) and resumed ones (-reuse: the session ticket of the
//                  previous connection), reuse checked per connection
//   h2, h2c        h2load at 50 connections × 10 streams, over TLS (ALPN h2) and in
//                  clear text with prior knowledge
//
// Env: HS_CLIENTS (8): parallel s_time processes in tls-handshake.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import path from "node:path";
import type { Ctx, Row } from "./lib/context.ts";
import { startHttpBackend } from "./lib/backends.ts";
import { type Workload, interleave, withTarget, throughputTable, CPU_NOTE } from "./lib/harness.ts";
import { cpuDelta, cpuSnap } from "./lib/measure.ts";
import { log, run, which } from "./lib/proc.ts";
import { fmt, median, ratioByRun, col } from "./lib/report.ts";
import type { Front } from "./targets.ts";
import type { Goal } from "./workloads.ts";

const HS_CLIENTS = Math.max(1, Number(process.env.HS_CLIENTS) || 8);

/** GET / through a TLS front (HTTP/1.1, no verification) or an h2c one (HTTP/2 prior knowledge): "hello world". */
export function checkFront(port: number, front: Front): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new Error(`GET / on ${port} (${front}): ${why}`));
    const timer = setTimeout(() => fail("timed out"), 5000);
    const done = (status: number, body: string): void => {
      clearTimeout(timer);
      if (status === 200 && body === "hello world\n") resolve();
      else fail(`expected 200 "hello world", got ${status} ${JSON.stringify(body.slice(0, 80))}`);
    };
    if (front === "tls") {
      const req = https.get({ host: "127.0.0.1", port, path: "/", agent: false, rejectUnauthorized: false }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => done(res.statusCode ?? 0, body));
      });
      req.on("error", (e) => fail(e.message));
      return;
    }
    const c = http2.connect(`http://127.0.0.1:${port}`);
    c.on("error", (e) => fail(e.message));
    const req = c.request({ ":path": "/" });
    let status = 0;
    let body = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
      c.close();
      done(status, body);
    });
    req.on("error", (e) => fail(e.message));
  });
}

// ------------------------------------------------------------------ tls-handshake (openssl s_time)

interface STime {
  conns: number;
  /** Connections that resumed a session ('r' in s_time's progress line) and that did not ('*'). */
  reused: number;
  full: number;
}

/** One `openssl s_time` run: connect, handshake, GET /, read, close, for `secs`. */
async function sTime(ctx: Ctx, port: number, mode: "new" | "reuse", secs: number): Promise<STime> {
  const r = await run("s_time", "openssl", ["s_time", "-connect", `127.0.0.1:${port}`, `-${mode}`, "-time", String(secs), "-www", "/"],
    { cpu: ctx.s.loadCpu, timeoutMs: (secs + 30) * 1000, errLog: path.join(ctx.dir, "logs", "s_time.err") });
  const m = /(\d+) connections in [\d.]+ real seconds/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`openssl s_time -${mode} exited with ${r.code}: ${r.stdout.slice(-300)}`);
  // The progress line: one character per connection.
  const progress = r.stdout.split("\n").filter((l) => /^[*r]+$/.test(l)).join("");
  let reused = 0;
  for (const ch of progress) if (ch === "r") reused++;
  return { conns: Number(m[1]), reused, full: progress.length - reused };
}

/** HS_CLIENTS s_time processes at once on the load CPU; the proxy's CPU over the whole window. */
async function handshakes(ctx: Ctx, pids: number[], port: number, mode: "new" | "reuse", secs: number): Promise<Record<string, number | null>> {
  const c0 = cpuSnap(pids, ctx.s.proxyCpu, ctx.s.loadCpu);
  const res = await Promise.all(Array.from({ length: HS_CLIENTS }, () => sTime(ctx, port, mode, secs)));
  const c1 = cpuSnap(pids, ctx.s.proxyCpu, ctx.s.loadCpu);
  const conns = res.reduce((a, x) => a + x.conns, 0);
  const reused = res.reduce((a, x) => a + x.reused, 0);
  const counted = res.reduce((a, x) => a + x.reused + x.full, 0);
  const secsMeasured = (c1.t - c0.t) / 1000;
  return {
    conns_per_sec: secsMeasured > 0 ? +(conns / secsMeasured).toFixed(1) : null,
    conns,
    reused_pct: counted > 0 ? +((100 * reused) / counted).toFixed(1) : null,
    ...cpuDelta(c0, c1, ctx.s.proxyCpu, ctx.s.loadCpu, conns),
  };
}

const MODES = [["full", "new"], ["resumed", "reuse"]] as const;

/** The rows of one mode, with the mode's numbers under their plain names (for throughputTable). */
function modeRows(rows: Row[], mode: string): Row[] {
  const pre = `${mode}.`;
  return rows.map((r) => ({
    ...r,
    m: Object.fromEntries(Object.entries(r.m).filter(([k]) => k.startsWith(pre)).map(([k, v]) => [k.slice(pre.length), v])),
  }));
}

const tlsHandshake: Workload = {
  id: "tls-handshake",
  title: "New TLS connections per second: full and resumed handshakes",
  targets: ["holdfast-tls", "nginx-tls", "haproxy-tls", "node-tls"],
  reference: "nginx-tls",
  needs: [],
  async run(ctx, ts) {
    if (which("openssl") === null) throw new Error("the openssl command is not installed (apt-get install openssl)");
    const be = await startHttpBackend(ctx, 1);
    try {
      return await interleave(ctx, this.id, ts, ctx.s.runs, (t) => withTarget(ctx, t, be, (port) => checkFront(port, "tls"), async (running) => {
        const m: Record<string, number | null> = {};
        for (const [mode, flag] of MODES) {
          if (ctx.s.warmup > 0) await handshakes(ctx, running.pids, running.port, flag, ctx.s.warmup);
          const r = await handshakes(ctx, running.pids, running.port, flag, ctx.s.duration);
          for (const [k, v] of Object.entries(r)) m[`${mode}.${k}`] = v;
        }
        // A resumed run that did not resume measures full handshakes: an error, not a number.
        m["resumed.not_resumed"] = m["resumed.reused_pct"] === null ? null : +(100 - (m["resumed.reused_pct"] as number)).toFixed(1);
        m["full.not_resumed"] = 0;
        return { m };
      }));
    } finally {
      await be.stop();
    }
  },
  report(ctx, rows, ts) {
    const out = [
      `${HS_CLIENTS} \`openssl s_time -www /\` clients at once on the load CPU (OpenSSL ${opensslVersion()}), each a loop of: TCP connect, ` +
      "TLS handshake, `GET / HTTP/1.0` through the proxy to the backend, read the answer, close. Full: `-new` (no session offered); " +
      `resumed: \`-reuse\` (each connection offers the session ticket of the one before). ${ctx.s.warmup} s warm-up + ${ctx.s.duration} s ` +
      `per mode, ${ctx.s.runs} round(s), fresh proxy each. TLS 1.3, X25519, the bench's ECDSA P-256 certificate.\n`,
    ];
    for (const [mode] of MODES) {
      out.push(`**${mode === "full" ? "Full handshakes" : "Resumed handshakes"}**\n`,
        throughputTable(this, modeRows(rows, mode), ts, {
          metric: "conns_per_sec", metricHead: "connections/s", lat: ["reused_pct", "conns"], latHead: ["resumed %", "connections"], latDigits: 0,
          op: "connection", errKeys: [], errHead: "errors", refHead: "NGINX",
        }), "");
    }
    const hf = rows.filter((r) => r.target === "holdfast-tls" && !r.error);
    const ng = rows.filter((r) => r.target === "nginx-tls" && !r.error);
    if (hf.length && ng.length) {
      const q = (k: string): string => {
        const x = ratioByRun(hf, ng, k);
        return x === null ? "n/a" : `${(1 / x).toFixed(2)}×`;
      };
      out.push(`Per core (1 ÷ proxy CPU per connection), holdfast ÷ NGINX: full ${q("full.proxy_cpu_us_per_op")}, resumed ${q("resumed.proxy_cpu_us_per_op")}.`, "");
    }
    out.push("\"resumed %\" counts s_time's per-connection marks ('r' = the session was resumed); a resumed row well under 100% " +
      "measures full handshakes. The load side (s_time verifies nothing but still does its half of every handshake) is usually " +
      "the limit: read the proxy CPU µs per connection. The node:tls row is not a proxy: a bare Node TLS server answering " +
      "by itself (bench/servers/tls-hello.ts), what Node's TLS costs per connection before any gateway work. " + CPU_NOTE);
    return out.join("\n");
  },
};

let sslVersion: string | undefined;
/** The openssl command's version, e.g. "3.0.19" (the C client of tls-handshake). */
function opensslVersion(): string {
  sslVersion ??= /OpenSSL ([\w.]+)/.exec(spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout ?? "")?.[1] ?? "?";
  return sslVersion;
}

// ------------------------------------------------------------------ h2 / h2c (h2load)

interface H2loadResult {
  rps: number | null;
  requests: number | null;
  errors: number;
  non2xx: number;
  mean_ms: number | null;
  max_ms: number | null;
}

export function parseH2load(txt: string): H2loadResult {
  const ms = (v: string | undefined, u: string | undefined): number | null => (v === undefined ? null : +(Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u ?? "ms"] ?? 1)).toFixed(3));
  const fin = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(txt);
  const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(txt);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(txt);
  const t = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(txt);
  return {
    rps: fin ? Number(fin[1]) : null,
    requests: req ? Number(req[1]) : null,
    errors: req ? Number(req[2]) + Number(req[3]) + Number(req[4]) : 0,
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0,
    mean_ms: ms(t?.[5], t?.[6]),
    max_ms: ms(t?.[3], t?.[4]),
  };
}

const H2_CONNS = 50;
const H2_STREAMS = 10;

/**
 * h2load for `secs`. On a loaded machine h2load 1.52 sometimes hangs after "Stopped all
 * clients" without printing its report (whichever proxy it measures): it is killed 20 s
 * later, and the caller runs it again.
 */
async function runH2load(ctx: Ctx, url: string, secs: number, outFile: string | null): Promise<H2loadResult> {
  const args = ["-t1", `-c${H2_CONNS}`, `-m${H2_STREAMS}`, "-D", String(secs), url];
  const r = await run("h2load", ctx.tools.h2load as string, args, { cpu: ctx.s.loadCpu, timeoutMs: (secs + 20) * 1000 });
  if (outFile) fs.writeFileSync(outFile, r.stdout);
  const res = parseH2load(r.stdout);
  if (r.code !== 0 || res.rps === null || res.requests === null) {
    throw new Error(`h2load exited with ${r.code}${r.timedOut ? " (hung, killed)" : ""}: ${r.stdout.slice(-300)}`);
  }
  return res;
}

function h2Workload(id: "h2" | "h2c", front: Front, targets: string[]): Workload {
  const w: Workload = {
    id,
    title: front === "tls" ? "HTTP/2 over TLS (ALPN h2), h2load 50 connections × 10 streams" : "HTTP/2 in clear text (h2c, prior knowledge), h2load 50 connections × 10 streams",
    targets, reference: targets[1] as string, needs: [],
    async run(ctx, ts) {
      if (!ctx.tools.h2load) throw new Error("h2load is not installed (apt-get install nghttp2-client)");
      const be = await startHttpBackend(ctx, 1);
      const url = (port: number): string => `${front === "tls" ? "https" : "http"}://127.0.0.1:${port}/`;
      try {
        return await interleave(ctx, id, ts, ctx.s.runs, (t, round) => withTarget(ctx, t, be, (port) => checkFront(port, front), async (running) => {
          if (ctx.s.warmup > 0) await runH2load(ctx, url(running.port), ctx.s.warmup, null).catch(() => {});
          // A second try when h2load hangs (see runH2load), measured on its own.
          for (let attempt = 1; ; attempt++) {
            const c0 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
            try {
              const res = await runH2load(ctx, url(running.port), ctx.s.duration, path.join(ctx.dir, "logs", `h2load-${id}-${t.name}-${round}.txt`));
              const c1 = cpuSnap(running.pids, ctx.s.proxyCpu, ctx.s.loadCpu);
              return { m: { ...res, ...cpuDelta(c0, c1, ctx.s.proxyCpu, ctx.s.loadCpu, res.requests ?? 0), attempts: attempt } };
            } catch (e) {
              if (attempt === 2) throw e;
              log(`${id} ${t.name} round ${round}: ${(e as Error).message.slice(0, 100)}; once more`);
            }
          }
        }));
      } finally {
        await be.stop();
      }
    },
    report(ctx, rows, ts) {
      return [
        `\`h2load -t1 -c${H2_CONNS} -m${H2_STREAMS} -D ${ctx.s.duration} ${front === "tls" ? "https" : "http"}://…/\` on the load CPU, ` +
        `12-byte body, ${ctx.s.runs} round(s), ${ctx.s.warmup} s warm-up each. Every stream is one request to the HTTP/1.1 backend ` +
        "(upstream keep-alive)." + (front === "tls" ? " TLS 1.3, the bench's ECDSA P-256 certificate." : "") + "\n",
        throughputTable(w, rows, ts, {
          metric: "rps", metricHead: "req/s", lat: ["mean_ms", "max_ms"], latHead: ["mean ms", "max ms"],
          op: "req", errKeys: ["errors", "non2xx"], errHead: "errors (failed + non-2xx)", refHead: "NGINX",
        }),
        "",
        CPU_NOTE,
      ].join("\n");
    },
  };
  return w;
}

export const TLS_WORKLOADS: Workload[] = [
  tlsHandshake,
  h2Workload("h2", "tls", ["holdfast-tls", "nginx-tls", "haproxy-tls"]),
  h2Workload("h2c", "h2c", ["holdfast-h2c", "nginx-h2c", "haproxy-h2c"]),
];

/** New full handshakes per core ≥ 0.8× NGINX's (from the proxy CPU per connection), resumed ones alongside. */
export const TLS_GOALS: Goal[] = [{
  what: "new TLS handshakes/s (full; resumed alongside)",
  goal: "≥ 0.8× nginx per core",
  check(rows) {
    const hf = rows.filter((r) => r.workload === "tls-handshake" && r.target === "holdfast-tls" && !r.error);
    const ng = rows.filter((r) => r.workload === "tls-handshake" && r.target === "nginx-tls" && !r.error);
    const full = ratioByRun(hf, ng, "full.proxy_cpu_us_per_op");
    const res = ratioByRun(hf, ng, "resumed.proxy_cpu_us_per_op");
    const q = ratioByRun(hf, ng, "full.conns_per_sec");
    if (full === null) return { value: "not measured", perCore: "—", met: null };
    const notResumed = median(col(hf, "resumed.not_resumed"));
    const warn = notResumed !== null && notResumed > 5 ? " ⚠ resumption failed" : "";
    return {
      value: `${q === null ? "n/a" : q.toFixed(2)}× conn/s (holdfast ${fmt(median(col(hf, "full.conns_per_sec")))}/s)${warn}`,
      perCore: `full ${(1 / full).toFixed(2)}×, resumed ${res === null ? "n/a" : (1 / res).toFixed(2)}× (CPU/conn ${full.toFixed(2)}×)`,
      met: 1 / full >= 0.8 && !warn,
    };
  },
}];
