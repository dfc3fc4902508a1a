// The hub workloads (issue 10, part 11): holdfast's hub side by side with Socket.IO 4 +
// @socket.io/redis-adapter, in one run. Each server is one Node process pinned to the
// proxy CPU; a private redis-server, the load clients and the publisher share the load
// CPU. The publisher goes through Redis as another node would (holdfast: the Redis
// broker's publish script, history included; Socket.IO: an emitter on the Redis
// adapter), so the measured node only fans out what Redis brings it.
//
//   hub-fanout-1x5000   1 channel × 5,000 subscribers
//   hub-fanout-1000x5   1,000 channels × 5 subscribers
//     closed loop (WINDOW publications in flight) for DURATION s: deliveries/s, and per
//     CPU-second of the server (per core); then publish→deliver p50/p99 at a fixed rate
//     below both systems' capacity. Every subscriber counts what it reads: the report
//     says how many deliveries were lost or extra (0 / 0 on both sides, or ⚠).
//   hub-idle            server memory per idle subscribed WebSocket (HUB_IDLE_N, one channel
//                       each): RSS after a full GC in the server, same method on every side
//   hub-resume          time to get 1,000 missed publications back on resubscribe
//
// Env: HUB_IDLE_N (5000) HUB_SUBS (5000) HUB_RATE_1 (2 pub/s: Socket.IO keeps up on a shared core) HUB_RATE_1000 (1000 pub/s)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Ctx, Row } from "./lib/context.ts";
import type { Workload } from "./lib/harness.ts";
import { split } from "./lib/harness.ts";
import { log, run, start, stop, waitPort, which, type Proc } from "./lib/proc.ts";
import { fmt, median, ratioByRun, spread, table, times } from "./lib/report.ts";

