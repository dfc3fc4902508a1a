// The HTTP client under test for the `pool` workload: --conc requests in flight (a
// closed loop: each sends again as soon as its response body has been read) to an
// HTTPS server for --duration s after --warmup s, with one of the clients below. Run
// pinned to the proxy CPU, alone: its own CPU per request is the number to compare.
// Prints one JSON line: req/s, p50/p99 latency, CPU µs per request, the load core's busy
// share, and for Pools its statistics.
//
//   pools          holdfast/pool Pools (HTTP/1.1)
//   pools-h2       Pools with allowH2 (one multiplexed session)
//   undici         undici Agent, the same settings as Pools (the statistics' overhead)
//   fresh          undici Agent with reset: true: a new TLS connection per request (sessions resumed)
//   https-agent    node:https with https.Agent({ keepAlive: true })
//   agentkeepalive node:https with agentkeepalive's HttpsAgent
//
// --mode=handshake instead measures one connection's cost and what reuse saves, sequentially.
// --mode=overhead runs Pools and undici Agent (same settings) in this one process, in
// alternating blocks of --block ms, and reports the median of the per-pair ratios of CPU
// per request: adjacent blocks share the machine's slow and fast phases, so the ratio
// holds on a noisy machine where separate runs drift by ±50%.
// Usage: node pool-load.ts --client=pools --url=https://localhost:8443/ --ca=ca.pem [--conc=16]
//        [--duration=10] [--warmup=1] [--proxy-cpu=0 --load-cpu=1] [--mode=load|handshake|overhead] [--n=300] [--block=250] [--blocks=40]
import fs from "node:fs";
import https from "node:https";
import AgentKeepAlive from "agentkeepalive";
import { Agent } from "undici";
import { Pools } from "../../src/pool/index.ts";
import { cpuDelta, cpuSnap } from "../lib/measure.ts";
import { parseArgs, percentile, round } from "./wsraw.ts";

const o = parseArgs(process.argv.slice(2), {
  client: "pools", url: "", ca: "", conc: 16, duration: 10, warmup: 1, "proxy-cpu": 0, "load-cpu": 1, mode: "load", n: 300, block: 250, blocks: 40,
});
const ca = fs.readFileSync(o.ca, "utf8");
const url = new URL(o.url);
const KEEPALIVE = 30_000;

interface Client {
  send(): Promise<void>;
  close(): Promise<void>;
  extra(): Record<string, number | null>;
}

function nodeClient(agent: https.Agent): Client {
  const opts = { agent, host: url.hostname, port: url.port, path: url.pathname };
  return {
    send: () => new Promise<void>((resolve, reject) => {
      const req = https.get(opts, (res) => {
        res.on("data", () => {});
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        res.on("error", reject);
      });
      req.on("error", reject);
    }),
    close: async () => agent.destroy(),
    extra: () => ({}),
  };
}

function undiciClient(reset: boolean): Client {
  const agent = new Agent({ connections: o.conc, keepAliveTimeout: KEEPALIVE, keepAliveMaxTimeout: KEEPALIVE, connect: { ca } });
  const opts = { origin: url.origin, path: url.pathname, method: "GET" as const, reset };
  return {
    send: async () => {
      const res = await agent.request(opts);
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    },
    close: () => agent.close(),
    extra: () => ({}),
  };
}

function poolsClient(allowH2: boolean): Client {
  const pools = new Pools({ connections: o.conc, keepAliveTimeout: KEEPALIVE, allowH2, tls: { ca } });
  const target = url.href;
  return {
    send: async () => {
      const res = await pools.request(target);
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    },
    close: () => pools.close(),
    extra: () => {
      const s = pools.stats();
      return { reuse_rate: round(s.reuseRate, 5), connections: s.connectionsCreated, requests_counted: s.requests };
    },
  };
}

function makeClient(name: string): Client {
  switch (name) {
    case "pools": return poolsClient(false);
    case "pools-h2": return poolsClient(true);
    case "undici": return undiciClient(false);
    case "fresh": return undiciClient(true);
    case "https-agent": return nodeClient(new https.Agent({ keepAlive: true, maxSockets: o.conc, ca }));
    case "agentkeepalive": return nodeClient(new AgentKeepAlive.HttpsAgent({ maxSockets: o.conc, freeSocketTimeout: KEEPALIVE, ca }));
    default: throw new Error(`unknown --client=${name}`);
  }
}

