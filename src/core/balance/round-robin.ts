import type { Balancer, ServerView } from "./types.ts";

/**
 * Plain round-robin over available servers (weights ignored: use
 * `weighted-round-robin` to honour them).
 *
 * @example
 * const b = roundRobin();
 * b.pick(servers, ctx); // servers[0], then servers[1], ...
 */
export function roundRobin(): Balancer {
  let next = 0;
  return {
    name: "round-robin",
    pick(servers: readonly ServerView[]): ServerView | undefined {
      const n = servers.length;
      for (let i = 0; i < n; i++) {
        const s = servers[(next + i) % n]!;
        if (s.available && s.weight > 0) {
          next = (next + i + 1) % n;
          return s;
        }
      }
      return undefined;
    },
  } satisfies Balancer;
}
