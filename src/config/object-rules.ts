import type { PathIssue } from "./issues.ts";
import { DEFAULTS, HASH_POLICIES } from "./defaults.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { has, rec, text } from "./unchecked.ts";

// Rules between the fields of one object. They read the raw tree (see unchecked.ts) and skip
// any field that does not parse, so they run alongside the schema rather than after it.
// Paths are relative to the object.

// A duration to compare, or undefined when absent-without-default, invalid or 0 (the
// schema reports those; comparing them would only add noise).
const ms = (v: unknown, fallback: number): number | undefined => {
  if (v === undefined) return fallback;
  const r = parseDuration(v);
  return r.ok && r.value > 0 ? r.value : undefined;
};

/**
 * Rules of `sticky`: cookie or source, and the options of each kind.
 *
 * @example
 * stickyRules({ cookie: "HF", source: true, ttl: "1h" }); // [{ path: [], message: "set either cookie or source, not both" }]
 */
export function stickyRules(sticky: Readonly<Record<string, unknown>>): PathIssue[] {
  const cookie = has(sticky, "cookie");
  const source = has(sticky, "source");
  if (cookie && source) return [{ path: [], message: "set either cookie or source, not both" }];
  if (!cookie && !source) return [{ path: [], message: "needs cookie: NAME (a cookie) or source: true (the client address)" }];
  const out: PathIssue[] = [];
  if (source && has(sticky, "secret")) out.push({ path: ["secret"], message: "only for a cookie sticky (cookie: NAME)" });
  if (cookie && has(sticky, "maxEntries")) out.push({ path: ["maxEntries"], message: "only for a source sticky (source: true)" });
  return out;
}

/**
 * Rules of a route's `match`: something to match, and each header once (names ignore
 * case, so `X-A` and `x-a` are the same header).
 *
 * @example
 * matchRules({}); // one issue: leave match out for the default route
 */
export function matchRules(match: Readonly<Record<string, unknown>>): PathIssue[] {
  if (Object.keys(match).length === 0) {
    return [{ path: [], message: "needs pathPrefix, host or header (leave match out for the default route)" }];
  }
  const header = rec(match.header);
  if (!header) return [];
  const keys = Object.keys(header);
  if (keys.length === 0) return [{ path: ["header"], message: "needs at least one header" }];
  const out: PathIssue[] = [];
  const seen = new Map<string, string>();
  for (const key of keys) {
    const first = seen.get(key.toLowerCase());
    if (first !== undefined) out.push({ path: ["header", key], message: `same header as ${first} (names ignore case)` });
    else seen.set(key.toLowerCase(), key);
  }
  return out;
}

/**
 * A route needs somewhere to send requests (shared by the route schema and the checks).
 *
 * @example
 * ROUTE_NEEDS_BACKEND.message; // "needs a backend or a split"
 */
export const ROUTE_NEEDS_BACKEND: PathIssue = { path: [], message: "needs a backend or a split" };

/**
 * Rules of `health`: the timeout fits in the interval, the latency bound in the timeout,
 * and HTTP options only with `type: http`.
 *
 * @example
 * healthRules({ interval: "1s" }); // timeout (default 2s) >= interval: one issue at ["timeout"]
 */
export function healthRules(health: Readonly<Record<string, unknown>>): PathIssue[] {
  const out: PathIssue[] = [];
  const interval = ms(health.interval, DEFAULTS.health.interval);
  const timeout = ms(health.timeout, DEFAULTS.health.timeout);
  if (interval !== undefined && timeout !== undefined && timeout >= interval) {
    const which = has(health, "timeout") ? "" : " (the default)";
    out.push({
      path: ["timeout"],
      message: `must be less than the interval (${formatDuration(interval)}), got ${formatDuration(timeout)}${which}`,
    });
  }
  const expect = rec(health.expect);
  const maxLatency = has(expect, "maxLatency") ? ms(expect?.maxLatency, 0) : undefined;
  if (maxLatency !== undefined && timeout !== undefined && maxLatency > timeout) {
    out.push({
      path: ["expect", "maxLatency"],
      message: `must be at most the timeout (${formatDuration(timeout)}), got ${formatDuration(maxLatency)}`,
    });
  }
  if ((health.type ?? DEFAULTS.health.type) === "tcp") {
    for (const key of ["method", "path", "host", "expect"]) {
      if (has(health, key)) out.push({ path: [key], message: "only for type: http (this check is tcp)" });
    }
  }
  return out;
}

/**
 * Rules of `passive`: the ejection cap is not below the first ejection.
 *
 * @example
 * passiveRules({ ejectTime: "1m", maxEjectTime: "30s" }); // one issue at ["maxEjectTime"]
 */
export function passiveRules(passive: Readonly<Record<string, unknown>>): PathIssue[] {
  const eject = ms(passive.ejectTime, DEFAULTS.passive.ejectTime);
  const max = ms(passive.maxEjectTime, DEFAULTS.passive.maxEjectTime);
  if (eject === undefined || max === undefined || max >= eject) return [];
  return [{ path: ["maxEjectTime"], message: `must be at least ejectTime (${formatDuration(eject)}), got ${formatDuration(max)}` }];
}

/**
 * Rules between a backend's policy and its options: `hashKey` and `hashBalanceFactor`
 * need a hash policy, `sticky` excludes one, `passive.recovery: check` needs `health`.
 *
 * @example
 * backendRules({ balance: "least-conn", hashKey: "source" }); // one issue at ["hashKey"]
 */
export function backendRules(backend: Readonly<Record<string, unknown>>): PathIssue[] {
  const out: PathIssue[] = [];
  const balance = text(backend.balance) ?? DEFAULTS.balance;
  const hashing = HASH_POLICIES.includes(balance as never);
  if (has(backend, "hashKey") && !hashing) {
    out.push({ path: ["hashKey"], message: `only for the hash policies (${HASH_POLICIES.join(", ")}), not ${balance}` });
  }
  if (has(backend, "hashBalanceFactor") && balance !== "bounded-hash") {
    out.push({ path: ["hashBalanceFactor"], message: `only for balance: bounded-hash, not ${balance}` });
  }
  if (has(backend, "sticky") && hashing) {
    out.push({
      path: ["sticky"],
      message: `makes no sense with balance: ${balance}: the hash already pins each key to a server (choose the key with hashKey)`,
    });
  }
  if (rec(backend.passive)?.recovery === "check" && !has(backend, "health")) {
    out.push({ path: ["passive", "recovery"], message: "check needs active health checks (add health)" });
  }
  return out;
}

/**
 * Rules of `shutdown`: the listeners close before the hard deadline.
 *
 * @example
 * shutdownRules({ delay: "1m", timeout: "30s" }); // one issue at ["delay"]
 */
export function shutdownRules(shutdown: Readonly<Record<string, unknown>>): PathIssue[] {
  const delay = ms(shutdown.delay, DEFAULTS.shutdown.delay);
  const timeout = ms(shutdown.timeout, DEFAULTS.shutdown.timeout);
  if (delay === undefined || timeout === undefined || delay < timeout) return [];
  return [{ path: ["delay"], message: `must be less than the timeout (${formatDuration(timeout)}), got ${formatDuration(delay)}` }];
}
