import { pino, type Logger } from "pino";
import type { ErrorCode } from "../errors.ts";
import { events, on } from "./diagnostics.ts";

/**
 * Access logs: one JSON line per exchange (or per tunnel, when it closes), written
 * asynchronously by pino to stdout. Off by default per listener (`accessLog: true`).
 * The log subscribes to the `holdfast:exchange:finished` and `holdfast:tunnel:closed`
 * events; while no listener has it on, nobody subscribes and the data plane builds no
 * record.
 *
 * @example
 * const log = createAccessLog();
 * log.info({ client: "10.0.0.7", method: "GET", path: "/", status: 200, ... });
 */
export function createAccessLog(destination: number | string = 1): Logger {
  const dest = pino.destination({ dest: destination, sync: false, minLength: 4096, maxLength: ACCESS_LOG_BUFFER });
  // A full disk (ENOSPC), a closed pipe: the gateway keeps serving. The writer keeps what
  // failed and retries on the next line; beyond ACCESS_LOG_BUFFER lines are dropped.
  let dropped = 0;
  let warnedAt = -Infinity;
  const warn = (why: string) => {
    const now = performance.now();
    if (now - warnedAt < 60_000) return;
    warnedAt = now;
    const line = JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, name: "gateway", reason: why, dropped, msg: "access log write failed: lines are kept (up to 16 MiB) and written again when it works, then dropped" });
    try {
      process.stderr.write(`${line}\n`);
    } catch {
      // stderr is gone as well: nothing left to tell
    }
  };
  dest.on("error", (err: NodeJS.ErrnoException) => warn(err.code ?? err.message));
  dest.on("drop", () => {
    dropped++;
    warn("buffer full");
  });
  return pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "msg" }, dest);
}

/**
 * Bytes of access log kept while the destination refuses writes (disk full); beyond,
 * lines are dropped (and counted in the warning) instead of growing the process.
 *
 * @example
 * pino.destination({ dest: 1, maxLength: ACCESS_LOG_BUFFER });
 */
export const ACCESS_LOG_BUFFER = 16 * 1024 * 1024;

/**
 * Writes the access lines of `plane`'s listeners for which `enabled(listener)` holds;
 * returns the unsubscribe function. The logger is created on first use (stdout)
 * unless one is given.
 *
 * @example
 * const off = subscribeAccessLog(plane, undefined, (l) => l === "web");
 */
export function subscribeAccessLog(plane: object, log: Logger | undefined, enabled: (listener: string) => boolean): () => void {
  let out = log;
  const write = (record: AccessRecord) => {
    if (enabled(record.listener)) (out ??= createAccessLog()).info(record);
  };
  const offExchange = on(events.exchangeFinished, (m) => {
    if (m.plane === plane) write(m.record);
  });
  const offTunnel = on(events.tunnelClosed, (m) => {
    if (m.plane === plane && m.record !== null) write(m.record);
  });
  return () => {
    offExchange();
    offTunnel();
  };
}

/**
 * What an access-log line holds; built at request start only while the exchange
 * event has subscribers.
 *
 * @example
 * const r: AccessRecord = { client: "10.0.0.7", listener: "web", method: "GET", host: "example.com", path: "/",
 *   status: 200, bytesIn: 78, bytesOut: 512, durationMs: 1.2, backend: "app", server: "app1", retries: 0, upstreamReused: true };
 */
export interface AccessRecord {
  client: string;
  listener: string;
  method: string;
  host: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  backend: string;
  server: string;
  retries: number;
  upstreamReused: boolean;
  tunnelMs?: number;
  /** Why the gateway answered or cut the exchange itself: an `HF_ERR_*` code (errors.ts). */
  error?: ErrorCode;
  /** A request the gateway refused by itself: why, in words (what its answer's body says). */
  reason?: string;
}
