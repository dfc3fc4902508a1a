import { pino, type Logger } from "pino";

/**
 * Access logs: one JSON line per exchange (or per tunnel, when it closes), written
 * asynchronously by pino to stdout. Off by default per listener (`accessLog: true`);
 * when off, the data plane builds nothing for it.
 *
 * @example
 * const log = createAccessLog();
 * log.info({ client: "10.0.0.7", method: "GET", path: "/", status: 200, ... });
 */
export function createAccessLog(destination: number | string = 1): Logger {
  return pino(
    { base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "msg" },
    pino.destination({ dest: destination, sync: false, minLength: 4096 }),
  );
}

/** What an access-log line holds; built at request start only when logging is on. */
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
}
