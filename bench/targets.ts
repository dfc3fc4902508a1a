// The targets: every proxy the bench can put between the load generator and the
// backend, each started fresh (pinned to the proxy CPU) and stopped by PID.
//
// This is one of the two seams of the bench (the other is WORKLOADS in workloads.ts):
// to add a variant (a balancing policy, `workers: auto`, the access log on...) add an
// entry here, e.g. holdfast("holdfast-auto", "holdfast L7, workers: auto", "web",
// { workers: "auto", cpu: "all" }), and name it in the workloads that should run it.
// Unpinned targets (`cpu: "all"`, nginx/HAProxy with 2 workers) run on the proxy and the
// load CPU (taskset with both: the driver itself is pinned to the load CPU, and a child
// would inherit that).
import fs from "node:fs";
import path from "node:path";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type Ctx, render, workerConnections } from "./lib/context.ts";
import { start, stop, waitPort, addExtra, tail, type Proc, sys } from "./lib/proc.ts";
import { children, descendants } from "./lib/measure.ts";
import { benchCert } from "./lib/pki.ts";

/** What a target proxies to. `pids` are the backend's processes (measured for "direct"). */
export interface Upstream {
  port: number;
  /** Every server of the backend (the first is `port`); absent = just `port`. */
  ports?: number[];
  pids: number[];
  proto: "http" | "ws";
}

export interface Running {
  port: number;
  /** Processes whose CPU and RSS are measured (nginx: its workers; holdfast: the whole tree). */
  pids: number[];
  /** holdfast: its admin port (the API and /metrics). */
  admin?: number;
  /** holdfast with `accessLog: true`: the file its stdout (the access log) goes to. */
  accessLog?: string;
  /** If the proxy process has exited on its own: how (exit code and the gist of its log). */
  died(): string | null;
  stop(): Promise<void>;
}

function running(p: Proc, port: number, pids: number[], more: Partial<Running> = {}): Running {
  return {
    ...more,
    port, pids,
    died: () => (p.done ? `${p.name} exited (code ${p.code}): ${tail(p.log)}` : null),
    stop: () => stop(p),
  };
}

/** Something a target needs on this machine; a target whose need is missing is skipped. */
export type Need = "nginx" | "haproxy" | "nginx-stream" | "holdfast";

export interface Target {
  name: string;
  label: string;
  layer: "direct" | "l7" | "l4";
  needs: Need[];
  /** Runs on every CPU of the bench (proxy + load), not pinned to the proxy CPU. */
  unpinned?: boolean;
  start(ctx: Ctx, up: Upstream): Promise<Running>;
}

/**
 * A target that could not start. `giveUp`: it hung (never listened) rather than exiting,
 * so the workload stops trying it for the remaining rounds instead of waiting again; a
 * target that exits at once is cheap to retry in the next round.
 */
export class StartError extends Error {
  readonly giveUp: boolean;
  constructor(message: string, giveUp: boolean) {
    super(message);
    this.giveUp = giveUp;
  }
}

const START_TIMEOUT_MS = 20_000;

function logFile(ctx: Ctx, name: string): string {
  return path.join(ctx.dir, "logs", `${name}.log`);
}

/**
 * Wait for the ports, then for the processes to measure (at least `min` of them: the
 * workers of a multi-process proxy appear one by one).
 */
async function started(p: Proc, ports: number[], measure: () => number[], min = 1): Promise<number[]> {
  try {
    for (const port of ports) await waitPort(port, START_TIMEOUT_MS, p);
  } catch (e) {
    const exited = p.done;
    await stop(p);
    throw new StartError((e as Error).message, !exited);
  }
  let pids = measure();
  for (let i = 0; i < 100 && pids.length < min; i++) {
    await sleep(100);
    pids = measure();
  }
  if (pids.length < min) {
    await stop(p);
    throw new StartError(`${p.name}: ${pids.length} process(es) to measure under pid ${p.pid}, expected ${min}`, true);
  }
  addExtra(p, pids.filter((x) => x !== p.pid));
  return pids;
}

const direct: Target = {
  name: "direct",
  label: "direct (no proxy)",
  layer: "direct",
  needs: [],
  async start(_ctx, up) {
    return { port: up.port, pids: up.pids, died: () => null, stop: async () => {} };
  },
};

/** The taskset CPU list of a target: its own core, or every CPU of the bench when unpinned. */
const cpuOf = (ctx: Ctx, unpinned: boolean): string | number => (unpinned ? ctx.s.allCpus : ctx.s.proxyCpu);

