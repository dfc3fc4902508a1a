import { pino, type Logger } from "pino";

/**
 * The process logger: JSON lines on stderr (pino), level from `HOLDFAST_LOG`
 * (default `info`). The data plane never logs per request at `info`.
 *
 * @example
 * const log = createLogger("gateway");
 * log.info({ listener: "web", address }, "listening");
 */
export function createLogger(name: string, level = process.env.HOLDFAST_LOG ?? "info"): Logger {
  const dest = pino.destination({ fd: 2, sync: false, maxLength: 16 * 1024 * 1024 });
  // stderr on a full disk or a closed pipe must not stop the process: lines are retried
  // on the next write, then dropped beyond 16 MiB.
  dest.on("error", () => {});
  return pino({ name, level, base: { pid: process.pid } }, dest);
}

export type { Logger };
