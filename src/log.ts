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
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

export type { Logger };
