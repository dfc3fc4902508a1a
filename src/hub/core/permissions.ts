/**
 * Who may do what on a channel (DESIGN §6): the channel's rule and the connection's
 * identity decide together.
 *
 * - An identity comes from verified JWT claims (`sub` is the user, `channels` an
 *   optional list of globs, `exp` in seconds, `info` free-form) or is anonymous.
 * - Subscribe (and read history or presence): a rule must match; an anonymous
 *   connection needs `anonymous: true` on the rule; a token with `channels` needs one
 *   of its globs to match.
 * - Publish: as subscribe, plus `clientPublish: true` on the rule; anonymous
 *   connections never publish. (The server API publishes without these checks.)
 * - Presence: as subscribe, on a rule with `presence: true`.
 *
 * Every answer is either `{ ok: true, rule }` or `{ ok: false, code, message }` with a
 * protocol error code (`bad_request` for a bad name, `unknown_channel`, `forbidden`).
 *
 * @example
 * const who = identityFromClaims({ sub: "u1", channels: ["chat:*"] });
 * if (!who.ok) throw new Error(who.message);
 * const d = canPublish(rules, who.identity, "chat:1");
 * if (!d.ok) reply({ type: "error", code: d.code, message: d.message });
 */
import { HubErrorCode } from "../../protocol/hub.ts";
import { compileGlob, type Glob } from "./glob.ts";
import { checkChannelName, matchChannel, type CompiledRule } from "./rules.ts";

/** The claims the hub reads from a verified JWT. */
export interface HubClaims {
  sub: string;
  /** Globs limiting subscribe, publish and presence; absent: every channel the rules allow. */
  channels?: string[];
  /** Expiry, seconds since the epoch (JWT `exp`). */
  exp?: number;
  info?: unknown;
}

/** A connection's identity, with its `channels` globs compiled once. */
export interface Identity {
  readonly anonymous: boolean;
  /** The JWT `sub`; "" when anonymous. */
  readonly user: string;
  /** null: no `channels` claim (no limit beyond the rules). */
  readonly channels: readonly Glob[] | null;
  /** When the token expires, ms since the epoch; undefined when it does not. */
  readonly expiresAt: number | undefined;
  readonly info: unknown;
}

/** The identity of a connection without a token. */
export const ANONYMOUS: Identity = Object.freeze({ anonymous: true, user: "", channels: null, expiresAt: undefined, info: undefined });

export type Decision =
  | { ok: true; rule: CompiledRule }
  | { ok: false; code: typeof HubErrorCode.BAD_REQUEST | typeof HubErrorCode.UNKNOWN_CHANNEL | typeof HubErrorCode.FORBIDDEN; message: string };

/**
 * Checks a verified JWT payload's shape and builds the identity: `sub` a non-empty
 * string, `channels` an array of strings, `exp` a number.
 *
 * @example
 * identityFromClaims({ sub: "alice", exp: 1767225600 });
 * // { ok: true, identity: { anonymous: false, user: "alice", channels: null, expiresAt: 1767225600000, ... } }
 * identityFromClaims({ channels: "chat:*" }); // { ok: false, message: "token has no sub (a non-empty string)" }
 */
export function identityFromClaims(claims: unknown): { ok: true; identity: Identity } | { ok: false; message: string } {
  if (claims === null || typeof claims !== "object") return { ok: false, message: "token claims are not an object" };
  const c = claims as Record<string, unknown>;
  if (typeof c.sub !== "string" || c.sub.length === 0) return { ok: false, message: "token has no sub (a non-empty string)" };
  let channels: Glob[] | null = null;
  if (c.channels !== undefined) {
    if (!Array.isArray(c.channels) || !c.channels.every((g) => typeof g === "string")) {
      return { ok: false, message: "token claim channels must be a list of strings (channel globs)" };
    }
    channels = c.channels.map((g: string) => compileGlob(g));
  }
  if (c.exp !== undefined && (typeof c.exp !== "number" || !Number.isFinite(c.exp))) {
    return { ok: false, message: "token claim exp must be a number (seconds since the epoch)" };
  }
  const expiresAt = typeof c.exp === "number" ? c.exp * 1000 : undefined;
  return { ok: true, identity: { anonymous: false, user: c.sub, channels, expiresAt, info: c.info } };
}

/**
 * Whether the identity's token has expired at `nowMs`.
 *
 * @example
 * isExpired(identity, Date.now()); // false
 */
export function isExpired(identity: Identity, nowMs: number): boolean {
  return identity.expiresAt !== undefined && identity.expiresAt <= nowMs;
}

function read(rules: readonly CompiledRule[], who: Identity, channel: string, action: string): Decision {
  const bad = checkChannelName(channel);
  if (bad !== null) return { ok: false, code: HubErrorCode.BAD_REQUEST, message: bad };
  const rule = matchChannel(rules, channel);
  if (rule === undefined) return { ok: false, code: HubErrorCode.UNKNOWN_CHANNEL, message: `no channel rule matches ${JSON.stringify(channel)}` };
  if (who.anonymous) {
    if (!rule.anonymous) {
      return { ok: false, code: HubErrorCode.FORBIDDEN, message: `anonymous connections may not ${action} ${JSON.stringify(channel)} (rule ${JSON.stringify(rule.match)} is not anonymous)` };
    }
    return { ok: true, rule };
  }
  if (who.channels !== null && !who.channels.some((g) => g.test(channel))) {
    return { ok: false, code: HubErrorCode.FORBIDDEN, message: `the token's channels claim does not allow ${JSON.stringify(channel)}` };
  }
  return { ok: true, rule };
}

/**
 * May this connection subscribe to `channel` (and read its history)?
 *
 * @example
 * canSubscribe(rules, ANONYMOUS, "news"); // { ok: true, rule } where the rule is anonymous
 */
export function canSubscribe(rules: readonly CompiledRule[], who: Identity, channel: string): Decision {
  return read(rules, who, channel, "subscribe to");
}

/**
 * May this connection publish to `channel`?
 *
 * @example
 * canPublish(rules, ANONYMOUS, "news"); // { ok: false, code: "forbidden", ... }
 */
export function canPublish(rules: readonly CompiledRule[], who: Identity, channel: string): Decision {
  const d = read(rules, who, channel, "publish to");
  if (!d.ok) return d;
  if (who.anonymous) return { ok: false, code: HubErrorCode.FORBIDDEN, message: "anonymous connections may not publish" };
  if (!d.rule.clientPublish) {
    return { ok: false, code: HubErrorCode.FORBIDDEN, message: `clients may not publish to ${JSON.stringify(channel)} (rule ${JSON.stringify(d.rule.match)} has clientPublish: false)` };
  }
  return d;
}

/**
 * May this connection read `channel`'s presence (or appear in it when subscribing)?
 *
 * @example
 * canPresence(rules, identity, "chat:1"); // { ok: true, rule } on a rule with presence: true
 */
export function canPresence(rules: readonly CompiledRule[], who: Identity, channel: string): Decision {
  const d = read(rules, who, channel, "read the presence of");
  if (!d.ok) return d;
  if (!d.rule.presence) {
    return { ok: false, code: HubErrorCode.FORBIDDEN, message: `channel ${JSON.stringify(channel)} has no presence (rule ${JSON.stringify(d.rule.match)})` };
  }
  return d;
}
