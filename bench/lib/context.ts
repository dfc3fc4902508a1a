// What every workload and target gets: the knobs (env), the tools found on this
// machine, the results folder, ports, and a place to record raw rows.
import fs from "node:fs";
import path from "node:path";
import { freePort, which, sys } from "./proc.ts";

export interface Settings {
  quick: boolean;
  runs: number;
  duration: number; // s, wrk and the echo test
  warmup: number; // s
  conns: number; // wrk -c
  idleN: number; // idle WebSockets actually opened
  idleNRequested: number;
  echoConns: number;
  echoSize: number;
  rateTotal: number;
  rateConc: number;
  rateWarm: number;
  settle: number; // s, idle test
  targets: string[] | null; // null = all
  workloads: string[] | null; // null = all
  proxyCpu: number;
  loadCpu: number;
  /** taskset list of the unpinned targets (workers: auto, nginx/HAProxy with 2 workers): the proxy and load CPUs. */
  allCpus: string;
  /** How many CPUs that is: the worker count of those targets. */
  allCpuCount: number;
  failoverRate: number; // req/s of the failover client
  failoverWarm: number; // s before the kill
  basePort: number;
  writeDocs: boolean;
}

const int = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a number`);
  return n;
};
const list = (name: string): string[] | null => {
  const v = (process.env[name] ?? "").trim();
  return v ? v.split(/[\s,]+/) : null;
};

export function readSettings(cpus: number): Settings {
  const quick = process.env.QUICK === "1";
  const idleNRequested = int("IDLE_N", quick ? 2000 : 10000);
  // A proxy holds 2 fds per proxied connection; keep ~1000 spare under the limit (as the anchors do).
  const idleMax = Math.max(1000, Math.floor((sys.nofile - 1000) / 2 / 1000) * 1000);
  const twoCores = cpus >= 2;
  const proxyCpu = int("PROXY_CPU", 0);
  const loadCpu = int("LOAD_CPU", twoCores ? 1 : 0);
  const all = [...new Set([proxyCpu, loadCpu])].sort((a, b) => a - b);
  return {
    quick,
    runs: Math.max(1, int("RUNS", quick ? 1 : 3)),
    duration: Math.max(1, int("DURATION", quick ? 3 : 10)),
    warmup: int("WARMUP", 1),
    conns: Math.max(1, int("CONNS", 50)),
    idleN: Math.min(idleNRequested, idleMax),
    idleNRequested,
    echoConns: int("ECHO_CONNS", 100),
    echoSize: int("ECHO_SIZE", 64),
    rateTotal: int("RATE_TOTAL", quick ? 2000 : 5000),
    rateConc: int("RATE_CONC", 50),
    rateWarm: int("RATE_WARM", quick ? 500 : 2000),
    settle: int("SETTLE", 3),
    targets: list("TARGETS"),
    workloads: list("WORKLOADS"),
    proxyCpu,
    loadCpu,
    allCpus: all.join(","),
    allCpuCount: all.length,
    failoverRate: Math.max(10, int("FAILOVER_RATE", 200)),
    failoverWarm: Math.max(1, int("FAILOVER_WARM", 3)),
    basePort: int("BASE_PORT", 24100),
    writeDocs: process.env.WRITE_DOCS !== "0",
  };
}

export interface Tools {
  nginx: string | null;
  haproxy: string | null;
  wrk: string | null;
  h2load: string | null;
  curl: string | null;
  streamModule: string | null; // ngx_stream_module.so
  holdfast: boolean; // bin/holdfast.js present (whether it runs is found out by starting it)
}

export const INSTALL_HINT = "apt-get install nginx haproxy wrk libnginx-mod-stream";

export function findTools(repo: string): Tools {
  const mods = ["/usr/lib/nginx/modules/ngx_stream_module.so", "/usr/share/nginx/modules/ngx_stream_module.so"];
  // HIDE_TOOLS="nginx wrk" pretends they are not installed (to try the skip paths).
  const hidden = list("HIDE_TOOLS") ?? [];
  const find = (cmd: string): string | null => (hidden.includes(cmd) ? null : which(cmd));
  return {
    nginx: find("nginx"),
    haproxy: find("haproxy"),
    wrk: find("wrk"),
    h2load: find("h2load"),
    curl: find("curl"),
    streamModule: hidden.includes("libnginx-mod-stream") ? null : (mods.find((m) => fs.existsSync(m)) ?? null),
    holdfast: !hidden.includes("holdfast") && fs.existsSync(path.join(repo, "bin/holdfast.js")),
  };
}

export interface Row {
  workload: string;
  target: string;
  run: number;
  /** Set when this measurement could not be made (target did not start, client failed...). */
  error?: string;
  /** Numbers only, null when unknown. */
  m: Record<string, number | null>;
  info?: Record<string, unknown>;
}

export interface Ctx {
  s: Settings;
  tools: Tools;
  repo: string; // repository root (cwd of holdfast)
  bench: string; // bench/ folder
  dir: string; // results folder of this run
  node: string; // the Node binary running us (Node 24)
  notes: string[]; // lines for the report (fallbacks, lowered N, ...)
  port(key: string): Promise<number>;
  raw(row: Row): void;
}

export function makeCtx(s: Settings, tools: Tools, repo: string, dir: string): Ctx {
  const ports = new Map<string, number>();
  let next = s.basePort;
  const rawFile = path.join(dir, "raw.jsonl");
  return {
    s, tools, repo, dir,
    bench: path.join(repo, "bench"),
    node: process.execPath,
    notes: [],
    async port(key) {
      let p = ports.get(key);
      if (p === undefined) {
        p = await freePort(next);
        next = p + 1;
        ports.set(key, p);
      }
      return p;
    },
    raw(row) {
      fs.appendFileSync(rawFile, JSON.stringify(row) + "\n");
    },
  };
}

/** Copy bench/conf/<tpl> to <results>/conf/<out>, @KEY@ -> value. */
export function render(ctx: Ctx, tpl: string, out: string, vars: Record<string, string | number>): string {
  let txt = fs.readFileSync(path.join(ctx.bench, "conf", tpl), "utf8");
  for (const [k, v] of Object.entries(vars)) txt = txt.split(`@${k}@`).join(String(v));
  const left = /@[A-Z_0-9]+@/.exec(txt);
  if (left) throw new Error(`unrendered placeholder ${left[0]} in ${tpl}`);
  const file = path.join(ctx.dir, "conf", out);
  fs.writeFileSync(file, txt);
  return file;
}

/** nginx worker_connections: 2 per proxied connection plus headroom, within the fd limit. */
export function workerConnections(ctx: Ctx): number {
  return Math.min(sys.nofile - 100, Math.max(4096, 2 * ctx.s.idleN + 2000));
}
