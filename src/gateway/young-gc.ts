import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Keeps memory flat while bodies and tunnels stream. Every read from a socket arrives in
 * a freshly allocated buffer; forwarded at once, it is garbage a moment later, but V8
 * only collects buffers when its (small) JS heap fills or when external memory has grown
 * by tens of MiB, and the C allocator keeps that peak. A 1 GiB upload would then grow
 * the process by ~80 MiB of dead buffers. So after every `YOUNG_GC_EVERY_BYTES` streamed we
 * ask V8 for a young-generation collection (a scavenge, well under a millisecond with a
 * heap this small): the dead buffers are freed while they are still young, and the
 * allocator reuses the same memory for the next reads.
 *
 * Requests with small bodies stream a few bytes each and almost never trigger it; the
 * cost is paid by bulk transfers only (measured in the benchmark).
 *
 * @example
 * socket.write(chunk);
 * trackForwardedBytes(chunk.length);
 */
const YOUNG_GC_EVERY_BYTES = 4 * 1024 * 1024;

type GcFn = (opts?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

function exposeGc(): GcFn | undefined {
  const g = (globalThis as { gc?: GcFn }).gc;
  if (typeof g === "function") return g;
  try {
    setFlagsFromString("--expose-gc");
    const fn = runInNewContext("gc") as GcFn | undefined;
    return typeof fn === "function" ? fn : undefined;
  } catch {
    return undefined;
  }
}

const gc = exposeGc();
/** Bytes forwarded since the last young-generation collection. */
let bytesSinceGc = 0;

/** Counts `n` bytes forwarded; collects young garbage every few MiB. */
export function trackForwardedBytes(n: number): void {
  bytesSinceGc += n;
  if (bytesSinceGc >= YOUNG_GC_EVERY_BYTES) {
    bytesSinceGc = 0;
    gc?.({ type: "minor" });
  }
}
