/**
 * `holdfast/pool`: outbound HTTP keep-alive pools per origin, on undici, with reuse
 * statistics measured from what happened on the wire, and Prometheus metrics
 * (DESIGN §8, docs/pool.md).
 *
 * @example
 * import { Pools } from "holdfast/pool";
 * const pools = new Pools({ connections: 32, keepAliveTimeout: 30_000, allowH2: true });
 * const res = await pools.request("https://api.example.com/v1/chat", { method: "POST", body: JSON.stringify({ q: 1 }) });
 * await res.body.json();
 * pools.stats(); // { requests, connectionsCreated, connectionsReused, reuseRate, ..., origins: { ... } }
 * await pools.close();
 */
export { Pools, type PoolsOptions, type PoolsTlsOptions, type PoolRequestOptions } from "./pools.ts";
export {
  CLOSE_REASONS, REQUESTS_PER_CONNECTION_BUCKETS, LIFETIME_BUCKETS_SECONDS, HANDSHAKE_BUCKETS_SECONDS,
  type CloseReason, type HistogramSnapshot, type OriginStats, type PoolsStats, type ReuseStats,
} from "./stats.ts";
