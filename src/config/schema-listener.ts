import { z } from "zod";
import type { HttpListenerConfig, ListenerLimits, ListenerTimeouts, ListenerTls, RouteConfig, RouteMatch, TcpListenerConfig, TcpRouteConfig } from "./types.ts";
import { isHostName } from "./address.ts";
import { DEFAULTS } from "./defaults.ts";
import { isToken } from "./hash-key.ts";
import { address, bool, cidr, duration, field, int, name, oneOf, str } from "./schema-fields.ts";
import { describe, fail, ok } from "./parse-result.ts";
import { ROUTE_NEEDS_BACKEND } from "./object-rules.ts";

const D = DEFAULTS.listener;

const hostMatch = field((v) => {
  if (typeof v !== "string") return fail<string>(`expected a host name like "admin.example.com", got ${describe(v)}`);
  const host = v.toLowerCase();
  if (/:\d+$/.test(host)) return fail<string>(`expected a host name without a port, got ${describe(v)}`);
  return isHostName(host) ? ok(host) : fail<string>(`expected a host name like "admin.example.com", got ${describe(v)}`);
});

// A TLS server name to match: a host name, or `*.` and one (one more label, as in certificates).
const sniMatch = field((v) => {
  if (typeof v !== "string") return fail<string>(`expected a server name like "db.example.com" or "*.example.com", got ${describe(v)}`);
  const sni = v.toLowerCase().replace(/\.$/, "");
  const wildcard = sni.startsWith("*.");
  const bare = wildcard ? sni.slice(2) : sni;
  // IP addresses are never sent as SNI (RFC 6066 §3); "*.com" would match too much.
  if (!isHostName(bare) || /^[\d.]+$/.test(bare) || (wildcard && !bare.includes("."))) {
    return fail<string>(`expected a server name like "db.example.com" or "*.example.com", got ${describe(v)}`);
  }
  return ok(sni);
});

const headerName = z.string().refine(isToken, { error: (iss) => `expected a header name like "X-Canary", got ${describe(iss.input)}` });

const match = z
  .strictObject({
    pathPrefix: str({ startsWith: "/" }).optional(),
    host: hostMatch.optional(),
    header: z.record(headerName, str()).optional(),
  })
  // Empty and duplicate-header matches are reported by matchRules (object-rules.ts).
  .transform(
    (m): RouteMatch => ({
      pathPrefix: m.pathPrefix,
      host: m.host,
      header: m.header && Object.fromEntries(Object.entries(m.header).map(([k, v]) => [k.toLowerCase(), v])),
    }),
  );

const route = z
  .strictObject({
    match: match.optional(),
    allow: z.array(cidr()).min(1, { error: "needs at least one CIDR block (leave allow out to allow everyone)" }).optional(),
    backend: name().optional(),
    split: z
      .array(z.strictObject({ backend: name(), weight: int(0) }))
      .min(1, { error: "needs at least one backend" })
      .optional(),
  })
  .transform((r, ctx): RouteConfig => {
    if (r.backend === undefined && r.split === undefined) {
      ctx.addIssue({ code: "custom", message: ROUTE_NEEDS_BACKEND.message, input: r });
    }
    if (r.split && r.split.every((s) => s.weight === 0)) {
      ctx.addIssue({ code: "custom", path: ["split"], message: "the weights add up to 0", input: r });
    }
    return {
      match: r.match,
      allow: r.allow,
      backend: r.backend ?? r.split?.[0]?.backend ?? "",
      split: r.split?.map((s) => ({ backend: s.backend, weight: s.weight })),
    };
  });

const timeouts = z
  .strictObject({
    requestHeaders: duration({ positive: true }).default(D.requestHeaders),
    clientIdle: duration({ positive: true }).default(D.clientIdle),
  })
  .prefault({})
  .transform((t): ListenerTimeouts => ({ requestHeaders: t.requestHeaders, clientIdle: t.clientIdle }));

const limits = z
  .strictObject({
    maxConnections: int(0, 10_000_000).default(D.maxConnections),
    maxConnectionsPerClient: int(0, 10_000_000).default(D.maxConnectionsPerClient),
  })
  .prefault({})
  .transform((l, ctx): ListenerLimits => {
    if (l.maxConnections > 0 && l.maxConnectionsPerClient > l.maxConnections) {
      ctx.addIssue({
        code: "custom",
        path: ["maxConnectionsPerClient"],
        message: `${l.maxConnectionsPerClient} is more than maxConnections (${l.maxConnections}), so it would never apply`,
        input: l,
      });
    }
    return { maxConnections: l.maxConnections, maxConnectionsPerClient: l.maxConnectionsPerClient };
  });

