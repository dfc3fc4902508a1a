import type { BalancerFactory } from "./types.ts";
import { roundRobin } from "./round-robin.ts";

/**
 * Policy name → factory. Explicit (no registration by import side effect): adding a
 * policy means adding a line here and its name to the config schema's enum.
 *
 * @example
 * const b = createBalancer("maglev", { hashBalanceFactor: 125 });
 */
export const balancers = {
  "round-robin": () => roundRobin(),
} as const satisfies Record<string, BalancerFactory>;

export type BalancerName = keyof typeof balancers;

/** Builds the named policy. Names are validated by the config schema first. */
export function createBalancer(name: BalancerName, opts: Parameters<BalancerFactory>[0] = {}) {
  return balancers[name](opts);
}