const SYSTEMS = ["holdfast", "socketio"] as const;
/** The idle memory workload also runs Socket.IO with holdfast's Node flags, to show what they alone are worth. */
const IDLE_SYSTEMS = ["holdfast", "socketio", "socketio-flags"] as const;
type System = (typeof IDLE_SYSTEMS)[number];
const LABEL: Record<System, string> = {
  holdfast: "holdfast hub (Redis broker)",
  socketio: "Socket.IO 4 + @socket.io/redis-adapter",
  "socketio-flags": "Socket.IO 4 + redis-adapter, with holdfast's Node flags",
};
const env = (name: string, d: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
/** The Node flags of `bin/holdfast.js`'s shebang, as the installed `holdfast` runs. */
const HOLDFAST_FLAGS = (/^#!.*?\bnode\b(.*)$/m.exec(fs.readFileSync(new URL("../bin/holdfast.js", import.meta.url), "utf8"))?.[1] ?? "").trim().split(/\s+/).filter(Boolean);
/**
 * Node flags of a server: each as it ships (holdfast with its shebang's flags, Socket.IO
 * with Node's defaults, or with holdfast's flags as "socketio-flags"), plus a full GC on
 * SIGUSR2 for the idle memory measurement (the same on every side).
 */
const SERVER_FLAGS = (ctx: Ctx, system: System): string[] =>
  [...(system === "socketio" ? [] : HOLDFAST_FLAGS), "--expose-gc", "--import", path.join(ctx.bench, "lib", "gc-on-signal.ts")];

interface Redis {
  url: string;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

async function startRedis(ctx: Ctx): Promise<Redis> {
  const bin = which("redis-server");
  if (bin === null) throw new Error("redis-server not installed (apt-get install redis-server)");
  const port = await ctx.port("hub-redis");
  const dir = path.join(ctx.dir, "tmp", "redis");
  fs.mkdirSync(dir, { recursive: true });
  const p = start("redis", bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { cpu: ctx.s.loadCpu, log: path.join(ctx.dir, "logs", "redis.log") });
  await waitPort(port, 10_000, p);
  const cli = which("redis-cli");
  return {
    url: `redis://127.0.0.1:${port}`,
    flush: async () => {
      if (cli !== null) await run("redis-cli", cli, ["-p", String(port), "FLUSHALL"], { cpu: ctx.s.loadCpu, timeoutMs: 10_000 });
    },
    stop: () => stop(p),
  };
}

async function startServer(ctx: Ctx, system: System, redis: Redis): Promise<{ proc: Proc; port: number }> {
  const port = await ctx.port(`hub-${system}`);
  const logf = path.join(ctx.dir, "logs", `hub-${system}.log`);
  let proc: Proc;
  if (system === "holdfast") {
    const file = path.join(ctx.dir, "conf", "hub.yaml");
    fs.writeFileSync(file, `listen: 127.0.0.1:${port}
admin: { listen: 127.0.0.1:0 }
node: bench-hub
broker: { type: redis, url: "${redis.url}", prefix: hfbench }
auth: { anonymous: true }
channels:
  - { match: "c:*", history: { size: 1000, ttl: 10m }, anonymous: true }
  - { match: "r:*", history: { size: 1000, ttl: 10m }, anonymous: true }
limits: { maxSubscriptions: 8 }
shutdown: { spread: 1s }
`);
    proc = start("hub-holdfast", ctx.node, [...SERVER_FLAGS(ctx, system), "bin/holdfast.js", "hub", "-c", file], { cpu: ctx.s.proxyCpu, log: logf, cwd: ctx.repo });
  } else {
    proc = start("hub-socketio", ctx.node, [...SERVER_FLAGS(ctx, system), path.join(ctx.bench, "servers", "socketio-hub.ts"), String(port), redis.url, "hfbench"], { cpu: ctx.s.proxyCpu, log: logf });
  }
  await waitPort(port, 20_000, proc);
  return { proc, port };
}

async function load(ctx: Ctx, system: System, port: number, pid: number, redis: Redis, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const r = await run("hub-load", ctx.node, [path.join(ctx.bench, "clients", "hub-load.ts"), `--system=${system === "holdfast" ? "holdfast" : "socketio"}`, `--port=${port}`, `--pid=${pid}`, `--redis=${redis.url}`, "--prefix=hfbench", ...args],
    { cpu: ctx.s.loadCpu, timeoutMs, errLog: path.join(ctx.dir, "logs", "hub-load.err") });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !last.startsWith("{")) throw new Error(`hub-load exited with ${r.code}${r.timedOut ? " (timed out)" : ""}: ${last.slice(0, 200)}`);
  return JSON.parse(last) as Record<string, unknown>;
}

/** Rounds interleaved over the two systems, a fresh server and an empty Redis each time. */
async function rounds(ctx: Ctx, id: string, systems: readonly System[], args: (s: System) => string[] | null, timeoutMs: number): Promise<Row[]> {
  const redis = await startRedis(ctx);
  const rows: Row[] = [];
  try {
    for (let r = 1; r <= ctx.s.runs; r++) {
      for (const system of systems) {
        const a = args(system);
        if (a === null) continue;
        await redis.flush();
        let server: { proc: Proc; port: number } | undefined;
        try {
          server = await startServer(ctx, system, redis);
          await sleep(1000);
          const res = await load(ctx, system, server.port, server.proc.pid, redis, a, timeoutMs);
          // The machine is shared: its 1-minute load average at the end of the round says how much.
          const row: Row = { workload: id, target: system, run: r, ...split({ ...res, loadavg_1m: Number(os.loadavg()[0]!.toFixed(1)) }) };
          rows.push(row);
          ctx.raw(row);
          log(`${id} ${system} round ${r}: ${JSON.stringify(res)}`);
        } catch (e) {
          const row: Row = { workload: id, target: system, run: r, error: (e as Error).message, m: {} };
          rows.push(row);
          ctx.raw(row);
          log(`${id} ${system} round ${r} FAILED: ${(e as Error).message}`);
        } finally {
          await stop(server?.proc);
        }
      }
    }
  } finally {
    await redis.stop();
  }
  return rows;
}

const ok = (rows: Row[], s: System): Row[] => rows.filter((r) => r.target === s && !r.error);
const sum = (rows: Row[], k: string): number => rows.reduce((a, r) => a + (typeof r.m[k] === "number" ? r.m[k] : 0), 0);
/** Deliveries expected over the rounds, and how many were missing or extra (⚠ when any). */
function lossCell(rs: Row[]): string {
  if (!rs.length) return "—";
  const lost = sum(rs, "lost");
  const extra = sum(rs, "extra");
  return `${fmt(sum(rs, "expected_deliveries") - lost)} / ${fmt(lost)} / ${fmt(extra)}${lost + extra > 0 ? " ⚠" : ""}`;
}
const med = (rows: Row[], k: string): number | null => median(rows.map((r) => r.m[k]));
/** The machine's load during the rounds (other work shares it). */
function loadLine(rows: Row[]): string {
  const l = rows.map((r) => r.m.loadavg_1m).filter((x): x is number => typeof x === "number");
  return l.length ? `Load average (1 min, ${os.cpus().length} CPUs) at the end of the rounds: ${Math.min(...l)}–${Math.max(...l)}.` : "";
}
const errorsOf = (rows: Row[]): string[] => rows.filter((r) => r.error).map((r) => `- ${LABEL[r.target as System]} round ${r.run}: ${r.error}`);

function fanout(id: string, title: string, channels: number, subs: number, window: number, rate: number): Workload {
  return {
    id, title, targets: [], reference: "socketio", needs: [],
    run: (ctx) => rounds(ctx, id, SYSTEMS, () => [
      "--mode=fanout", `--channels=${channels}`, `--subs=${subs}`, `--window=${window}`, `--duration=${ctx.s.duration}`,
      `--warmup=${Math.max(1, ctx.s.warmup)}`, `--rate=${rate}`, `--latency=${Math.min(10, ctx.s.duration)}`,
    ], 600_000),
    report(ctx, rows) {
      const ref = ok(rows, "socketio");
      const lines = SYSTEMS.map((s) => {
        const rs = ok(rows, s);
        return [
          LABEL[s],
          fmt(med(rs, "deliveries_per_s")),
          spread(rs.map((r) => r.m.deliveries_per_s)),
          fmt(med(rs, "server_cpu_pct")),
          fmt(med(rs, "deliveries_per_cpu_s")),
          s === "socketio" ? "1.00×" : times(ratioByRun(rs, ref, "deliveries_per_cpu_s")),
          fmt(med(rs, "p50_ms"), 2),
          fmt(med(rs, "p99_ms"), 2),
          fmt(med(rs, "fixed_rate_cpu_us_per_delivery"), 1),
          s === "socketio" ? "1.00×" : times(ratioByRun(rs, ref, "fixed_rate_cpu_us_per_delivery")),
          lossCell(rs),
        ];
      });
      return [
        `${channels === 1 ? "1 channel" : `${fmt(channels)} channels`} × ${fmt(subs)} subscribers (${fmt(channels * subs)} WebSockets), one server process on CPU ${ctx.s.proxyCpu}; ` +
          `Redis, the clients and the publisher on CPU ${ctx.s.loadCpu}. ${ctx.s.runs} round(s), interleaved. ` +
          `Throughput: closed loop with ${window} publications in flight for ${ctx.s.duration} s. Latency: ${rate} publications/s ` +
          `(${fmt(rate * subs)} deliveries/s) for ${Math.min(10, ctx.s.duration)} s, publish (in the load process) → the frame read by a client.\n`,
        table(["server", "deliveries/s", "min–max", "server CPU %", "deliveries per CPU-s", "per core vs Socket.IO", "p50 ms", "p99 ms", "CPU µs per delivery at that rate", "vs Socket.IO", "delivered / lost / extra"], lines),
        "",
        "\"per core\" = deliveries per second of server CPU time (user+sys): the fan-out capacity of one core, independent of how much CPU the shared machine left it. " +
          "The server is not saturated when \"server CPU %\" is well under 100: the load side (5,000 sockets to read, Redis and the publisher, on a core shared with other work) is then the limit of deliveries/s, and deliveries per CPU-s is the comparable number. " +
          "\"CPU µs per delivery at that rate\": the server's CPU over the fixed-rate phase ÷ its deliveries, where both servers do the same work with no backlog (a closed loop lets a server that coalesces writes batch more). " +
          "\"delivered / lost / extra\": every subscriber counts what it reads; after each phase the load waits until all deliveries arrived, then compares each subscriber's count with the publications sent to its channel (sums over the rounds). " +
          loadLine(rows),
        ...errorsOf(rows),
      ].join("\n");
    },
  };
}

const idleN = env("HUB_IDLE_N", 5000);
const subs = env("HUB_SUBS", 5000);

/** The hub workloads, in report order. */
export const HUB_WORKLOADS: Workload[] = [
  fanout("hub-fanout-1x5000", `Hub fan-out: 1 channel × ${fmt(subs)} subscribers, vs Socket.IO + Redis adapter`, 1, subs, 32, env("HUB_RATE_1", 2)),
  fanout("hub-fanout-1000x5", "Hub fan-out: 1,000 channels × 5 subscribers, vs Socket.IO + Redis adapter", 1000, 5, 256, env("HUB_RATE_1000", 1000)),
  {
    id: "hub-idle", title: "Hub memory per idle subscribed WebSocket, vs Socket.IO + Redis adapter", targets: [], reference: "socketio", needs: [],
    run: (ctx) => rounds(ctx, "hub-idle", IDLE_SYSTEMS, () => ["--mode=idle", `--channels=${Math.min(idleN, ctx.s.idleN)}`, "--subs=1", `--settle=${ctx.s.settle}`], 600_000),
    report(ctx, rows) {
      const ref = ok(rows, "socketio");
      const lines = IDLE_SYSTEMS.map((s) => {
        const rs = ok(rows, s);
        return [LABEL[s], fmt(med(rs, "connections")), fmt(med(rs, "rss_before_kib")), fmt(med(rs, "rss_after_kib")), fmt(med(rs, "kib_per_conn"), 2),
          s === "socketio" ? "1.00×" : times(ratioByRun(rs, ref, "kib_per_conn"))];
      });
      return [
        `Server RSS after a ${ctx.s.settle} s settle and a full GC in the server (\`--expose-gc\`, SIGUSR2), before and after opening the WebSockets, each subscribed to a channel of its own; ` +
          `(after − before) ÷ connections, the same method for every server. holdfast runs with its shipped Node flags (\`${HOLDFAST_FLAGS.join(" ")}\`), Socket.IO with Node's defaults, ` +
          "and once more with holdfast's flags (the ratio of the target is against Socket.IO as it ships; the third row shows what the flags alone are worth).\n",
        table(["server", "connections", "RSS before KiB", "RSS after KiB", "KiB per connection", "vs Socket.IO"], lines),
        "",
        loadLine(rows),
        ...errorsOf(rows),
      ].join("\n");
    },
  },
  {
    id: "hub-resume", title: "Hub resume: time to recover 1,000 missed publications", targets: [], reference: "holdfast", needs: [],
    run: (ctx) => rounds(ctx, "hub-resume", ["holdfast"], () => ["--mode=resume", "--missed=1000", "--repeats=10"], 300_000),
    report(_ctx, rows) {
      const rs = ok(rows, "holdfast");
      return [
        "A client subscribes, disconnects, misses 1,000 publications (published through Redis), reconnects, connects and " +
          "resubscribes with its last offset: time from opening the new WebSocket to the `subscribed` reply holding all 1,000 " +
          "(`recovered: true`). Median of 10 per round.\n",
        table(["server", "missed", "median ms", "max ms"], [
          [LABEL.holdfast, "1,000", fmt(med(rs, "resume_ms"), 1), fmt(med(rs, "resume_max_ms"), 1)],
          [LABEL.socketio, "1,000", "n/a", "n/a"],
        ]),
        "",
        "Socket.IO cannot recover here: its connection state recovery is not supported by the Redis pub/sub adapter (only by the " +
          "in-memory, Redis Streams and MongoDB adapters), and even there it keeps a session only when its node closes it cleanly, so a " +
          "node crash loses it.",
        ...errorsOf(rows),
      ].join("\n");
    },
  },
];

/** The issue's targets, judged from the hub rows (see workloads.ts GOALS). */
export const HUB_GOALS = [
  {
    what: "hub fan-out per core, 1 channel × 5,000",
    goal: "≥ 2× Socket.IO + Redis adapter",
    check: (rows: Row[]) => perCoreGoal(rows, "hub-fanout-1x5000"),
  },
  {
    what: "hub fan-out per core, 1,000 channels × 5",
    goal: "≥ 2× Socket.IO + Redis adapter",
    check: (rows: Row[]) => perCoreGoal(rows, "hub-fanout-1000x5"),
  },
  {
    what: "hub publish→deliver p99 (both fan-outs)",
    goal: "≤ Socket.IO's p99",
    check(rows: Row[]) {
      const qs = ["hub-fanout-1x5000", "hub-fanout-1000x5"].map((w) => {
        const wr = rows.filter((r) => r.workload === w);
        return ratioByRun(ok(wr, "holdfast"), ok(wr, "socketio"), "p99_ms");
      });
      if (qs.some((q) => q === null)) return { value: "not measured", perCore: "—", met: null };
      return { value: qs.map((q) => `${(q as number).toFixed(2)}×`).join(", "), perCore: "—", met: qs.every((q) => (q as number) <= 1) };
    },
  },
  {
    what: "hub memory per idle subscribed WebSocket",
    goal: "≤ 0.5× Socket.IO's",
    check(rows: Row[]) {
      const wr = rows.filter((r) => r.workload === "hub-idle");
      const q = ratioByRun(ok(wr, "holdfast"), ok(wr, "socketio"), "kib_per_conn");
      if (q === null) return { value: "not measured", perCore: "—", met: null };
      return { value: `${q.toFixed(2)}× (${fmt(med(ok(wr, "holdfast"), "kib_per_conn"), 2)} vs ${fmt(med(ok(wr, "socketio"), "kib_per_conn"), 2)} KiB)`, perCore: "—", met: q <= 0.5 };
    },
  },
];

function perCoreGoal(rows: Row[], w: string) {
  const wr = rows.filter((r) => r.workload === w);
  const q = ratioByRun(ok(wr, "holdfast"), ok(wr, "socketio"), "deliveries_per_cpu_s");
  const t = ratioByRun(ok(wr, "holdfast"), ok(wr, "socketio"), "deliveries_per_s");
  if (q === null) return { value: "not measured", perCore: "—", met: null };
  return { value: t === null ? "n/a" : `${t.toFixed(2)}× deliveries/s`, perCore: `${q.toFixed(2)}× (deliveries per CPU-s)`, met: q >= 2 };
}
