// The reconnect storm (issue 11, part 10): 10,000 clients of one hub node lose their
// connections at the same instant. How hard do they hit the hub coming back, under
// three reconnect policies?
//   - holdfast: the SDK's ReconnectPolicy (full jitter 250 ms ×2 up to 30 s, obeys
//     `retry-after` hints plus jitter);
//   - socket.io-client's defaults: its own Backoff class as its Manager builds it
//     (reconnectionDelay 1 s, reconnectionDelayMax 5 s, randomizationFactor 0.5);
//   - no jitter: the same exponential backoff without randomness.
// Two drops: the node dies behind the gateway, which closes each client's tunnel with
// `1012` and a `retry-after` drawn over `drainSpread` (10 s); and an abrupt drop with no
// close frame at all (1006: a direct connection, a network cut). Two hubs: one that
// accepts any rate (the offered load, the policies alone) and one that completes 2,000
// handshakes/s, first come first served (clients give up after their connect timeout
// and retry). Virtual time: the policies are the real code, the sockets are simulated.
//
// `node bench/storm.ts` prints the report; `npm run bench` (WORKLOADS=storm) runs it as
// a micro-benchmark; with WRITE_DOCS=1 (the default) it also writes docs/client-storm.svg.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Manager } from "socket.io-client";
import { backoffDelay, backoffOptions } from "../src/client/backoff.ts";
import { ReconnectPolicy } from "../src/client/policy.ts";
import { simulateStorm, type ClientPolicy, type StormResult } from "./storm-sim.ts";
import { stormSvg } from "./storm-plot.ts";

const N = Number(process.env.STORM_N ?? 10_000);
const SPREAD = 10_000; // the gateway's drainSpread default
const CAPACITY = Number(process.env.STORM_CAPACITY ?? 2_000);

interface Backo {
  duration(): number;
  reset(): void;
}

/** socket.io-client's Backoff with the defaults its Manager applies (read from a Manager, not copied). */
function socketIoBackoffFactory(): { make(): Backo; min: number; max: number; jitter: number; timeout: number } {
  const m = new Manager("http://127.0.0.1:9", { autoConnect: false });
  const proto = (m as unknown as { backoff: Backo }).backoff;
  const Ctor = proto.constructor as new (o: { min: number; max: number; jitter: number }) => Backo;
  const min = m.reconnectionDelay();
  const max = m.reconnectionDelayMax();
  const jitter = m.randomizationFactor();
  const timeout = m.timeout() as number;
  return { make: () => new Ctor({ min, max, jitter }), min, max, jitter, timeout };
}

function holdfast(random: () => number): ClientPolicy {
  const p = new ReconnectPolicy({ backoff: backoffOptions({}), minUptime: 5_000, random });
  p.start();
  p.opened(-3_600_000); // up for an hour before the drop
  return {
    dropped: (now, code, reason) => delayOf(p.dropped(now, code, reason)),
    attempting: () => void p.retry(),
    failed: (now) => delayOf(p.dropped(now, 1006, "connect timeout")),
    opened: (now) => void p.opened(now),
  };
}

function delayOf(d: ReturnType<ReconnectPolicy["dropped"]>): number {
  if (d.state !== "reconnecting") throw new Error("a reconnecting code stopped the client");
  return d.delay;
}

function socketIo(b: Backo): ClientPolicy {
  // Manager: a "transport close" resets the backoff and reconnects after duration();
  // every failed attempt asks duration() again; a success resets it. It ignores close
  // codes and reasons (no hint is read).
  return {
    dropped: () => {
      b.reset();
      return b.duration();
    },
    failed: () => b.duration(),
    opened: () => b.reset(),
  };
}

function noJitter(): ClientPolicy {
  const o = backoffOptions({ jitter: "none" });
  let n = 0;
  return {
    dropped: () => backoffDelay(n++, o, Math.random),
    failed: () => backoffDelay(n++, o, Math.random),
    opened: () => void (n = 0),
  };
}

