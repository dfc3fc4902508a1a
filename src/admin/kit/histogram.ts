import type { Metric, MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from "prom-client";

/**
 * A Prometheus histogram exposed from bucket counts someone else keeps. The data plane
 * counts latencies into plain `Float64Array` buckets (non-cumulative, last = +Inf);
 * prom-client's `Histogram` only grows by `observe()`, so this collector builds the
 * exposition at scrape time instead: cumulative `_bucket{le}` series, `_sum` and
 * `_count` (= the +Inf bucket), in the value format prom-client's `Registry` renders. With
 * workers the buckets are summed before they get here (`workers/snapshot.ts`).
 *
 * @example
 * new BucketHistogram(registry, {
 *   name: "holdfast_request_duration_seconds",
 *   help: "Time to the response head",
 *   buckets: [0.005, 0.05, 0.5],
 *   collect: (emit) => emit({ backend: "api" }, Float64Array.of(3, 1, 0, 1), 0.9),
 * });
 */

/**
 * Label values of one series.
 *
 * @example
 * const labels: Labels = { backend: "api", server: "api-1" };
 */
export type Labels = Readonly<Record<string, string>>;

/**
 * Called by the collect function once per labelled series: `counts` are
 * non-cumulative with `buckets.length + 1` entries (the last one is +Inf).
 *
 * @example
 * emit({ backend: "api", server: "a1" }, server.stats.latency, server.stats.latencySum);
 */
export type EmitHistogram = (labels: Labels, counts: ArrayLike<number>, sum: number) => void;

/**
 * Options of {@link BucketHistogram}.
 *
 * @example
 * const opts: BucketHistogramOptions = { name, help, buckets: LATENCY_BUCKETS, collect };
 */
export interface BucketHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending, without +Inf. */
  readonly buckets: readonly number[];
  readonly collect: (emit: EmitHistogram) => void;
}

/**
 * The collector; registers itself in `registry`.
 *
 * @example
 * new BucketHistogram(registry, { name, help, buckets: LATENCY_BUCKETS, collect: (emit) => ... });
 */
export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram" as const;
  readonly aggregator = "sum" as const;
  readonly #buckets: readonly string[];
  readonly #collect: (emit: EmitHistogram) => void;

  constructor(registry: Registry, opts: BucketHistogramOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.#buckets = [...opts.buckets.map((b) => String(b)), "+Inf"];
    this.#collect = opts.collect;
    // The registry only calls get() (and reset() on resetMetrics); it needs no more
    // of prom-client's Metric class than that.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series as prom-client's registry renders them. */
  get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    const bucketName = `${this.name}_bucket`;
    const les = this.#buckets;
    this.#collect((labels, counts, sum) => {
      if (counts.length !== les.length) throw new Error(`${this.name}: expected ${les.length} bucket counts, got ${counts.length}`);
      let cum = 0;
      for (let i = 0; i < les.length; i++) {
        cum += counts[i]!;
        values.push({ metricName: bucketName, labels: { ...labels, le: les[i]! }, value: cum });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      // _count is the +Inf bucket by definition.
      values.push({ metricName: `${this.name}_count`, labels, value: cum });
    });
    // prom-client's typings declare `type` as a numeric enum; at runtime it is the string.
    const type = this.type as unknown as MetricType;
    return Promise.resolve({ name: this.name, help: this.help, type, aggregator: this.aggregator, values, collect: () => {} });
  }

  /** Nothing to reset: the counts belong to the data plane. */
  reset(): void {}
}
