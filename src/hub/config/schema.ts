import { z } from "zod";
import { address, bool, duration, field, int, oneOf, size, str } from "../../config/schema-fields.ts";
import { describe, fail, ok, type Parsed } from "../../config/parse-result.ts";
import { ruleProblems } from "../core/rules.ts";
import { HUB_DEFAULTS } from "./defaults.ts";
import type { HubBrokerConfig, HubChannelRule, HubConfig, HubJwtConfig } from "./types.ts";

// The hub's schema is built from the gateway's leaves (config/schema-fields.ts), so messages
// read the same in both files: `ping.interval: expected a duration like "5s", got 5`.

function parseUrl(protocols: readonly string[], example: string) {
  return (v: unknown): Parsed<string> => {
    const bad = () => fail<string>(`expected a URL like "${example}", got ${describe(v)}`);
    if (typeof v !== "string" || !URL.canParse(v)) return bad();
    return protocols.includes(new URL(v).protocol) ? ok(v) : bad();
  };
}

function parseOrigin(v: unknown): Parsed<string> {
  const bad = (why = "") => fail<string>(`expected an origin like "https://app.example.com" or "*", got ${describe(v)}${why}`);
  if (v === "*") return ok(v);
  if (typeof v !== "string" || !URL.canParse(v)) return bad();
  const u = new URL(v);
  if (u.protocol !== "http:" && u.protocol !== "https:") return bad();
  // A browser's Origin header is scheme://host[:port], nothing more.
  if (u.origin !== v.replace(/\/$/, "").toLowerCase()) return bad(` (no path; write ${JSON.stringify(u.origin)})`);
  return ok(u.origin);
}

const NODE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const nodeName = field((v) =>
  typeof v === "string" && NODE.test(v)
    ? ok(v)
    : fail<string>(`expected a node name like "hub-1" (letters, digits, ".", "_", "-", ":"; at most 64), got ${describe(v)}`),
);

const secret = field((v) => {
  if (typeof v !== "string") return fail<string>(`expected a string, got ${describe(v)}`);
  if (v.length < HUB_DEFAULTS.minSecretLength) {
    return fail<string>(`must be at least ${HUB_DEFAULTS.minSecretLength} characters for HS256, got ${v.length} (e.g. openssl rand -base64 32)`);
  }
  return ok(v);
});

const jwtSchema = z
  .strictObject({
    secret: secret.optional(),
    publicKey: str({ nonEmpty: true }).optional(),
    jwksUrl: field(parseUrl(["https:", "http:"], "https://auth.example.com/.well-known/jwks.json")).optional(),
    issuer: str({ nonEmpty: true }).optional(),
    audience: str({ nonEmpty: true }).optional(),
  })
  // Exactly one key source: checks.ts reports none or several; here the first one wins.
  .transform((j): HubJwtConfig | undefined => {
    const checks = { issuer: j.issuer, audience: j.audience };
    if (j.secret !== undefined) return { kind: "secret", secret: j.secret, ...checks };
    if (j.publicKey !== undefined) return { kind: "publicKey", publicKey: j.publicKey, ...checks };
    if (j.jwksUrl !== undefined) return { kind: "jwksUrl", jwksUrl: j.jwksUrl, ...checks };
    return undefined;
  });

const brokerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("memory") }),
  z.strictObject({
    type: z.literal("redis"),
    url: field(parseUrl(["redis:", "rediss:"], "redis://127.0.0.1:6379")),
    prefix: str({ nonEmpty: true }).optional(),
  }),
]);

const ruleSchema = z
  .strictObject({
    match: str({ nonEmpty: true }),
    history: z.strictObject({ size: int(1, 1_000_000), ttl: duration({ positive: true }) }).optional(),
    presence: bool().default(false),
    clientPublish: bool().default(false),
    anonymous: bool().default(false),
  })
  .transform(
    (r): HubChannelRule => ({
      match: r.match,
      history: r.history === undefined ? null : { size: r.history.size, ttlMs: r.history.ttl },
      presence: r.presence,
      clientPublish: r.clientPublish,
      anonymous: r.anonymous,
    }),
  );

const D = HUB_DEFAULTS;

/**
 * `hub.yaml` → {@link HubConfig}: strict at every depth, defaults filled in. Relations
 * between fields (one JWT key source, rules that can never match, timeouts against
 * intervals) are in `cross-checks.ts`.
 *
 * @example
 * const r = hubConfigSchema.safeParse({ auth: { anonymous: true } });
 * if (r.success) r.data.listen; // { host: "0.0.0.0", port: 7000 }
 */
export const hubConfigSchema = z
  .strictObject({
    listen: address("listen").default(() => ({ ...D.listen })),
    node: nodeName.optional(),
    broker: brokerSchema.default({ type: "memory" }),
    auth: z.strictObject({ jwt: jwtSchema.optional(), anonymous: bool().default(false) }).prefault({}),
    api: z.strictObject({ token: str({ nonEmpty: true }).optional() }).prefault({}),
    allowedOrigins: z.array(field(parseOrigin)).optional(),
    channels: z
      .array(ruleSchema)
      .min(1, { error: "needs at least one channel rule (or leave channels out)" })
      .superRefine((rules, ctx) => {
        for (const p of ruleProblems(rules)) ctx.addIssue({ code: "custom", path: [p.index, ...p.field.split(".")], message: p.message });
      })
      .optional(),
    ping: z
      .strictObject({
        interval: duration({ positive: true }).default(D.ping.interval),
        timeout: duration({ positive: true }).default(D.ping.timeout),
      })
      .prefault({}),
    sendQueue: z
      .strictObject({
        maxBytes: size(1024).default(D.sendQueue.maxBytes),
        onOverflow: oneOf(["close", "drop-oldest"] as const).default(D.sendQueue.onOverflow),
      })
      .prefault({}),
    shutdown: z.strictObject({ spread: duration().default(D.shutdown.spread) }).prefault({}),
    limits: z
      .strictObject({
        maxMessageBytes: size(256).default(D.limits.maxMessageBytes),
        maxSubscriptions: int(1).default(D.limits.maxSubscriptions),
        maxConnections: int(0).default(D.limits.maxConnections),
      })
      .prefault({}),
    presence: z.strictObject({ ttl: duration({ positive: true }).default(D.presence.ttl) }).prefault({}),
    admin: z
      .strictObject({
        listen: address("listen").default(() => ({ ...D.admin.listen })),
        token: str({ nonEmpty: true }).optional(),
      })
      .prefault({}),
  })
  .transform(
    (c): HubConfig => ({
      listen: c.listen,
      node: c.node,
      broker: c.broker as HubBrokerConfig,
      auth: { jwt: c.auth.jwt, anonymous: c.auth.anonymous },
      api: { token: c.api.token },
      allowedOrigins: c.allowedOrigins,
      channels: c.channels ?? D.channels.map((r) => ({ ...r, history: r.history && { ...r.history } })),
      ping: c.ping,
      sendQueue: c.sendQueue,
      shutdown: c.shutdown,
      limits: c.limits,
      presence: c.presence,
      admin: { listen: c.admin.listen, token: c.admin.token },
    }),
  );
