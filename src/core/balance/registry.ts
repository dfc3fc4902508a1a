import type { BalancerFactory } from "./types.ts";
import { boundedHash } from "./bounded-hash.ts";
import { consistentHash } from "./consistent-hash.ts";
import { leastConn } from "./least-conn.ts";
import { leastResponseTime } from "./least-response-time.ts";
import { maglev } from "./maglev.ts";
import { p2c } from "./p2c.ts";
import { random } from "./random.ts";
import { roundRobin } from "./round-robin.ts";
import { sourceHash } from "./source-hash.ts";
import { weightedLeastConn } from "./weighted-least-conn.ts";
import { weightedRoundRobin } from "./weighted-round-robin.ts";

/**
 * Policy name → factory. Explicit (no registration by import side effect): adding a
 * policy means adding a line here and its name to the config schema's enum.
 *
 * @example
 * const b = createBalancer("maglev", { hashBalanceFactor: 125 });
 */
export const balancers = {
  "round-robin": () => roundRobin(),
  "weighted-round-robin": () => weightedRoundRobin(),
  "least-conn": () => leastConn(),
  "weighted-least-conn": () => weightedLeastConn(),
  random: () => random(),
  p2c: () => p2c(),
  "source-hash": () => sourceHash(),
  "consistent-hash": () => consistentHash(),
  maglev: () => maglev(),
  "bounded-hash": (opts) => boundedHash(opts),
  "least-response-time": () => leastResponseTime(),
} as const satisfies Record<string, BalancerFactory>;

/**
 * The registered policy names; the config schema's `balance` enum lists the same.
 *
 * @example
 * const name: BalancerName = "least-response-time";
 */
export type BalancerName = keyof typeof balancers;

/**
 * Builds the named policy. Names are validated by the config schema first.
 *
 * @example
 * const b = createBalancer("bounded-hash", { hashBalanceFactor: 150 });
 * b.pick(servers, { key: "user-42", now: performance.now(), random: Math.random });
 */
export function createBalancer(name: BalancerName, opts: Parameters<BalancerFactory>[0] = {}) {
  return balancers[name](opts);
}
