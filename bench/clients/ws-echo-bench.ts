// Echo round trips: --conns connections; each sends a --size-byte binary message,
// waits for the echo, repeats. Warm-up --warmup s, then measures --duration s.
// Prints one JSON line: round trips per second and RTT percentiles.
// With --cpu-pids=PID[,PID] it also reports those processes' CPU use over the
// measured window (and the busy share of cores --proxy-cpu and --load-cpu).
// Usage: node ws-echo-bench.ts --port=8081 [--conns=100] [--size=64] [--duration=10] [--warmup=1]
//        [--cpu-pids=1234 --proxy-cpu=0 --load-cpu=1]
// Copied from holdfast's shared benchmark anchors (anchors/clients/ws-echo-bench.js), in TypeScript.
import type net from "node:net";
import { connect, frame, serverFrameSize, parseArgs, percentile, round, cpuArgs } from "./wsraw.ts";
import { cpuSnap, cpuDelta } from "../lib/measure.ts";

const o = parseArgs(process.argv.slice(2), {
  port: 0, conns: 100, size: 64, duration: 10, warmup: 1, "cpu-pids": "", "proxy-cpu": 0, "load-cpu": 1,
});
const cpu = cpuArgs(o);
const payload = Buffer.alloc(o.size, 0x61);
const want = serverFrameSize(o.size);
let phase: "connect" | "warmup" | "measure" | "done" = "connect";
let samples = new Float64Array(1 << 20);
let nSamples = 0;
let errors = 0;
let openFailed = 0;
let firstErr: string | null = null;
const conns: net.Socket[] = [];

function addSample(v: number): void {
  if (nSamples === samples.length) {
    const s = new Float64Array(samples.length * 2);
    s.set(samples);
    samples = s;
  }
  samples[nSamples++] = v;
}

function startLoop(c: net.Socket): void {
  const msg = frame(0x2, payload);
  let got = 0;
  let sentAt = 0;
  const send = (): void => {
    got = 0;
    sentAt = performance.now();
    c.write(msg);
  };
  c.on("data", (d: Buffer) => {
    got += d.length;
    if (got < want) return;
    if (got > want) errors++;
    const now = performance.now();
    if (phase === "measure") addSample(now - sentAt);
    if (phase === "warmup" || phase === "measure") send();
  });
  c.on("error", (e: Error) => {
    errors++;
    if (!firstErr) firstErr = e.message;
  });
  c.on("close", () => {
    if (phase !== "done") errors++;
  });
  send();
}

const hard = setTimeout(() => {
  console.error("overall timeout");
  process.exit(2);
}, (o.duration + o.warmup + 60) * 1000);
let pending = o.conns;
for (let i = 0; i < o.conns; i++) {
  connect(o.port, (err, sock) => {
    if (err || !sock) {
      openFailed++;
      if (!firstErr) firstErr = err ? err.message : "no socket";
    } else conns.push(sock);
    if (--pending === 0) begin();
  });
}

function begin(): void {
  phase = "warmup";
  for (const c of conns) startLoop(c);
  setTimeout(() => {
    phase = "measure";
    const c0 = cpuSnap(cpu.pids, cpu.proxyCpu, cpu.loadCpu);
    const t0 = performance.now();
    setTimeout(() => {
      phase = "done";
      const secs = (performance.now() - t0) / 1000;
      const c1 = cpuSnap(cpu.pids, cpu.proxyCpu, cpu.loadCpu);
      const s = samples.subarray(0, nSamples).sort();
      const out = {
        conns: conns.length, open_failed: openFailed, size: o.size, secs: +secs.toFixed(3),
        roundtrips: nSamples, rtt_per_sec: +(nSamples / secs).toFixed(1),
        p50_ms: round(percentile(s, 50)), p99_ms: round(percentile(s, 99)),
        max_ms: round(s.length ? (s[s.length - 1] ?? null) : null), errors, first_error: firstErr,
        ...(cpu.pids.length ? cpuDelta(c0, c1, cpu.proxyCpu, cpu.loadCpu, nSamples) : {}),
      };
      console.log(JSON.stringify(out));
      for (const c of conns) c.destroy();
      clearTimeout(hard);
      process.exit(0);
    }, o.duration * 1000);
  }, o.warmup * 1000);
}
