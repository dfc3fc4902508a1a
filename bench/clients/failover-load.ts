// Failover client: a steady request loop through the gateway (keep-alive, --rate
// requests per second spread evenly), then kills one backend (SIGUSR2 to --victim-pid,
// a failover-backend.ts we started: it closes its listener and destroys its connections)
// and watches the gateway's admin API until it stopped sending to that server:
// /metrics holdfast_server_attempts_total / holdfast_upstream_connect_failures_total for
// --server (the admin server renders them at most every 200 ms: the last increase lies
// between two snapshots), and /api/backends/B for its ejection and active-check history. Ends when the active checks have
// marked the server down (--fall failed checks after the kill) and the attempts have
// not moved for --quiet s, or --max s after the kill. Prints one JSON line; times are
// epoch ms (Date.now()), so the driver can set them against the backend's own kill time.
// Usage: node failover-load.ts --port=P --admin=A --victim-pid=PID [--backend=b] [--server=s2]
//        [--rate=200] [--warm=3] [--max=40] [--quiet=1.5] [--fall=3] [--poll=20] [--conns=16] [--trace=1]
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, percentile, round } from "./wsraw.ts";

const o = parseArgs(process.argv.slice(2), {
  port: 0, admin: 0, "victim-pid": 0, backend: "b", server: "s2",
  rate: 200, warm: 3, max: 40, quiet: 1.5, fall: 3, poll: 20, conns: 16, trace: 0,
});
if (!o.port || !o.admin || !o["victim-pid"]) throw new Error("--port, --admin and --victim-pid are required");

const hard = setTimeout(() => {
  console.error("overall timeout");
  process.exit(2);
}, (o.warm + o.max + 30) * 1000);

// ------------------------------------------------------------ the request loop
const agent = new http.Agent({ keepAlive: true, maxSockets: o.conns });
let sending = true;
let sent = 0;
let inflight = 0;
let ok = 0;
let failedBefore = 0;
let firstError: string | null = null;
let killAt = Infinity;
const failuresAfter: number[] = []; // epoch ms of each failed request sent after the kill
const latAfter: number[] = [];
const byServer: Record<string, number> = {};
let victimLastOk = 0;

function one(): void {
  const t0 = Date.now();
  const p0 = performance.now();
  inflight++;
  let done = false;
  const finish = (good: boolean, why: string | null, srv: string | null): void => {
    if (done) return;
    done = true;
    inflight--;
    if (good) {
      ok++;
      if (srv) byServer[srv] = (byServer[srv] ?? 0) + 1;
      if (srv === o.server) victimLastOk = Math.max(victimLastOk, Date.now());
    } else {
      if (!firstError && why) firstError = why;
      if (t0 >= killAt) failuresAfter.push(t0);
      else failedBefore++;
    }
    if (t0 >= killAt) latAfter.push(performance.now() - p0);
  };
  const req = http.get({ host: "127.0.0.1", port: o.port, path: "/", agent }, (res) => {
    res.resume();
    res.on("end", () => finish(res.statusCode === 200, `status ${res.statusCode}`, String(res.headers["x-server"] ?? "")));
    res.on("error", (e) => finish(false, e.message, null));
  });
  req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
  req.on("error", (e) => finish(false, e.message, null));
}

const start = performance.now();
const gap = 1000 / o.rate;
async function loop(): Promise<void> {
  while (sending) {
    const due = Math.floor((performance.now() - start) / gap) + 1;
    for (let i = 0; sending && sent < due && i < 1000; i++) {
      sent++;
      one();
    }
    await sleep(Math.max(0, start + sent * gap - performance.now()));
  }
}

// ------------------------------------------------------------ the admin API
const adminAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function getText(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: o.admin, path, agent: adminAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString("utf8")) : reject(new Error(`${path}: ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.setTimeout(3000, () => req.destroy(new Error(`${path} timed out`)));
    req.on("error", reject);
  });
}
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
function counter(text: string, name: string): number | null {
  const m = new RegExp(`^${name}\\{[^}]*server="${esc(o.server)}"[^}]*\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}
interface ServerView { name: string; state: string; ejected: boolean; checks?: { agoMs: number; ok: boolean }[] }
/** holdfast_server_state{server=S, state="down"} (live, unlike the API's overview, which is cached for 200 ms). */
function isDown(text: string): boolean {
  const m = new RegExp(`^holdfast_server_state\\{[^}]*server="${esc(o.server)}"[^}]*state="down"[^}]*\\} (\\S+)$`, "m").exec(text);
  return m !== null && Number(m[1]) === 1;
}
interface Poll {
  at: number;
  metrics: string;
  backend: string;
  attempts: number | null;
  cf: number | null;
  down: boolean;
  server: ServerView | null;
}
async function poll(): Promise<Poll> {
  const [metrics, backend] = await Promise.all([getText("/metrics"), getText(`/api/backends/${o.backend}`)]);
  const at = Date.now();
  const b = JSON.parse(backend) as { servers?: ServerView[] };
  return {
    at, metrics, backend,
    attempts: counter(metrics, "holdfast_server_attempts_total"),
    cf: counter(metrics, "holdfast_upstream_connect_failures_total"),
    down: isDown(metrics),
    server: b.servers?.find((s) => s.name === o.server) ?? null,
  };
}

