import type { BalanceName } from "./types.ts";

/**
 * Every default of the config in one place (DESIGN §3, `types.ts`), read by the schema
 * that fills them in and by the cross-field checks that compare against them.
 * Durations in milliseconds.
 *
 * @example
 * DEFAULTS.health.interval; // 5000
 */
export const DEFAULTS = {
  admin: { listen: { host: "127.0.0.1", port: 9900 } },
  shutdown: { delay: 2_000, timeout: 60_000 },
  listener: { requestHeaders: 10_000, clientIdle: 60_000, maxHeaderSize: 16_384, accessLog: false, maxConcurrentStreams: 100, tlsMinVersion: "TLSv1.2", maxConnections: 0, maxConnectionsPerClient: 0 },
  balance: "round-robin",
  hashBalanceFactor: 125,
  sticky: { maxEntries: 100_000 },
  health: {
    type: "tcp",
    method: "GET",
    path: "/",
    interval: 5_000,
    timeout: 2_000,
    rise: 2,
    fall: 3,
    jitter: 0.1,
  },
  passive: {
    consecutiveFailures: 5,
    ejectTime: 30_000,
    maxEjectTime: 300_000,
    maxEjectedPercent: 50,
    on5xx: false,
    recovery: "timeout",
  },
  slowStart: 0,
  maxConn: 0,
  queueTimeout: 5_000,
  retries: 2,
  keepAlive: { maxIdle: 64, idleTimeout: 30_000 },
  timeouts: { connect: 5_000, server: 60_000, tunnel: 3_600_000 },
  drainTimeout: 30_000,
  drainSpread: 10_000,
  maxLifetime: 0,
  websocket: { pingInterval: 25_000, pongTimeout: 10_000 },
  weight: 1,
} as const;

/**
 * Every balancing policy name, in DESIGN §3 order.
 *
 * @example
 * BALANCE_NAMES.includes("maglev"); // true
 */
export const BALANCE_NAMES = [
  "round-robin",
  "weighted-round-robin",
  "least-conn",
  "weighted-least-conn",
  "random",
  "p2c",
  "source-hash",
  "consistent-hash",
  "maglev",
  "bounded-hash",
  "least-response-time",
] as const satisfies readonly BalanceName[];

// A name added to BalanceName but not listed above fails to compile here.
const _everyName: [Exclude<BalanceName, (typeof BALANCE_NAMES)[number]>] extends [never] ? true : never = true;
void _everyName;

/**
 * The policies that pick by hashing a key; they take `hashKey` and exclude `sticky`.
 *
 * @example
 * HASH_POLICIES.includes(backend.balance); // then backend.hashKey is set
 */
export const HASH_POLICIES: readonly BalanceName[] = ["source-hash", "consistent-hash", "maglev", "bounded-hash"];