export interface StormRun {
  drop: string;
  hub: string;
  policy: string;
  r: StormResult;
}

const DROPS = [
  { id: "gateway", label: `node dies behind the gateway (1012, retry-after over ${SPREAD / 1000} s)`, drop: () => ({ code: 1012, reason: `retry-after=${Math.floor(Math.random() * SPREAD)}` }) },
  { id: "abrupt", label: "abrupt drop, no close frame (1006)", drop: () => ({ code: 1006, reason: "" }) },
];

/** Every drop × hub × policy, in one process. */
export function runStorms(): StormRun[] {
  const sio = socketIoBackoffFactory();
  const policies = [
    { label: "holdfast (full jitter + hints)", make: () => holdfast(Math.random), timeout: 10_000 },
    { label: `socket.io-client defaults (${sio.min / 1000}–${sio.max / 1000} s, ±${sio.jitter * 100}%)`, make: () => socketIo(sio.make()), timeout: sio.timeout },
    { label: "no jitter (250 ms ×2)", make: () => noJitter(), timeout: 10_000 },
  ];
  const hubs = [
    { label: "any rate", capacity: Infinity },
    { label: `${CAPACITY.toLocaleString("en-US")} handshakes/s`, capacity: CAPACITY },
  ];
  const out: StormRun[] = [];
  for (const d of DROPS) {
    for (const h of hubs) {
      for (const p of policies) {
        const r = simulateStorm({ clients: N, drop: d.drop, policy: p.make, capacity: h.capacity, connectTimeout: p.timeout });
        out.push({ drop: d.label, hub: h.label, policy: p.label, r });
      }
    }
  }
  return out;
}

const s = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);
const n = (x: number) => Math.round(x).toLocaleString("en-US");

/** The report section: one table, the ratios the target asks for, and the plot. */
export function stormReport(runs: StormRun[]): string {
  const head = "| drop | hub | policy | peak attempts/s | peak connects/s | attempts | all back | p50 / p99 back |\n|---|---|---|---:|---:|---:|---:|---:|";
  const rows = runs.map((x) => `| ${x.drop} | ${x.hub} | ${x.policy} | ${n(x.r.peakAttemptsPerS)} | ${n(x.r.peakAcceptedPerS)} | ${n(x.r.totalAttempts)} | ${s(x.r.allBackMs)} | ${s(x.r.p50Ms)} / ${s(x.r.p99Ms)} |`);
  const ratios: string[] = [];
  for (let i = 0; i + 2 < runs.length; i += 3) {
    const [hf, sio] = [runs[i]!, runs[i + 1]!];
    ratios.push(`- ${hf.drop}, hub ${hf.hub}: holdfast's peak attempt rate is ${(hf.r.peakAttemptsPerS / sio.r.peakAttemptsPerS).toFixed(2)}× socket.io-client's`);
  }
  return [
    `${N.toLocaleString("en-US")} clients dropped at t = 0; 100 ms buckets (a rate is the busiest bucket × 10). Simulated in virtual time (\`bench/storm.ts\`, \`bench/storm-sim.ts\`) with the real policy code: the SDK's \`ReconnectPolicy\` and socket.io-client's own \`Backoff\` as its \`Manager\` configures it. "attempts" counts every handshake that reached the hub; with a finite hub, a client whose handshake waits past its connect timeout (10 s; socket.io 20 s) gives up and retries.`,
    "",
    head,
    ...rows,
    "",
    ...ratios,
    "",
    "![reconnects per second after the drop](client-storm.svg)",
  ].join("\n");
}

/** Entry for bench/lib/run-micro.ts (`WORKLOADS=storm`): the section as markdown; writes the plot unless WRITE_DOCS=0. */
export function benchStorm(): string {
  const runs = runStorms();
  if (process.env.WRITE_DOCS !== "0") writeFileSync(new URL("../docs/client-storm.svg", import.meta.url), stormSvg(runs, "any rate", [12, 3], 12_000));
  return stormReport(runs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(benchStorm());
