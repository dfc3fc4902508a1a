import { z } from "zod";
import type { BackendConfig, BackendTls, HealthConfig, PassiveConfig, ServerConfig, StickyConfig } from "./types.ts";
import { BALANCE_NAMES, DEFAULTS, HASH_POLICIES } from "./defaults.ts";
import { address, bool, duration, field, hashKey, int, name, num, oneOf, str, token } from "./schema-fields.ts";
import { describe, fail, ok } from "./parse-result.ts";
import { isHostName } from "./address.ts";
import { stickyRules } from "./object-rules.ts";

const D = DEFAULTS;

const health = z
  .strictObject({
    type: oneOf(["tcp", "http"]).default(D.health.type),
    method: token('a method like "GET"').default(D.health.method),
    path: str({ startsWith: "/" }).default(D.health.path),
    host: str({ nonEmpty: true }).optional(),
    interval: duration({ positive: true }).default(D.health.interval),
    timeout: duration({ positive: true }).default(D.health.timeout),
    rise: int(1).default(D.health.rise),
    fall: int(1).default(D.health.fall),
    jitter: num({ min: 0, max: 1 }).default(D.health.jitter),
    expect: z
      .strictObject({
        status: z.array(int(100, 599)).default(() => []),
        maxLatency: duration({ positive: true }).optional(),
        json: z.record(z.string(), z.unknown()).optional(),
      })
      .prefault({}),
  })
  .transform(
    (h): HealthConfig => ({
      type: h.type,
      method: h.method,
      path: h.path,
      host: h.host,
      interval: h.interval,
      timeout: h.timeout,
      rise: h.rise,
      fall: h.fall,
      jitter: h.jitter,
      expect: { status: h.expect.status, maxLatency: h.expect.maxLatency, json: h.expect.json },
    }),
  );

const passive = z
  .strictObject({
    consecutiveFailures: int(1).default(D.passive.consecutiveFailures),
    ejectTime: duration({ positive: true }).default(D.passive.ejectTime),
    maxEjectTime: duration({ positive: true }).default(D.passive.maxEjectTime),
    maxEjectedPercent: num({ min: 0, max: 100 }).default(D.passive.maxEjectedPercent),
    on5xx: bool().default(D.passive.on5xx),
    recovery: oneOf(["timeout", "check"]).default(D.passive.recovery),
  })
  .transform(
    (p): PassiveConfig => ({
      consecutiveFailures: p.consecutiveFailures,
      ejectTime: p.ejectTime,
      maxEjectTime: p.maxEjectTime,
      maxEjectedPercent: p.maxEjectedPercent,
      on5xx: p.on5xx,
      recovery: p.recovery,
    }),
  );

// One strict object for both kinds, so a misspelt key is reported as such rather than
// as "matches neither kind"; the rules between the keys are in object-rules.ts.
const sticky = z
  .strictObject({
    cookie: token('a cookie name like "HF_SRV"').optional(),
    source: field((v) => (v === true ? ok(true as const) : fail<true>(`expected true, got ${describe(v)}`))).optional(),
    ttl: duration({ positive: true }),
    // Never echoed in a message: it is a secret.
    secret: field((v) =>
      typeof v !== "string"
        ? fail<string>(`expected a string, got ${describe(v)}`)
        : v.length < 16
          ? fail<string>("must be at least 16 characters (it signs the cookie)")
          : ok(v),
    ).optional(),
    maxEntries: int(1).optional(),
  })
  .transform((s, ctx): StickyConfig => {
    const problems = stickyRules(s);
    for (const p of problems) ctx.addIssue({ code: "custom", message: p.message, path: [...p.path], input: s });
    if (problems.length > 0) return z.NEVER;
    if (s.source) return { kind: "source", ttl: s.ttl, maxEntries: s.maxEntries ?? D.sticky.maxEntries };
    return { kind: "cookie", cookie: s.cookie ?? "", ttl: s.ttl, secret: s.secret };
  });

// TLS to the servers; `ca` is read and checked by the loader.
const backendTls = z
  .strictObject({
    verify: bool().default(true),
    ca: str({ nonEmpty: true }).optional(),
    servername: field((v) =>
      typeof v === "string" && isHostName(v.toLowerCase()) && !/^[\d.]+$/.test(v)
        ? ok(v.toLowerCase())
        : fail<string>(`expected a host name like "api.internal", got ${describe(v)}`),
    ).optional(),
  })
  .transform((t): BackendTls => ({ verify: t.verify, ca: t.ca, servername: t.servername, caPem: undefined }));

