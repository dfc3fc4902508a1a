/**
 * Hot reload's config diff (DESIGN §4 "Reload", issue 5 part 4): what changed between
 * the running config and a validated new one, in the terms the gateway applies. PURE.
 *
 * Listeners are matched by name, backends by name, servers by name within their backend.
 * What cannot change in place is reported as removed + added: a listener whose `listen`
 * address or `mode` changed (another socket, another engine), a server whose address
 * changed (another endpoint: the old one drains). Everything else is changed in place,
 * with the names of the fields that differ.
 *
 * A safe order to apply it: add backends, update changed backends (add servers, drain
 * removed ones), close removed listeners (stop accepting first: a re-added listener may
 * need the same port), bind added listeners, update changed listeners, then remove
 * backends (no route points at them any more).
 *
 * @example
 * const next = loadConfig(text, { env: process.env, baseDir });
 * if (next.ok) {
 *   const d = diffConfig(current, next.config);
 *   if (!isEmptyDiff(d)) apply(d);
 * }
 */
import type { BackendConfig, Config, ListenerConfig, ServerConfig } from "../../config/types.ts";

/**
 * One item changed in place: both versions and the top-level fields that differ.
 *
 * @example
 * const c: Change<ServerConfig> = { before: a1, after: { ...a1, weight: 5 }, fields: ["weight"] };
 */
export interface Change<T> {
  readonly before: T;
  readonly after: T;
  readonly fields: readonly (keyof T & string)[];
}

/**
 * Added, removed and changed items of one kind. `added` and `changed` are in the new
 * config's order, `removed` in the old one's.
 *
 * @example
 * const d: Changes<ListenerConfig> = { added: [], removed: [oldWeb], changed: [] };
 */
export interface Changes<T> {
  readonly added: readonly T[];
  readonly removed: readonly T[];
  readonly changed: readonly Change<T>[];
}

/**
 * A backend present in both configs whose settings or servers changed. `fields` lists
 * the changed settings (`balance`, `health`, `timeouts`, …; never `servers`), empty
 * when only servers changed; `servers` says which servers to add, drain or update.
 * The order of the servers is not a change: live state is keyed by name.
 *
 * @example
 * for (const s of b.servers.removed) drainServer(b.after.name, s.name);
 * if (b.fields.includes("health")) restartChecks(b.after);
 */
export interface BackendChange extends Change<BackendConfig> {
  readonly servers: Changes<ServerConfig>;
}

/**
 * The whole diff. `global` lists the changed top-level settings (`admin`, `workers`,
 * `shutdown`, `cluster`); the caller decides which it can apply live.
 *
 * @example
 * if (d.global.includes("workers")) log.warn("workers changes on restart only");
 */
export interface ConfigDiff {
  readonly global: readonly ("admin" | "workers" | "shutdown" | "cluster")[];
  readonly listeners: Changes<ListenerConfig>;
  readonly backends: {
    readonly added: readonly BackendConfig[];
    readonly removed: readonly BackendConfig[];
    readonly changed: readonly BackendChange[];
  };
}

/**
 * Computes the diff from `before` to `after`, both normalized by `loadConfig`.
 *
 * @example
 * const d = diffConfig(oldConfig, newConfig);
 * d.backends.changed[0]?.servers.added; // [{ name: "api4", address: …, weight: 1, backup: false }]
 */
export function diffConfig(before: Config, after: Config): ConfigDiff {
  const global = (["admin", "workers", "shutdown", "cluster"] as const).filter((k) => !deepEqual(before[k], after[k]));
  const listeners = diffByName(before.listeners, after.listeners, (a, b) => a.mode !== b.mode || !deepEqual(a.listen, b.listen), inPlace);
  const backends = diffByName(Object.values(before.backends), Object.values(after.backends), () => false, (a, b) => {
    const fields = changedFields(a, b, "servers");
    const servers = diffByName(a.servers, b.servers, (x, y) => !deepEqual(x.address, y.address), inPlace);
    return fields.length > 0 || !isEmptyChanges(servers) ? { before: a, after: b, fields, servers } : undefined;
  });
  return { global, listeners, backends };
}

/**
 * True when applying the diff would do nothing (the file was saved unchanged, or only
 * reformatted).
 *
 * @example
 * if (isEmptyDiff(d)) log.info("reload: no changes");
 */
export function isEmptyDiff(d: ConfigDiff): boolean {
  return d.global.length === 0 && isEmptyChanges(d.listeners) && isEmptyChanges(d.backends);
}

/**
 * Structural equality of plain config data (primitives, arrays, plain objects); a key
 * holding `undefined` counts as absent.
 *
 * @example
 * deepEqual({ host: "::1", port: 80 }, { port: 80, host: "::1" }); // true
 * deepEqual([1, 2], [2, 1]);                                       // false
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!deepEqual(ra[k], rb[k])) return false;
  return true;
}

function isEmptyChanges(c: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly changed: readonly unknown[] }): boolean {
  return c.added.length === 0 && c.removed.length === 0 && c.changed.length === 0;
}

/**
 * Matches by name. `replaced(a, b)` true turns a pair into removed + added; otherwise
 * `change(a, b)` describes it, `undefined` when it did not change.
 */
function diffByName<T extends { readonly name: string }, C>(
  before: readonly T[],
  after: readonly T[],
  replaced: (a: T, b: T) => boolean,
  change: (a: T, b: T) => C | undefined,
): { added: T[]; removed: T[]; changed: C[] } {
  const old = new Map(before.map((x) => [x.name, x]));
  const gone = new Set(old.keys());
  const added: T[] = [];
  const changed: C[] = [];
  for (const b of after) {
    const a = old.get(b.name);
    if (a === undefined) {
      added.push(b);
      continue;
    }
    if (replaced(a, b)) {
      added.push(b);
      continue;
    }
    gone.delete(b.name);
    const c = change(a, b);
    if (c !== undefined) changed.push(c);
  }
  return { added, removed: before.filter((x) => gone.has(x.name)), changed };
}

function inPlace<T extends object>(a: T, b: T): Change<T> | undefined {
  const fields = changedFields(a, b);
  return fields.length > 0 ? { before: a, after: b, fields } : undefined;
}

function changedFields<T extends object>(a: T, b: T, ignore?: string): (keyof T & string)[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof T & string>;
  return [...keys].filter((k) => k !== ignore && !deepEqual(a[k], b[k]));
}
