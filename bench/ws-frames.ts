// Micro-benchmark of the frame-aware tunnel's parsers: what FrameTracker.push
// (server→client) and PongFilter.push (client→server, with and without a ping out) cost
// per frame and per MiB, for 64-byte and 16 KiB frames, against a no-op that stands for
// the blind tunnel. Not a test. Run it alone with `node bench/ws-frames.ts` (prints a
// markdown table), or call benchWsFrames() from a driver.
//
// The stream is cut in 64 KiB chunks, what a socket read delivers under load, so frames
// straddle chunks as they do in production. The macro-level check (echo throughput
// through the gateway vs a blind tunnel, issue 5: < 10%) is the ws-echo workload; this is
// its micro-level counterpart: divide "ns/MiB" by a blind tunnel's ns per MiB.
import { FrameTracker } from "../src/codec/ws/frames.ts";
import { PongFilter, pingPayload } from "../src/codec/ws/pong-filter.ts";
import { wsFrame } from "../src/codec/ws/testing.kit.ts";

/**
 * One line of the result: a parser on one frame size.
 *
 * @example
 * const row: Row = { case: "FrameTracker.push", "payload (B)": 64, "ns/frame": 2.1, "ns/MiB": 33_000, "GiB/s": 29.6 };
 */
export interface Row {
  case: string;
  "payload (B)": number;
  "ns/frame": number;
  "ns/MiB": number;
  "GiB/s": number;
}

const CHUNK = 64 * 1024;
const STREAM = 8 * 1024 * 1024; // bytes of frames per pass
const WARMUP_MS = 300;
const SAMPLES = 12;
const SAMPLE_MS = 40;
const SIZES = [64, 16 * 1024] as const;

interface Input {
  buf: Buffer;
  frames: number;
  cuts: Int32Array; // chunk starts, then the end
}

function input(payload: number, mask: boolean): Input {
  const one = wsFrame({ opcode: 2, payload: Buffer.alloc(payload, 0x5a), mask });
  const frames = Math.max(1, Math.floor(STREAM / one.length));
  const buf = Buffer.concat(Array.from({ length: frames }, () => one));
  const n = Math.ceil(buf.length / CHUNK);
  const cuts = new Int32Array(n + 1);
  for (let c = 0; c < n; c++) cuts[c] = c * CHUNK;
  cuts[n] = buf.length;
  return { buf, frames, cuts };
}

// The blind tunnel's share of the work: nothing but the call.
class Noop {
  push(_buf: Buffer, _start: number, end: number): number {
    return end;
  }
}

// One loop per parser, so each call site stays monomorphic.
function passNoop(p: Noop, x: Input): number {
  let sink = 0;
  for (let c = 0; c + 1 < x.cuts.length; c++) sink += p.push(x.buf, x.cuts[c]!, x.cuts[c + 1]!);
  return sink;
}

function passTracker(p: FrameTracker, x: Input): number {
  let sink = 0;
  for (let c = 0; c + 1 < x.cuts.length; c++) sink += p.push(x.buf, x.cuts[c]!, x.cuts[c + 1]!);
  return sink;
}

function passFilter(p: PongFilter, x: Input): number {
  let sink = 0;
  for (let c = 0; c + 1 < x.cuts.length; c++) sink += p.push(x.buf, x.cuts[c]!, x.cuts[c + 1]!) ? 1 : 0;
  return sink;
}

let sink = 0;

/**
 * Runs `pass` for WARMUP_MS, then SAMPLES windows of at least SAMPLE_MS; returns the
 * fastest window's ns per pass: the machine is shared, and noise only ever adds time.
 */
function time(pass: () => number): number {
  const window = (ms: number): number => {
    const t0 = process.hrtime.bigint();
    for (let passes = 1; ; passes++) {
      sink += pass();
      const ns = Number(process.hrtime.bigint() - t0);
      if (ns >= ms * 1e6) return ns / passes;
    }
  };
  window(WARMUP_MS);
  let best = Infinity;
  for (let k = 0; k < SAMPLES; k++) best = Math.min(best, window(SAMPLE_MS));
  return best;
}

/**
 * Cost of the frame parsers, in ns per frame and per MiB, for 64-byte and 16 KiB
 * frames, next to a no-op baseline (the blind tunnel).
 *
 * @example
 * const rows = await benchWsFrames();
 * rows.find((r) => r.case === "FrameTracker.push" && r["payload (B)"] === 64)?.["ns/frame"];
 */
export async function benchWsFrames(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of SIZES) {
    const plain = input(size, false);
    const masked = input(size, true);
    const cases: [name: string, x: Input, pass: () => number][] = [
      ["no-op (blind tunnel)", plain, () => passNoop(new Noop(), plain)],
      ["FrameTracker.push", plain, () => passTracker(new FrameTracker(), plain)],
      ["PongFilter.push, no ping out", masked, () => passFilter(new PongFilter(), masked)],
      [
        "PongFilter.push, ping out",
        masked,
        () => {
          const f = new PongFilter();
          f.expect(pingPayload(1));
          return passFilter(f, masked);
        },
      ],
    ];
    for (const [name, x, pass] of cases) {
      const ns = time(pass);
      rows.push({ case: name, "payload (B)": size, "ns/frame": ns / x.frames, "ns/MiB": ns / (x.buf.length / 2 ** 20), "GiB/s": x.buf.length / ns / 1.073741824 });
      await new Promise((resolve) => setImmediate(resolve)); // let a driver's I/O breathe
    }
  }
  if (sink === -1) console.log(sink); // keeps the work observable
  return rows;
}

/**
 * The rows as a markdown table.
 *
 * @example
 * console.log(toMarkdown(await benchWsFrames()));
 */
export function toMarkdown(rows: readonly Row[]): string {
  const lines = ["| case | payload (B) | ns/frame | ns/MiB | GiB/s |", "| --- | ---: | ---: | ---: | ---: |"];
  for (const r of rows) {
    lines.push(`| ${r.case} | ${r["payload (B)"]} | ${r["ns/frame"].toFixed(2)} | ${r["ns/MiB"].toFixed(0)} | ${r["GiB/s"].toFixed(1)} |`);
  }
  return lines.join("\n");
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) {
  console.log(`Node ${process.version}, ${STREAM / 2 ** 20} MiB of frames per pass in ${CHUNK / 1024} KiB chunks, best of ${SAMPLES} windows of ${SAMPLE_MS} ms after ${WARMUP_MS} ms of warm-up\n`);
  console.log(toMarkdown(await benchWsFrames()));
}