// ------------------------------------------------------------ the run
// The admin server renders /metrics and the overview at most every 200 ms (CACHE_MS in
// src/admin/server.ts) and hands out the cached text in between. A poll whose text
// differs from the previous one carries a snapshot just taken (at ~ that poll's time):
// what changed happened between the previous snapshot and this one.
void loop();
await sleep(o.warm * 1000);
let before: Poll;
try {
  before = await poll();
  // kill right after a fresh snapshot, so the counts "at the kill" are current
  for (let i = 0; i < 100; i++) {
    await sleep(10);
    const p = await poll();
    const fresh = p.metrics !== before.metrics;
    before = p;
    if (fresh) break;
  }
} catch (e) {
  console.error(`admin API: ${(e as Error).message}`);
  process.exit(3);
}
if (before.attempts === null || before.server === null) {
  console.error(`server ${o.server} of backend ${o.backend} not found in the admin API`);
  process.exit(3);
}
killAt = Date.now();
process.kill(o["victim-pid"], "SIGUSR2");

let last = before;
let mSnap = before.at; // time of the current /metrics snapshot
let ovSnap = before.at; // time of the current overview snapshot
let lastIncreaseAt: number | null = null; // the snapshot that showed the attempts' last increase
let lastIncreasePrev: number | null = null; // the snapshot before it (did not have it yet)
let downAt: number | null = null;
let downPrev: number | null = null;
let ejectedAt: number | null = null;
let checkDownAt: number | null = null;
let failedChecks = 0;
let pollErrors = 0;
let stillGrowing = 0;
let snapshots = 0;
const trace: (number | string | null)[][] = []; // --trace=1: every new snapshot, ms from the kill
const maxPolls = Math.ceil((o.max * 1000) / Math.max(1, o.poll)) + 10;
for (let i = 0; i < maxPolls; i++) {
  await sleep(o.poll);
  let p: Poll;
  try {
    p = await poll();
  } catch {
    pollErrors++;
    continue;
  }
  if (p.metrics !== last.metrics) {
    snapshots++;
    const prev = mSnap;
    mSnap = p.at;
    if (p.attempts !== null && last.attempts !== null && p.attempts > last.attempts) {
      lastIncreaseAt = mSnap;
      lastIncreasePrev = prev;
    }
    if (downAt === null && p.down) {
      downAt = mSnap;
      downPrev = prev;
    }
  }
  if (p.backend !== last.backend) ovSnap = p.at;
  const s = p.server;
  if (s) {
    if (ejectedAt === null && s.ejected) ejectedAt = ovSnap;
    if (checkDownAt === null && s.checks) {
      // the failed checks after the kill, oldest first: the fall-th one took the server down
      const after = s.checks.map((c) => ({ at: ovSnap - c.agoMs, ok: c.ok })).filter((c) => c.at >= killAt);
      const fails = after.filter((c) => !c.ok).sort((a, b) => a.at - b.at);
      failedChecks = fails.length;
      if (fails.length >= o.fall) checkDownAt = (fails[o.fall - 1] as { at: number }).at;
    }
  }
  if (o.trace && p.metrics !== last.metrics) {
    trace.push([p.at - killAt, p.attempts, p.cf, p.down ? "down" : "up", s?.ejected ? 1 : 0, failuresAfter.length, sent, ok, inflight]);
  }
  last = p;
  const quietSince = lastIncreaseAt ?? killAt;
  if (checkDownAt !== null && p.at - quietSince >= o.quiet * 1000 && p.at - checkDownAt >= o.quiet * 1000) break;
  if (p.at - killAt >= o.max * 1000) {
    stillGrowing = p.at - quietSince < o.quiet * 1000 ? 1 : 0;
    break;
  }
}
const endAt = Date.now();
sending = false;
for (let i = 0; i < 200 && inflight > 0; i++) await sleep(25);
const lat = Float64Array.from(latAfter).sort();
console.log(JSON.stringify({
  rate: o.rate, sent, ok, failed_before_kill: failedBefore, failed_after_kill: failuresAfter.length,
  first_error: firstError,
  kill_sent_at: killAt, end_at: endAt,
  attempts_at_kill: before.attempts, attempts_end: last.attempts,
  connect_failures_at_kill: before.cf, connect_failures_end: last.cf,
  last_attempt_seen_at: lastIncreaseAt, last_attempt_prev_snapshot_at: lastIncreasePrev,
  down_at: downAt, down_prev_snapshot_at: downPrev, snapshots, ejected_at: ejectedAt, check_down_at: checkDownAt, failed_checks: failedChecks,
  victim_last_ok_at: victimLastOk || null, still_growing: stillGrowing, poll_errors: pollErrors, inflight_left: inflight,
  p50_after_ms: round(percentile(lat, 50)), p99_after_ms: round(percentile(lat, 99)), max_after_ms: round(lat.length ? (lat[lat.length - 1] ?? null) : null),
  by_server: byServer,
  ...(o.trace ? { trace } : {}),
}));
clearTimeout(hard);
agent.destroy();
adminAgent.destroy();
process.exit(0);
