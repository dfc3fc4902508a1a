import type { Address } from "./types.ts";
import type { PathIssue, PathSegment } from "./issues.ts";
import { formatAddress, isLoopbackHost, parseAddress } from "./address.ts";
import { DEFAULTS } from "./defaults.ts";
import { NAME } from "./schema-fields.ts";
import { formatPath } from "./issues.ts";
import { didYouMean, ok } from "./parse-result.ts";
import { has, list, rec, text } from "./unchecked.ts";
import {
  backendRules,
  healthRules,
  matchRules,
  passiveRules,
  ROUTE_NEEDS_BACKEND,
  shutdownRules,
  stickyRules,
} from "./object-rules.ts";
import { httpListenerTlsRules, tcpListenerRules } from "./object-rules-tls.ts";

/**
 * What the cross-field checks need from the outside world.
 *
 * @example
 * crossCheck(raw, { readable: (file) => (existsSync(resolve(dir, file)) ? undefined : "no such file") });
 */
export interface CheckOptions {
  /** Why a file named in the config cannot be read (as written, relative to the config), or `undefined` when it can. */
  readonly readable: (file: string) => string | undefined;
}

type Raw = Readonly<Record<string, unknown>>;

// Reports the second and later uses of a key, naming the first.
function onlyOnce(out: PathIssue[], message: (key: string, first: number) => string) {
  const seen = new Map<string, number>();
  return (key: string | undefined, index: number, path: PathSegment[]): void => {
    if (key === undefined) return;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else out.push({ path, message: message(key, first) });
  };
}

const under = (prefix: readonly PathSegment[], issues: readonly PathIssue[]): PathIssue[] =>
  issues.map((i) => ({ path: [...prefix, ...i.path], message: i.message }));

/**
 * The checks between fields and between sections (DESIGN §3): references to backends,
 * unique names, addresses taken twice, unreachable routes, TLS files (readable; their
 * contents are checked by the loader), and the rules of `object-rules.ts` and `object-rules-tls.ts`. They read the raw tree and skip whatever does not parse,
 * so they report alongside the schema's own errors rather than after they are fixed.
 *
 * @example
 * crossCheck(YAML.parse(text), { readable: () => undefined });
 * // [{ path: ["listeners", 0, "backend"], message: 'unknown backend "apii" (did you mean "api"?)' }]
 */
export function crossCheck(raw: unknown, opts: CheckOptions): PathIssue[] {
  const root = rec(raw);
  if (!root) return [];
  const out: PathIssue[] = [];
  const shutdown = rec(root.shutdown);
  if (shutdown) out.push(...under(["shutdown"], shutdownRules(shutdown)));
  const backends = rec(root.backends);
  for (const [name, value] of Object.entries(backends ?? {})) {
    const backend = rec(value);
    if (backend) out.push(...checkBackend(backend, ["backends", name], opts));
  }
  // Without a backends mapping every reference would be "unknown": the schema's one
  // error says it better.
  const names = backends ? Object.keys(backends) : undefined;
  out.push(...checkListeners(root, names, opts));
  return out;
}

function checkBackend(backend: Raw, at: PathSegment[], opts: CheckOptions): PathIssue[] {
  const out = under(at, backendRules(backend));
  const sticky = rec(backend.sticky);
  if (sticky) out.push(...under([...at, "sticky"], stickyRules(sticky)));
  const health = rec(backend.health);
  if (health) out.push(...under([...at, "health"], healthRules(health)));
  const passive = rec(backend.passive);
  if (passive) out.push(...under([...at, "passive"], passiveRules(passive)));
  const ca = text(rec(backend.tls)?.ca);
  const why = ca ? opts.readable(ca) : undefined;
  if (why !== undefined) out.push({ path: [...at, "tls", "ca"], message: `cannot read ${ca}: ${why}` });
  const name = onlyOnce(out, (key, first) => `${JSON.stringify(key)} is already used by servers[${first}]`);
  const address = onlyOnce(out, (key, first) => `${key} is already used by servers[${first}]`);
  list(backend.servers).forEach((value, i) => {
    const server = rec(value);
    name(text(server?.name), i, [...at, "servers", i, "name"]);
    const parsed = parseAddress(server?.address, "server");
    if (parsed.ok) address(formatAddress(parsed.value), i, [...at, "servers", i, "address"]);
  });
  return out;
}