const server = z
  .strictObject({
    name: name(),
    address: address("server"),
    weight: int(1, 256).default(D.weight),
    backup: bool().default(false),
  })
  .transform((s): ServerConfig => ({ name: s.name, address: s.address, weight: s.weight, backup: s.backup }));

/**
 * One backend of the YAML (`backends.NAME`), normalized but for its `name`, which is its
 * key in `backends` and is added by the root schema.
 *
 * @example
 * backendSchema.parse({ servers: [{ name: "a", address: "10.0.0.1:80" }] }).balance; // "round-robin"
 */
export const backendSchema = z
  .strictObject({
    balance: oneOf(BALANCE_NAMES).default(D.balance),
    hashKey: hashKey().optional(),
    hashBalanceFactor: int(100).optional(),
    sticky: sticky.optional(),
    health: health.optional(),
    passive: passive.optional(),
    slowStart: duration().default(D.slowStart),
    maxConn: int(0).default(D.maxConn),
    queueTimeout: duration().default(D.queueTimeout),
    retries: int(0).default(D.retries),
    admission: z.strictObject({ rate: num({ above: 0 }), burst: int(1).optional() }).optional(),
    keepAlive: z
      .strictObject({
        maxIdle: int(0).default(D.keepAlive.maxIdle),
        idleTimeout: duration({ positive: true }).default(D.keepAlive.idleTimeout),
      })
      .prefault({}),
    timeouts: z
      .strictObject({
        connect: duration({ positive: true }).default(D.timeouts.connect),
        server: duration({ positive: true }).default(D.timeouts.server),
        tunnel: duration({ positive: true }).default(D.timeouts.tunnel),
      })
      .prefault({}),
    drainTimeout: duration().default(D.drainTimeout),
    drainSpread: duration().default(D.drainSpread),
    rebalance: z.strictObject({ maxSkew: num({ above: 1 }), rate: num({ above: 0 }) }).optional(),
    maxLifetime: duration().default(D.maxLifetime),
    websocket: z
      .strictObject({
        pingInterval: duration({ positive: true }).default(D.websocket.pingInterval),
        pongTimeout: duration({ positive: true }).default(D.websocket.pongTimeout),
      })
      .optional(),
    sse: z.strictObject({ heartbeat: duration({ positive: true }) }).optional(),
    tls: backendTls.optional(),
    proxyProtocol: oneOf(["v1", "v2"]).optional(),
    servers: z.array(server).min(1, { error: "needs at least one server" }),
  })
  .transform(
    (b): Omit<BackendConfig, "name"> => ({
      balance: b.balance,
      hashKey: b.hashKey ?? (HASH_POLICIES.includes(b.balance) ? { kind: "source" } : undefined),
      hashBalanceFactor: b.hashBalanceFactor ?? D.hashBalanceFactor,
      sticky: b.sticky,
      health: b.health,
      passive: b.passive,
      slowStart: b.slowStart,
      maxConn: b.maxConn,
      queueTimeout: b.queueTimeout,
      retries: b.retries,
      // A burst below one token would admit nothing; by default one second's worth.
      admission: b.admission && { rate: b.admission.rate, burst: b.admission.burst ?? Math.max(1, Math.ceil(b.admission.rate)) },
      keepAlive: { maxIdle: b.keepAlive.maxIdle, idleTimeout: b.keepAlive.idleTimeout },
      timeouts: { connect: b.timeouts.connect, server: b.timeouts.server, tunnel: b.timeouts.tunnel },
      drainTimeout: b.drainTimeout,
      drainSpread: b.drainSpread,
      rebalance: b.rebalance && { maxSkew: b.rebalance.maxSkew, rate: b.rebalance.rate },
      maxLifetime: b.maxLifetime,
      websocket: b.websocket && { pingInterval: b.websocket.pingInterval, pongTimeout: b.websocket.pongTimeout },
      sse: b.sse && { heartbeat: b.sse.heartbeat },
      tls: b.tls,
      proxyProtocol: b.proxyProtocol,
      servers: b.servers,
    }),
  );