/** nginx L7 or L4; `multi` = `worker_processes` = the bench's CPU count, unpinned. */
function nginx(name: string, label: string, kind: "proxy" | "stream", multi = false): Target {
  return {
    name, label,
    layer: kind === "proxy" ? "l7" : "l4",
    needs: kind === "proxy" ? ["nginx"] : ["nginx", "nginx-stream"],
    unpinned: multi,
    async start(ctx, up) {
      const workers = multi ? ctx.s.allCpuCount : 1;
      const port = await ctx.port(name);
      fs.mkdirSync(path.join(ctx.dir, "tmp", name), { recursive: true });
      const conf = render(ctx, kind === "proxy" ? "nginx-proxy.conf" : "nginx-stream.conf", `${name}.conf`, {
        RUN: ctx.dir, NAME: name, LISTEN_PORT: port, UPSTREAM_PORT: up.port, NOFILE: sys.nofile,
        WORKER_CONNECTIONS: workerConnections(ctx), STREAM_MODULE: ctx.tools.streamModule ?? "", WORKERS: workers,
      });
      const p = start(name, ctx.tools.nginx as string, ["-e", path.join(ctx.dir, "logs", `${name}.err`), "-c", conf],
        { cpu: cpuOf(ctx, multi), log: logFile(ctx, name) });
      // measure the workers, not the (idle) master
      const pids = await started(p, [port], () => children(p.pid), workers);
      return running(p, port, pids);
    },
  };
}

/** HAProxy L7 or L4; `multi` = `nbthread` = the bench's CPU count, unpinned (one process). */
function haproxy(name: string, label: string, mode: "http" | "tcp", multi = false): Target {
  return {
    name, label,
    layer: mode === "http" ? "l7" : "l4",
    needs: ["haproxy"],
    unpinned: multi,
    async start(ctx, up) {
      const port = await ctx.port(name);
      const conf = render(ctx, `haproxy-${mode}.cfg`, `${name}.cfg`, {
        LISTEN_PORT: port, UPSTREAM_PORT: up.port, MAXCONN: Math.floor((sys.nofile - 200) / 2),
        NBTHREAD: multi ? ctx.s.allCpuCount : 1,
      });
      const p = start(name, ctx.tools.haproxy as string, ["-db", "-f", conf], { cpu: cpuOf(ctx, multi), log: logFile(ctx, name) });
      const pids = await started(p, [port], () => [p.pid]);
      return running(p, port, pids);
    },
  };
}

function nodeScript(name: string, label: string, script: string): Target {
  return {
    name, label, layer: "l7", needs: [],
    async start(ctx, up) {
      const port = await ctx.port(name);
      const p = start(name, ctx.node, [path.join(ctx.bench, script), String(port), String(up.port)],
        { cpu: ctx.s.proxyCpu, log: logFile(ctx, name) });
      const pids = await started(p, [port], () => [p.pid]);
      return running(p, port, pids);
    },
  };
}

export interface HoldfastOpts {
  workers?: number | "auto";
  /** "proxy" = pinned to the proxy CPU (default); "all" = unpinned (for workers: auto). */
  cpu?: "proxy" | "all";
  /** `accessLog: true` on the L7 listener; stdout (the access lines) to logs/<name>-access.log. */
  accessLog?: boolean;
  /** Extra keys of the L7 listener, YAML flow entries (e.g. "timeouts: { requestHeaders: 60s }"). */
  web?: string[];
  /** Extra keys of the backend, YAML lines (e.g. "balance: maglev", "hashKey: header:X-User"). */
  backend?: string[];
  /** Another checkout to run instead of this one (HOLDFAST_BASE). */
  repo?: string;
}

