/**
 * The node's counters, plain numbers bumped on the hot paths (a field increment, no
 * label lookup); `/metrics` and the admin page read them when asked.
 *
 * @example
 * stats.deliveries += n;
 * stats.recovery("too_old");
 */
import type { RecoveryOutcome } from "../core/recovery.ts";

/** Broker operations timed and counted separately. */
export const BROKER_OPS = ["publish", "history", "subscribe", "unsubscribe", "join", "leave", "touch", "presence"] as const;
export type BrokerOp = (typeof BROKER_OPS)[number];

/** Upper bounds (seconds) of the broker latency histogram. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** A latency histogram without labels: counts per bucket, sum and count. */
export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  /** Records one duration in seconds. */
  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** The q-quantile (0..1), as the upper bound of its bucket; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= q * this.count) return LATENCY_BUCKETS[i] ?? Infinity;
    }
    return Infinity;
  }
}

/**
 * Every counter of one hub node.
 *
 * @example
 * const stats = new HubStats();
 * stats.closed(1012, "hub");
 */
export class HubStats {
  connectionsAccepted = 0;
  /** Refused before they became connections (limit, origin, protocol, stopping). */
  readonly refused = new Map<string, number>();
  /** Connections closed, by `<hub|client> <code>`. */
  readonly closes = new Map<string, number>();
  /** Publications stored through this node (client `publish` and `POST /api/publish`). */
  publications = 0;
  /** Publications that reached this node from the broker. */
  received = 0;
  /** Messages handed to subscribers' connections (a publication to N subscribers counts N). */
  deliveries = 0;
  readonly recoveries = new Map<RecoveryOutcome, number>();
  /** Gaps seen on live delivery, repaired, and given up (subscribers told to resubscribe). */
  gaps = 0;
  repaired = 0;
  resubscribes = 0;
  /** Send queue overflows (per connection event), and messages dropped by drop-oldest. */
  overflows = 0;
  dropped = 0;
  readonly brokerErrors = new Map<BrokerOp, number>();
  readonly brokerLatency = new Map<BrokerOp, Histogram>(BROKER_OPS.map((op) => [op, new Histogram()]));
  /** Server API requests, by `route status`. */
  readonly api = new Map<string, number>();

  recovery(outcome: RecoveryOutcome): void {
    this.recoveries.set(outcome, (this.recoveries.get(outcome) ?? 0) + 1);
  }

  closed(code: number, by: "hub" | "client"): void {
    const key = `${by} ${code}`;
    this.closes.set(key, (this.closes.get(key) ?? 0) + 1);
  }

  refuse(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  apiRequest(route: string, status: number): void {
    const key = `${route} ${status}`;
    this.api.set(key, (this.api.get(key) ?? 0) + 1);
  }

  brokerError(op: BrokerOp): void {
    this.brokerErrors.set(op, (this.brokerErrors.get(op) ?? 0) + 1);
  }
}