const keyPair = z.strictObject({ cert: str({ nonEmpty: true }), key: str({ nonEmpty: true }) });

// `cert`/`key` (the default certificate) and `certs` (more, chosen by SNI) may be mixed;
// the pairing rules are in object-rules-tls.ts. What the files hold is read by the loader.
const tls = z
  .strictObject({
    cert: str({ nonEmpty: true }).optional(),
    key: str({ nonEmpty: true }).optional(),
    certs: z.array(keyPair).min(1, { error: "needs at least one { cert, key } (or use cert and key directly)" }).optional(),
    minVersion: oneOf(["TLSv1.2", "TLSv1.3"]).default(D.tlsMinVersion),
  })
  .transform((t): ListenerTls => {
    const pairs = [...(t.cert !== undefined && t.key !== undefined ? [{ cert: t.cert, key: t.key }] : []), ...(t.certs ?? [])];
    return { certs: pairs.map((p) => ({ cert: p.cert, key: p.key, names: [], notAfter: "", fingerprint: "" })), minVersion: t.minVersion };
  });

const protocols = z.array(oneOf(["http1", "h2", "h2c"])).min(1, { error: "needs at least one protocol" });

const httpListener = z
  .strictObject({
    name: name(),
    mode: z.literal("http"),
    listen: address("listen"),
    tls: tls.optional(),
    protocols: protocols.optional(),
    proxyProtocol: oneOf(["accept"]).optional(),
    maxConcurrentStreams: int(1, 2_147_483_647).default(D.maxConcurrentStreams),
    routes: z.array(route).min(1, { error: "an http listener needs at least one route" }),
    accessLog: bool().default(D.accessLog),
    maxHeaderSize: int(1024, 1_048_576).default(D.maxHeaderSize),
    timeouts,
    limits,
    trustedProxies: z.array(cidr()).min(1, { error: "needs at least one CIDR block (leave trustedProxies out to trust no one)" }).optional(),
  })
  .transform(
    (l): HttpListenerConfig => ({
      name: l.name,
      mode: "http",
      listen: l.listen,
      tls: l.tls,
      protocols: l.protocols ?? (l.tls ? ["http1", "h2"] : ["http1"]),
      proxyProtocol: l.proxyProtocol,
      maxConcurrentStreams: l.maxConcurrentStreams,
      routes: l.routes,
      accessLog: l.accessLog,
      maxHeaderSize: l.maxHeaderSize,
      timeouts: l.timeouts,
      limits: l.limits,
      trustedProxies: l.trustedProxies,
    }),
  );

const tcpRoute = z
  .strictObject({ match: z.strictObject({ sni: sniMatch }).optional(), backend: name() })
  .transform((r): TcpRouteConfig => ({ match: r.match && { sni: r.match.sni }, backend: r.backend }));

// `backend` or `routes`, not both: the rule is in object-rules-tls.ts.
const tcpListener = z
  .strictObject({
    name: name(),
    mode: z.literal("tcp"),
    listen: address("listen"),
    backend: name().optional(),
    routes: z.array(tcpRoute).min(1, { error: "needs at least one route (or use backend)" }).optional(),
    proxyProtocol: oneOf(["accept"]).optional(),
    timeouts,
    limits,
  })
  .transform(
    (l): TcpListenerConfig => ({
      name: l.name,
      mode: "tcp",
      listen: l.listen,
      routes: l.routes ?? (l.backend === undefined ? [] : [{ match: undefined, backend: l.backend }]),
      proxyProtocol: l.proxyProtocol,
      timeouts: l.timeouts,
      limits: l.limits,
    }),
  );

/**
 * One entry of `listeners`: `mode: http` (routes) or `mode: tcp` (one backend).
 *
 * @example
 * listenerSchema.parse({ name: "pg", mode: "tcp", listen: ":5432", backend: "pg" }).listen; // { host: "0.0.0.0", port: 5432 }
 */
export const listenerSchema = z.discriminatedUnion("mode", [httpListener, tcpListener]);
