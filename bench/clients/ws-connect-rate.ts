// Connection setup rate: --total WebSocket connections, --conc at a time; each one
// does the HTTP upgrade handshake, sends a close frame, waits for the server's close
// and the TCP close. Prints one JSON line: completed connections per second and
// handshake latency (TCP connect -> 101 received) percentiles.
// With --cpu-pids=PID[,PID] it also reports those processes' CPU use over the run.
// Usage: node ws-connect-rate.ts --port=8081 [--total=5000] [--conc=50]
//        [--cpu-pids=1234 --proxy-cpu=0 --load-cpu=1]
// Copied from holdfast's shared benchmark anchors (anchors/clients/ws-connect-rate.js), in TypeScript.
import { connect, closeFrame, parseArgs, percentile, round, cpuArgs } from "./wsraw.ts";
import { cpuSnap, cpuDelta } from "../lib/measure.ts";

const o = parseArgs(process.argv.slice(2), {
  port: 0, total: 5000, conc: 50, timeout: 10, "cpu-pids": "", "proxy-cpu": 0, "load-cpu": 1,
});
const cpu = cpuArgs(o);
const c0 = cpuSnap(cpu.pids, cpu.proxyCpu, cpu.loadCpu);
let started = 0;
let ok = 0;
let failed = 0;
let firstErr: string | null = null;
const hs: number[] = [];
const t0 = performance.now();

const hard = setTimeout(() => finish("overall timeout"), 120000);

function one(): void {
  if (started >= o.total) return;
  started++;
  const ts = performance.now();
  connect(o.port, (err, sock) => {
    if (err || !sock) {
      fail(err ?? new Error("no socket"));
      return;
    }
    hs.push(performance.now() - ts);
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) {
        settled = true;
        sock.destroy();
        fail(new Error("close timeout"));
      }
    }, o.timeout * 1000);
    sock.on("error", () => {});
    sock.on("data", () => {}); // the server's close frame
    sock.on("close", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ok++;
      done();
    });
    sock.write(closeFrame());
  }, { timeoutMs: o.timeout * 1000 });
}
function fail(err: Error): void {
  failed++;
  if (!firstErr) firstErr = err.message;
  done();
}
function done(): void {
  if (ok + failed === o.total) finish("done");
  else one();
}
function finish(why: string): void {
  const c1 = cpuSnap(cpu.pids, cpu.proxyCpu, cpu.loadCpu);
  const secs = (performance.now() - t0) / 1000;
  hs.sort((a, b) => a - b);
  console.log(JSON.stringify({
    total: o.total, conc: o.conc, ok, failed, secs: +secs.toFixed(3),
    conns_per_sec: +(ok / secs).toFixed(1),
    hs_p50_ms: round(percentile(hs, 50)),
    hs_p99_ms: round(percentile(hs, 99)),
    first_error: firstErr, end: why,
    ...(cpu.pids.length ? cpuDelta(c0, c1, cpu.proxyCpu, cpu.loadCpu, ok) : {}),
  }));
  clearTimeout(hard);
  process.exit(0);
}
for (let i = 0; i < Math.min(o.conc, o.total); i++) one();