/** GET a JSON document of holdfast's admin API. */
export function adminJson(port: number, urlPath: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        try {
          if (res.statusCode !== 200) throw new Error(`GET ${urlPath} on the admin port: ${res.statusCode}`);
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
        } catch (e) {
          reject(e as Error);
        }
      });
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${urlPath} on the admin port timed out`)));
    req.on("error", reject);
  });
}

/** Node flags of `bin/holdfast.js`'s shebang line (read so the two never drift apart). */
const HOLDFAST_NODE_FLAGS = (/^#!.*?\bnode\b(.*)$/m.exec(fs.readFileSync(new URL("../bin/holdfast.js", import.meta.url), "utf8"))?.[1] ?? "").trim().split(/\s+/).filter(Boolean);

/**
 * holdfast's gateway from this checkout: `node bin/holdfast.js gateway -c <yaml>` run
 * from the repository root, with an L7 (web) and an L4 (tcp) listener on the same
 * backend (one server per upstream port: s1, s2, ...); `listener` picks the one the
 * load goes through. CPU and RSS are summed over the process and all its descendants
 * (the workers of `workers: N`, children of the primary). With `workers` > 1 it is
 * ready when the admin port answers: the primary opens it after every worker is up.
 */
export function holdfast(name: string, label: string, listener: "web" | "l4", opts: HoldfastOpts = {}): Target {
  const unpinned = opts.cpu === "all";
  return {
    name, label,
    layer: listener === "web" ? "l7" : "l4",
    needs: ["holdfast"],
    unpinned,
    async start(ctx, up) {
      const web = await ctx.port("holdfast-web");
      const tcp = await ctx.port("holdfast-tcp");
      const admin = await ctx.port("holdfast-admin");
      const servers = (up.ports ?? [up.port]).map((p, i) => `      - { name: s${i + 1}, address: 127.0.0.1:${p} }`);
      const extra = (opts.backend ?? []).map((l) => `    ${l}`);
      const file = render(ctx, "holdfast.yaml", `${name}-${up.proto}.yaml`, {
        ADMIN_PORT: admin, WEB_PORT: web, TCP_PORT: tcp, WORKERS: opts.workers ?? 1,
        ACCESS_LOG: opts.accessLog ? "true" : "false",
        WEB_EXTRA: (opts.web ?? []).map((k) => ` ${k},`).join(""),
        BACKEND_EXTRA: extra.length ? extra.join("\n") : "    # (no extra backend keys)",
        SERVERS: servers.join("\n"),
      });
      const accessLog = opts.accessLog ? path.join(ctx.dir, "logs", `${name}-access.log`) : undefined;
      // The V8 flags of bin/holdfast.js's shebang, as the installed `holdfast` runs.
      const p = start(name, ctx.node, [...HOLDFAST_NODE_FLAGS, "bin/holdfast.js", "gateway", "-c", file],
        { cpu: cpuOf(ctx, unpinned), log: logFile(ctx, name), cwd: opts.repo ?? ctx.repo, ...(accessLog ? { stdout: accessLog } : {}) });
      // workers: N -> the primary and N workers
      const n = opts.workers === "auto" ? ctx.s.allCpuCount : (opts.workers ?? 1);
      const pids = await started(p, [web, tcp, admin], () => [p.pid, ...descendants(p.pid)], n > 1 ? n + 1 : 1);
      return running(p, listener === "web" ? web : tcp, pids, { admin, ...(accessLog ? { accessLog } : {}) });
    },
  };
}

/**
 * The front of the TLS workloads (bench/tls.ts): "tls" terminates TLS with the bench's
 * ECDSA P-256 certificate and offers h2 and http/1.1 by ALPN; "h2c" is clear text with
 * HTTP/2 by prior knowledge (holdfast and HAProxy next to HTTP/1.1, nginx h2c only).
 */
export type Front = "tls" | "h2c";

/** holdfast with one http listener that is a TLS or h2c front (bench/conf/holdfast-front.yaml). */
function holdfastFront(name: string, label: string, front: Front): Target {
  return {
    name, label, layer: "l7", needs: ["holdfast"],
    async start(ctx, up) {
      const web = await ctx.port("holdfast-web");
      const admin = await ctx.port("holdfast-admin");
      const c = benchCert(ctx);
      const keys = front === "tls"
        ? [`    tls: { cert: ${c.cert}, key: ${c.key} }`, "    protocols: [http1, h2]"]
        : ["    protocols: [http1, h2c]"];
      const file = render(ctx, "holdfast-front.yaml", `${name}.yaml`, { ADMIN_PORT: admin, WEB_PORT: web, UPSTREAM_PORT: up.port, FRONT: keys.join("\n") });
      const p = start(name, ctx.node, [...HOLDFAST_NODE_FLAGS, "bin/holdfast.js", "gateway", "-c", file],
        { cpu: ctx.s.proxyCpu, log: logFile(ctx, name), cwd: ctx.repo });
      const pids = await started(p, [web, admin], () => [p.pid, ...descendants(p.pid)]);
      return running(p, web, pids, { admin });
    },
  };
}

/** nginx, one worker, as a TLS or h2c front (bench/conf/nginx-front.conf). */
function nginxFront(name: string, label: string, front: Front): Target {
  return {
    name, label, layer: "l7", needs: ["nginx"],
    async start(ctx, up) {
      const port = await ctx.port(name);
      const c = benchCert(ctx);
      fs.mkdirSync(path.join(ctx.dir, "tmp", name), { recursive: true });
      const conf = render(ctx, "nginx-front.conf", `${name}.conf`, {
        RUN: ctx.dir, NAME: name, LISTEN_PORT: port, UPSTREAM_PORT: up.port, NOFILE: sys.nofile,
        WORKER_CONNECTIONS: workerConnections(ctx), CERT: c.cert, KEY: c.key, LISTEN: front === "tls" ? "ssl http2" : "http2",
      });
      const p = start(name, ctx.tools.nginx as string, ["-e", path.join(ctx.dir, "logs", `${name}.err`), "-c", conf],
        { cpu: ctx.s.proxyCpu, log: logFile(ctx, name) });
      const pids = await started(p, [port], () => children(p.pid), 1);
      return running(p, port, pids);
    },
  };
}

/** HAProxy, one thread, as a TLS or h2c front (bench/conf/haproxy-front.cfg). */
function haproxyFront(name: string, label: string, front: Front): Target {
  return {
    name, label, layer: "l7", needs: ["haproxy"],
    async start(ctx, up) {
      const port = await ctx.port(name);
      const c = benchCert(ctx);
      const conf = render(ctx, "haproxy-front.cfg", `${name}.cfg`, {
        LISTEN_PORT: port, UPSTREAM_PORT: up.port, MAXCONN: Math.floor((sys.nofile - 200) / 2),
        BIND: front === "tls" ? `ssl crt ${c.combined} alpn h2,http/1.1` : "",
      });
      const p = start(name, ctx.tools.haproxy as string, ["-db", "-f", conf], { cpu: ctx.s.proxyCpu, log: logFile(ctx, name) });
      const pids = await started(p, [port], () => [p.pid]);
      return running(p, port, pids);
    },
  };
}

/** A bare `node:tls` server answering by itself (bench/servers/tls-hello.ts): Node's floor per TLS connection. */
const nodeTlsFloor: Target = {
  name: "node-tls", label: "node:tls server answering itself (no proxy: Node's floor)", layer: "l7", needs: [],
  async start(ctx) {
    const port = await ctx.port("node-tls");
    const c = benchCert(ctx);
    const p = start("node-tls", ctx.node, [path.join(ctx.bench, "servers", "tls-hello.ts"), String(port), c.cert, c.key],
      { cpu: ctx.s.proxyCpu, log: logFile(ctx, "node-tls") });
    const pids = await started(p, [port], () => [p.pid]);
    return running(p, port, pids);
  },
};

/** What the failover workload needs to know of its targets' health settings (ms). */
export const FAILOVER_CONFIGS = new Map<string, { interval: number; fall: number; timeout: number; passive: boolean }>();

/** The four configurations of the failover workload: health check interval/fall, passive ejection or not. */
function failoverTarget(name: string, interval: "5s" | "1s", passive: boolean): Target {
  FAILOVER_CONFIGS.set(name, interval === "5s"
    ? { interval: 5000, fall: 3, timeout: 2000, passive }
    : { interval: 1000, fall: 2, timeout: 500, passive });
  // timeout must stay below interval: the default (2s) for 5s, 500ms for 1s
  const health = interval === "5s"
    ? "health: { type: http, path: /, interval: 5s, fall: 3 }"
    : "health: { type: http, path: /, interval: 1s, timeout: 500ms, fall: 2 }";
  const label = `holdfast, health ${interval === "5s" ? "5s × fall 3 (default)" : "1s × fall 2"}${passive ? " + passive (3 failures, 30s)" : ""}`;
  return holdfast(name, label, "web", {
    backend: [health, ...(passive ? ["passive: { consecutiveFailures: 3, ejectTime: 30s }"] : [])],
  });
}

/** Every target, in report order. */
export const TARGETS: Target[] = [
  direct,
  holdfast("holdfast", "holdfast L7 (mode http)", "web"),
  nodeScript("http-proxy", "node http-proxy (npm)", "servers/proxy-http-proxy.ts"),
  nginx("nginx", "nginx L7 (proxy_pass)", "proxy"),
  haproxy("haproxy", "haproxy L7 (mode http)", "http"),
  holdfast("holdfast-tcp", "holdfast L4 (mode tcp)", "l4"),
  nginx("nginx-stream", "nginx L4 (stream)", "stream"),
  haproxy("haproxy-tcp", "haproxy L4 (mode tcp)", "tcp"),
  // workers: auto against nginx / HAProxy with as many workers, all unpinned
  holdfast("holdfast-auto", "holdfast L7, workers: auto (unpinned)", "web", { workers: "auto", cpu: "all" }),
  nginx("nginx-2w", "nginx L7, 2 workers (unpinned)", "proxy", true),
  haproxy("haproxy-2t", "haproxy L7, nbthread 2 (unpinned)", "http", true),
  // WebSocket tunnel: frame-aware (holdfast) vs blind (holdfast-tcp) vs pings armed
  holdfast("holdfast-ping", "holdfast L7, websocket pings armed (25s/10s)", "web",
    { backend: ["websocket: { pingInterval: 25s, pongTimeout: 10s }"] }),
  // balancing policies over 3 servers
  holdfast("holdfast-rr", "holdfast L7, balance: round-robin", "web", { backend: ["balance: round-robin"] }),
  holdfast("holdfast-maglev", "holdfast L7, balance: maglev (hashKey: header:X-User)", "web",
    { backend: ["balance: maglev", "hashKey: header:X-User"] }),
  holdfast("holdfast-lrt", "holdfast L7, balance: least-response-time", "web", { backend: ["balance: least-response-time"] }),
  // slow clients: slow heads held as long as nginx's default client_header_timeout
  holdfast("holdfast-hold60", "holdfast L7, timeouts.requestHeaders: 60s (nginx's default)", "web",
    { web: ["timeouts: { requestHeaders: 60s }"] }),
  // access log
  holdfast("holdfast-accesslog", "holdfast L7, accessLog: true (stdout to a file)", "web", { accessLog: true }),
  // TLS and HTTP/2 fronts (bench/tls.ts), the same ECDSA P-256 certificate for all
  holdfastFront("holdfast-tls", "holdfast, TLS (h2 + http/1.1)", "tls"),
  nginxFront("nginx-tls", "nginx, TLS (ssl http2)", "tls"),
  haproxyFront("haproxy-tls", "haproxy, TLS (alpn h2,http/1.1)", "tls"),
  holdfastFront("holdfast-h2c", "holdfast, h2c (prior knowledge)", "h2c"),
  nginxFront("nginx-h2c", "nginx, h2c (listen http2)", "h2c"),
  haproxyFront("haproxy-h2c", "haproxy, h2c (preface detected)", "h2c"),
  nodeTlsFloor,
  // failover
  failoverTarget("holdfast-hc5s", "5s", false),
  failoverTarget("holdfast-hc5s-passive", "5s", true),
  failoverTarget("holdfast-hc1s", "1s", false),
  failoverTarget("holdfast-hc1s-passive", "1s", true),
];

/**
 * `HOLDFAST_BASE=/path/to/another/checkout` (with its own `npm ci`) adds that checkout's
 * gateway as two more targets, measured interleaved with this one in the same rounds:
 * `holdfast-base` (L7) and `holdfast-base-tcp` (L4). The http, l4, ws-echo and ws-rate
 * workloads run them and report this checkout ÷ the base (median of per-round ratios),
 * for a before/after comparison of a change in one sitting, e.g. with
 * `git worktree add ../base <commit> && (cd ../base && npm ci)`.
 */
export const BASE_REPO = process.env.HOLDFAST_BASE?.trim() ? path.resolve(process.env.HOLDFAST_BASE.trim()) : null;

/** Each holdfast target and its HOLDFAST_BASE counterpart. */
export const BASE_PAIRS: readonly (readonly [string, string])[] = [["holdfast", "holdfast-base"], ["holdfast-tcp", "holdfast-base-tcp"]];

if (BASE_REPO) {
  TARGETS.push(
    holdfast("holdfast-base", `holdfast L7 at HOLDFAST_BASE (${path.basename(BASE_REPO)})`, "web", { repo: BASE_REPO }),
    holdfast("holdfast-base-tcp", `holdfast L4 at HOLDFAST_BASE (${path.basename(BASE_REPO)})`, "l4", { repo: BASE_REPO }),
  );
}

/** `names` plus the HOLDFAST_BASE counterparts of those that have one (when it is set). */
export function withBase(names: string[]): string[] {
  if (!BASE_REPO) return names;
  return [...names, ...BASE_PAIRS.filter(([a]) => names.includes(a)).map(([, b]) => b)];
}

export function target(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}