function checkListeners(root: Raw, backends: readonly string[] | undefined, opts: CheckOptions): PathIssue[] {
  const out: PathIssue[] = [];
  const reference = (value: unknown, path: PathSegment[]) => {
    const name = text(value);
    if (backends === undefined || name === undefined || !NAME.test(name) || backends.includes(name)) return;
    out.push({ path, message: `unknown backend ${JSON.stringify(name)}${didYouMean(name, backends)}` });
  };
  const taken: { address: Address; owner: string }[] = [];
  const admin = rec(root.admin);
  const adminListen = has(admin, "listen") ? parseAddress(admin?.listen, "listen") : ok(DEFAULTS.admin.listen);
  if (adminListen.ok) taken.push({ address: adminListen.value, owner: "admin.listen" });
  // The admin API drains servers and reloads the config: off this machine only with a token.
  if (adminListen.ok && !isLoopbackHost(adminListen.value.host) && !has(admin, "token")) {
    out.push({
      path: ["admin", "listen"],
      message: `${formatAddress(adminListen.value)} is reachable from other machines: set admin.token (e.g. token: \${HOLDFAST_ADMIN_TOKEN}) or listen on 127.0.0.1`,
    });
  }
  const name = onlyOnce(out, (key, first) => `${JSON.stringify(key)} is already used by listeners[${first}]`);

  list(root.listeners).forEach((value, i) => {
    const listener = rec(value);
    if (!listener) return;
    const at: PathSegment[] = ["listeners", i];
    name(text(listener.name), i, [...at, "name"]);
    const listen = parseAddress(listener.listen, "listen");
    if (listen.ok) {
      const clash = taken.find((t) => overlaps(t.address, listen.value));
      const message = clash && `conflicts with ${clash.owner} (${formatAddress(clash.address)})`;
      if (message) out.push({ path: [...at, "listen"], message });
      taken.push({ address: listen.value, owner: `${formatPath(at)}.listen` });
    }
    if (listener.mode === "tcp") {
      out.push(...under(at, tcpListenerRules(listener)));
      reference(listener.backend, [...at, "backend"]);
      list(listener.routes).forEach((r, j) => reference(rec(r)?.backend, [...at, "routes", j, "backend"]));
      return;
    }
    if (listener.mode !== "http") return;
    out.push(...under(at, httpListenerTlsRules(listener)));
    const tls = rec(listener.tls);
    const readable = (file: unknown, path: PathSegment[]) => {
      const name = text(file);
      const why = name ? opts.readable(name) : undefined;
      if (why !== undefined) out.push({ path, message: `cannot read ${name}: ${why}` });
    };
    for (const key of ["cert", "key"]) readable(tls?.[key], [...at, "tls", key]);
    list(tls?.certs).forEach((c, j) => {
      for (const key of ["cert", "key"]) readable(rec(c)?.[key], [...at, "tls", "certs", j, key]);
    });
    let fallback: number | undefined;
    list(listener.routes).forEach((routeValue, j) => {
      const route = rec(routeValue);
      if (!route) return;
      const rp: PathSegment[] = [...at, "routes", j];
      if (fallback !== undefined) {
        out.push({ path: rp, message: `unreachable: routes[${fallback}] has no match and takes every request` });
      } else if (!has(route, "match")) {
        fallback = j;
      }
      const match = rec(route.match);
      if (match) out.push(...under([...rp, "match"], matchRules(match)));
      if (!has(route, "backend") && !has(route, "split")) out.push(...under(rp, [ROUTE_NEEDS_BACKEND]));
      reference(route.backend, [...rp, "backend"]);
      const once = onlyOnce(out, (key, first) => `${JSON.stringify(key)} is already in split[${first}]`);
      list(route.split).forEach((entry, k) => {
        const backend = rec(entry)?.backend;
        reference(backend, [...rp, "split", k, "backend"]);
        once(text(backend), k, [...rp, "split", k, "backend"]);
      });
    });
  });
  return out;
}

/**
 * Whether two listen addresses cannot both be bound. A wildcard takes the port on every
 * address of its family, and `::` on IPv4 too (Node listens dual-stack); port 0 is a
 * fresh port each time. Host names are compared as written: resolving them is I/O.
 */
function overlaps(a: Address, b: Address): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  if (a.host === b.host || a.host === "::" || b.host === "::") return true;
  const ipv6 = (host: string) => host.includes(":");
  if (a.host === "0.0.0.0") return !ipv6(b.host);
  if (b.host === "0.0.0.0") return !ipv6(a.host);
  return false;
}
