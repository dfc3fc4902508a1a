// The backends, pinned to the load CPU: an HTTP backend (a separate nginx, 1 worker,
// 200 "hello world\n"; a small Node server when nginx is missing) and the `ws` echo
// server for the WebSocket workloads. Adapted from start_http_backend /
// start_ws_backend in holdfast's shared benchmark anchors (anchors/lib.sh).
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { type Ctx, render, workerConnections } from "./context.ts";
import { start, stop, waitPort, addExtra, sys, log } from "./proc.ts";
import { children } from "./measure.ts";
import type { Upstream } from "../targets.ts";

export interface Backend extends Upstream {
  kind: string;
  stop(): Promise<void>;
}

/** GET / with a fresh connection; resolves to the body. */
export function get(port: number, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, headers: { connection: "close" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET 127.0.0.1:${port}/ timed out`)));
    req.on("error", reject);
  });
}

export async function checkHello(port: number): Promise<void> {
  const r = await get(port);
  if (r.status !== 200 || r.body !== "hello world\n") {
    throw new Error(`GET / on ${port}: expected 200 "hello world", got ${r.status} ${JSON.stringify(r.body.slice(0, 80))}`);
  }
}

let warnedFallback = false;

/**
 * The HTTP backend: one nginx worker with `servers` server blocks on as many ports (the
 * balancing-policy workload uses 3), or the Node fallback listening on all of them.
 */
export async function startHttpBackend(ctx: Ctx, servers = 1, opts: { big?: number } = {}): Promise<Backend> {
  const ports: number[] = [];
  for (let i = 1; i <= servers; i++) ports.push(await ctx.port(i === 1 ? "backend-http" : `backend-http-${i}`));
  const port = ports[0] as number;
  const logf = path.join(ctx.dir, "logs", "backend-http.log");
  const many = servers > 1 ? `, ${servers} server blocks` : "";
  if (ctx.tools.nginx) {
    fs.mkdirSync(path.join(ctx.dir, "tmp", "nginx-backend"), { recursive: true });
    // `big`: GET /big answers that many bytes (the slow-read attack needs a response
    // larger than the socket buffers).
    let bigLocation = "";
    if (opts.big !== undefined) {
      const file = path.join(ctx.dir, "tmp", `big-${opts.big}.bin`);
      fs.writeFileSync(file, Buffer.alloc(opts.big, 0x61));
      bigLocation = `        location = /big {\n            alias ${file};\n        }\n`;
    }
    const blocks = ports.map((p) => `    server {\n        listen 127.0.0.1:${p} backlog=4096;\n` +
      `        location / {\n            return 200 "hello world\\n";\n        }\n${bigLocation}    }`).join("\n");
    const conf = render(ctx, "nginx-backend.conf", `nginx-backend-${servers}.conf`, {
      RUN: ctx.dir, SERVERS: blocks, NOFILE: sys.nofile, WORKER_CONNECTIONS: workerConnections(ctx),
    });
    const p = start("backend-http", ctx.tools.nginx, ["-e", path.join(ctx.dir, "logs", "nginx-backend.err"), "-c", conf],
      { cpu: ctx.s.loadCpu, log: logf });
    try {
      for (const x of ports) await waitPort(x, 10_000, p);
      let workers: number[] = [];
      for (let i = 0; i < 50 && workers.length === 0; i++) {
        workers = children(p.pid);
        if (!workers.length) await new Promise((r) => setTimeout(r, 100));
      }
      if (!workers.length) throw new Error("no nginx worker under the backend master");
      addExtra(p, workers);
      for (const x of ports) await checkHello(x);
      log(`HTTP backend: nginx master ${p.pid}, worker ${workers.join(" ")} on CPU ${ctx.s.loadCpu}, port ${ports.join(" ")}`);
      return { port, ports, pids: workers, proto: "http", kind: `nginx (1 worker${many})`, stop: () => stop(p) };
    } catch (e) {
      await stop(p);
      throw e;
    }
  }
  if (!warnedFallback) {
    warnedFallback = true;
    const msg = `nginx not found: the HTTP backend is a small Node server (bench/servers/http-backend.ts) instead of nginx, ` +
      `so "direct" is slower and ratios are not comparable with runs on the nginx backend (install: ${"apt-get install nginx"})`;
    log(msg);
    ctx.notes.push(msg);
  }
  const p = start("backend-http", ctx.node, [path.join(ctx.bench, "servers/http-backend.ts"), ...ports.map(String)],
    { cpu: ctx.s.loadCpu, log: logf, env: opts.big === undefined ? undefined : { BIG_BYTES: String(opts.big) } });
  try {
    for (const x of ports) await waitPort(x, 10_000, p);
    for (const x of ports) await checkHello(x);
  } catch (e) {
    await stop(p);
    throw e;
  }
  return { port, ports, pids: [p.pid], proto: "http", kind: `Node node:http (nginx missing${many})`, stop: () => stop(p) };
}

export async function startWsBackend(ctx: Ctx): Promise<Backend> {
  const port = await ctx.port("backend-ws");
  const p = start("backend-ws", ctx.node, [path.join(ctx.bench, "servers/ws-echo.ts"), String(port)],
    { cpu: ctx.s.loadCpu, log: path.join(ctx.dir, "logs", "backend-ws.log") });
  try {
    await waitPort(port, 10_000, p);
  } catch (e) {
    await stop(p);
    throw e;
  }
  return { port, pids: [p.pid], proto: "ws", kind: "Node ws echo", stop: () => stop(p) };
}
