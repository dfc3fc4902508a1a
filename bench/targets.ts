// The targets: every proxy the bench can put between the load generator and the
// backend, each started fresh (pinned to the proxy CPU) and stopped by PID.
//
// This is one of the two seams of the bench (the other is WORKLOADS in workloads.ts):
// to add a variant (a balancing policy, `workers: auto`, the access log on...) add an
// entry here, e.g. holdfast("holdfast-auto", "holdfast L7, workers: auto", "web",
// { workers: "auto", cpu: "all" }), and name it in the workloads that should run it.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Ctx, render, workerConnections } from "./lib/context.ts";
import { start, stop, waitPort, addExtra, tail, type Proc, sys } from "./lib/proc.ts";
import { children, descendants } from "./lib/measure.ts";

/** What a target proxies to. `pids` are the backend's processes (measured for "direct"). */
export interface Upstream {
  port: number;
  pids: number[];
  proto: "http" | "ws";
}

export interface Running {
  port: number;
  /** Processes whose CPU and RSS are measured (nginx: its worker; holdfast: the whole tree). */
  pids: number[];
  /** If the proxy process has exited on its own: how (exit code and the gist of its log). */
  died(): string | null;
  stop(): Promise<void>;
}

function running(p: Proc, port: number, pids: number[]): Running {
  return {
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

async function started(p: Proc, ports: number[], measure: () => number[]): Promise<number[]> {
  try {
    for (const port of ports) await waitPort(port, START_TIMEOUT_MS, p);
  } catch (e) {
    const exited = p.done;
    await stop(p);
    throw new StartError((e as Error).message, !exited);
  }
  let pids = measure();
  for (let i = 0; i < 50 && pids.length === 0; i++) {
    await sleep(100);
    pids = measure();
  }
  if (pids.length === 0) {
    await stop(p);
    throw new StartError(`${p.name}: no process to measure under pid ${p.pid}`, true);
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

function nginx(name: string, label: string, kind: "proxy" | "stream"): Target {
  return {
    name, label,
    layer: kind === "proxy" ? "l7" : "l4",
    needs: kind === "proxy" ? ["nginx"] : ["nginx", "nginx-stream"],
    async start(ctx, up) {
      const port = await ctx.port(name);
      fs.mkdirSync(path.join(ctx.dir, "tmp", name), { recursive: true });
      const conf = render(ctx, kind === "proxy" ? "nginx-proxy.conf" : "nginx-stream.conf", `${name}.conf`, {
        RUN: ctx.dir, NAME: name, LISTEN_PORT: port, UPSTREAM_PORT: up.port, NOFILE: sys.nofile,
        WORKER_CONNECTIONS: workerConnections(ctx), STREAM_MODULE: ctx.tools.streamModule ?? "",
      });
      const p = start(name, ctx.tools.nginx as string, ["-e", path.join(ctx.dir, "logs", `${name}.err`), "-c", conf],
        { cpu: ctx.s.proxyCpu, log: logFile(ctx, name) });
      // measure the worker, not the (idle) master
      const pids = await started(p, [port], () => children(p.pid));
      return running(p, port, pids);
    },
  };
}

function haproxy(name: string, label: string, mode: "http" | "tcp"): Target {
  return {
    name, label,
    layer: mode === "http" ? "l7" : "l4",
    needs: ["haproxy"],
    async start(ctx, up) {
      const port = await ctx.port(name);
      const conf = render(ctx, `haproxy-${mode}.cfg`, `${name}.cfg`, {
        LISTEN_PORT: port, UPSTREAM_PORT: up.port, MAXCONN: Math.floor((sys.nofile - 200) / 2),
      });
      const p = start(name, ctx.tools.haproxy as string, ["-db", "-f", conf], { cpu: ctx.s.proxyCpu, log: logFile(ctx, name) });
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
}

/**
 * holdfast's gateway from this checkout: `node bin/holdfast.js gateway -c <yaml>` run
 * from the repository root, with an L7 (web) and an L4 (tcp) listener on the same
 * backend; `listener` picks the one the load goes through. CPU and RSS are summed over
 * the process and all its descendants (in case the gateway runs its worker as a child).
 */
export function holdfast(name: string, label: string, listener: "web" | "l4", opts: HoldfastOpts = {}): Target {
  return {
    name, label,
    layer: listener === "web" ? "l7" : "l4",
    needs: ["holdfast"],
    async start(ctx, up) {
      const web = await ctx.port("holdfast-web");
      const tcp = await ctx.port("holdfast-tcp");
      const admin = await ctx.port("holdfast-admin");
      const file = render(ctx, "holdfast.yaml", `${name}-${up.proto}.yaml`, {
        ADMIN_PORT: admin, WEB_PORT: web, TCP_PORT: tcp, UPSTREAM_PORT: up.port, WORKERS: opts.workers ?? 1,
      });
      const p = start(name, ctx.node, ["bin/holdfast.js", "gateway", "-c", file],
        { cpu: opts.cpu === "all" ? null : ctx.s.proxyCpu, log: logFile(ctx, name), cwd: ctx.repo });
      const pids = await started(p, [web, tcp], () => [p.pid, ...descendants(p.pid)]);
      return running(p, listener === "web" ? web : tcp, pids);
    },
  };
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
];

export function target(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}
