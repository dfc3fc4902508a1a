import { METHOD_NAMES } from "../codec/http1/head.ts";

/**
 * Per-server traffic counters, kept as plain numbers and typed arrays the data plane
 * increments in place (no allocation per request); metrics and the dashboard read them
 * at scrape time.
 *
 * @example
 * server.stats.response(head.method, 200, 1.7, 120, 512);
 */

/** Method classes, a bounded label set (the scanner classifies: `Head.method`). */
export const METHODS = METHOD_NAMES;

/** Status classes: index 1..5 for 1xx..5xx; 0 = no response (connection failed or aborted). */
export const STATUS_CLASSES = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** Latency histogram bucket upper bounds, in seconds (Prometheus convention). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export class ServerStats {
  connectionsCreated = 0;
  connectionsReused = 0;
  connectFailures = 0;
  /** Requests and tunnels dispatched to the server (including failed attempts). */
  requests = 0;
  retries = 0;
  ejections = 0;
  tunnelsOpened = 0;
  admissionRejected = 0;
  bytesIn = 0; // client → server
  bytesOut = 0; // server → client
  /** responses[method * 6 + statusClass] */
  readonly responses = new Float64Array(METHODS.length * STATUS_CLASSES.length);
  /** Cumulative-free bucket counts (index LATENCY_BUCKETS.length = +Inf) and the sum in seconds. */
  readonly latency = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  latencyCount = 0;

  /** Records one finished exchange. `status` 0 = no response. */
  response(method: number, status: number, latencyMs: number, bytesIn: number, bytesOut: number): void {
    const cls = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    this.responses[method * 6 + cls]!++;
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    if (status === 0) return;
    const s = latencyMs / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && s > LATENCY_BUCKETS[i]!) i++;
    this.latency[i]!++;
    this.latencySum += s;
    this.latencyCount++;
  }
}

const NONE = 0;
const CLASS_5XX = STATUS_CLASSES.indexOf("5xx");

/**
 * Finished exchanges recorded for a server, and how many of them failed (a 5xx, or no
 * response at all: connection refused, reset, timed out).
 *
 * @example
 * const { total, errors } = responseTotals(server.stats);
 */
export function responseTotals(stats: ServerStats): { total: number; errors: number } {
  const r = stats.responses;
  const n = STATUS_CLASSES.length;
  let total = 0;
  let errors = 0;
  for (let i = 0; i < r.length; i++) {
    const v = r[i]!;
    total += v;
    const cls = i % n;
    if (cls === NONE || cls === CLASS_5XX) errors += v;
  }
  return { total, errors };
}
