// wrk runner and output parser (req/s, latency percentiles, socket errors, non-2xx).
// Parser ported from holdfast's shared benchmark anchors (anchors/tools/parse-wrk.js).
import fs from "node:fs";
import path from "node:path";
import type { Ctx } from "./context.ts";
import { run } from "./proc.ts";

export interface WrkResult {
  rps: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  requests: number | null;
  errors: number; // socket errors: connect + read + write + timeout
  non2xx: number;
}

export function parseWrk(txt: string): WrkResult {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
  const pct = (p: number): number | null => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(txt);
    return m ? +(Number(m[1]) * (units[m[2] ?? "ms"] ?? 1)).toFixed(3) : null;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(txt);
  const req = /(\d+) requests in/.exec(txt);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(txt);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(txt);
  return {
    rps: rps ? Number(rps[1]) : null,
    p50_ms: pct(50),
    p99_ms: pct(99),
    requests: req ? Number(req[1]) : null,
    errors: se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

export interface WrkOpts {
  /** A Lua script (-s), e.g. one that varies a header per request; relative to bench/. */
  script?: string;
  /** Extra request headers (-H "Name: value"). */
  headers?: string[];
  /** "https": wrk speaks TLS to the target (one handshake per connection, then keep-alive). */
  scheme?: "http" | "https";
}

/** wrk -t1 -c$CONNS -d${secs}s --latency on the load CPU; output saved to outFile when given. */
export async function runWrk(ctx: Ctx, port: number, secs: number, outFile: string | null, opts: WrkOpts = {}): Promise<WrkResult> {
  const args = ["-t1", `-c${ctx.s.conns}`, `-d${secs}s`, "--latency",
    ...(opts.script ? ["-s", path.resolve(ctx.bench, opts.script)] : []), ...(opts.headers ?? []).flatMap((h) => ["-H", h]),
    `${opts.scheme ?? "http"}://127.0.0.1:${port}/`];
  const r = await run("wrk", ctx.tools.wrk as string, args, { cpu: ctx.s.loadCpu, timeoutMs: (secs + 30) * 1000 });
  if (outFile) fs.writeFileSync(outFile, r.stdout);
  if (r.code !== 0 || r.timedOut) throw new Error(`wrk exited with ${r.code}${r.timedOut ? " (timed out)" : ""}: ${r.stdout.slice(-300)}`);
  const w = parseWrk(r.stdout);
  if (w.rps === null || w.requests === null) throw new Error(`could not parse wrk output: ${r.stdout.slice(-300)}`);
  return w;
}