async function load(): Promise<Record<string, unknown>> {
  const c = makeClient(o.client);
  let samples = new Float64Array(1 << 20);
  let n = 0;
  let errors = 0;
  let firstError: string | null = null;
  let measuring = false;
  let stopping = false;
  const loop = async (): Promise<void> => {
    while (!stopping) {
      const t0 = performance.now();
      try {
        await c.send();
        if (measuring) {
          if (n === samples.length) {
            const grown = new Float64Array(n * 2);
            grown.set(samples);
            samples = grown;
          }
          samples[n++] = performance.now() - t0;
        }
      } catch (e) {
        if (measuring) errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  const loops = Array.from({ length: o.conc }, loop);
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  const c0 = cpuSnap([process.pid], o["proxy-cpu"], o["load-cpu"]);
  measuring = true;
  await new Promise((r) => setTimeout(r, o.duration * 1000));
  measuring = false;
  const c1 = cpuSnap([process.pid], o["proxy-cpu"], o["load-cpu"]);
  const secs = (c1.t - c0.t) / 1000;
  stopping = true;
  await Promise.all(loops);
  const extra = c.extra();
  await c.close();
  const sorted = samples.subarray(0, n).sort();
  return {
    rps: round(n / secs, 1), requests: n, errors, p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)),
    ...cpuDelta(c0, c1, o["proxy-cpu"], o["load-cpu"], n), ...extra, first_error: firstError,
  };
}

/** Sequential requests: each on a new connection (timed by Pools itself), then all on one. */
async function handshake(): Promise<Record<string, unknown>> {
  const pools = new Pools({ connections: 1, keepAliveTimeout: KEEPALIVE, tls: { ca } });
  const full = new Agent({ connections: 1, connect: { ca, maxCachedSessions: 0 } });
  const fresh: number[] = [];
  const fullHs: number[] = [];
  const reused: number[] = [];
  const time = async (into: number[], send: () => Promise<{ body: { text(): Promise<string> } }>): Promise<void> => {
    const t0 = performance.now();
    await (await send()).body.text();
    into.push(performance.now() - t0);
  };
  try {
    for (let i = 0; i < 20; i++) await time([], () => pools.request(url.href, { reset: true })); // warm-up
    for (let i = 0; i < o.n; i++) {
      // interleaved, so a slow phase of the machine hits every kind alike
      await time(fresh, () => pools.request(url.href, { reset: true }));
      await time(fullHs, () => full.request({ origin: url.origin, path: url.pathname, method: "GET", reset: true }));
    }
    for (let i = 0; i < o.n; i++) await time(reused, () => pools.request(url.href));
    const s = pools.stats();
    const origin = s.origins[url.origin];
    if (!origin) throw new Error(`no statistics for ${url.origin}`);
    const p50 = (xs: number[]): number | null => round(percentile(xs.sort((a, b) => a - b), 50));
    return {
      connections: s.connectionsCreated, reused: s.connectionsReused,
      hs_dns_ms: round(origin.handshakeMs.dns), hs_tcp_ms: round(origin.handshakeMs.tcp), hs_tls_ms: round(origin.handshakeMs.tls),
      hs_mean_ms: round(origin.handshakeMs.mean),
      saved_per_reused_ms: round(s.handshakeMsSaved / s.connectionsReused),
      fresh_p50_ms: p50(fresh), full_p50_ms: p50(fullHs), reused_p50_ms: p50(reused),
    };
  } finally {
    await pools.close();
    await full.close();
  }
}

/** One block: `c` in a closed loop for --block ms; its CPU µs per request and req/s. */
async function block(c: Client): Promise<[number, number]> {
  let n = 0;
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop) {
      await c.send();
      n++;
    }
  };
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  const loops = Array.from({ length: o.conc }, loop);
  await new Promise((r) => setTimeout(r, o.block));
  stop = true;
  await Promise.all(loops);
  const u = process.cpuUsage(u0);
  return [(u.user + u.system) / n, (n * 1000) / (performance.now() - t0)];
}

/** Alternates `a` and `b` over --blocks pairs (ABAB, then BABA); medians of the per-pair ratios a ÷ b. */
async function paired(a: () => Promise<[number, number]>, b: () => Promise<[number, number]>): Promise<{ cpu: number; rps: number; aUs: number; bUs: number }> {
  const us: [number[], number[]] = [[], []];
  const rps: [number[], number[]] = [[], []];
  await a();
  await b(); // warm-up: connections, JIT
  for (let i = 0; i < o.blocks; i++) {
    for (const k of i % 2 === 0 ? [0, 1] as const : [1, 0] as const) {
      const [u, r] = await (k === 0 ? a() : b());
      us[k].push(u);
      rps[k].push(r);
    }
  }
  const med = (xs: number[]): number => percentile([...xs].sort((x, y) => x - y), 50) ?? NaN;
  const ratio = (xs: number[], ys: number[]): number => med(xs.map((x, i) => x / (ys[i] as number)));
  return { cpu: ratio(us[0], us[1]), rps: ratio(rps[0], rps[1]), aUs: med(us[0]), bUs: med(us[1]) };
}

/**
 * The statistics' overhead, in one process so that adjacent blocks share the machine's
 * phases. Phase 1: Pools vs undici Agent (same settings) while the Pools is open, so
 * both pay undici's diagnostics events (published to every undici client once anyone
 * listens). Phase 2: undici alone with an idle Pools open (subscribed) vs with none:
 * what listening costs undici's own requests. Overhead = the product of the two.
 */
async function overhead(): Promise<Record<string, unknown>> {
  const pools = poolsClient(false);
  const agent = undiciClient(false);
  const p1 = await paired(() => block(pools), () => block(agent));
  const extra = pools.extra();
  await pools.close();
  const p2 = await paired(async () => {
    const idle = new Pools();
    try {
      return await block(agent);
    } finally {
      await idle.close();
    }
  }, () => block(agent));
  await agent.close();
  return {
    pools_cpu_us_per_req: round(p1.aUs, 2), undici_cpu_us_per_req: round(p2.bUs, 2),
    layer_cpu_ratio: round(p1.cpu, 4), layer_rps_ratio: round(p1.rps, 4),
    listening_cpu_ratio: round(p2.cpu, 4), listening_rps_ratio: round(p2.rps, 4),
    cpu_ratio: round(p1.cpu * p2.cpu, 4), rps_ratio: round(p1.rps * p2.rps, 4),
    blocks: o.blocks, ...extra,
  };
}

const out = o.mode === "handshake" ? await handshake() : o.mode === "overhead" ? await overhead() : await load();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
