import type { PathIssue } from "../../config/issues.ts";
import { formatAddress, isLoopbackHost, parseAddress } from "../../config/address.ts";
import { parseSize, formatSize } from "../../config/size.ts";
import { list, rec, text } from "../../config/unchecked.ts";
import { HUB_DEFAULTS } from "./defaults.ts";

const KEY_SOURCES = ["secret", "publicKey", "jwksUrl"] as const;

/**
 * The hub config's checks between fields, on the raw tree (so they report alongside the
 * schema's own errors): one JWT key source, some way for a client to connect, anonymous
 * mode with a channel that allows it, a readable public key, the send queue large enough
 * for one message, and distinct listen and admin addresses. Channel rules are checked
 * by `ruleIssues`.
 *
 * @example
 * hubCrossCheck({ auth: {} }, () => undefined);
 * // [{ path: ["auth"], message: "no client could connect: set auth.jwt ... or auth.anonymous: true" }]
 */
export function hubCrossCheck(raw: unknown, readable: (file: string) => string | undefined): PathIssue[] {
  const root = rec(raw);
  if (!root) return [];
  const out: PathIssue[] = [];
  const auth = rec(root.auth);
  const jwt = rec(auth?.jwt);
  if (jwt) {
    const given = KEY_SOURCES.filter((k) => jwt[k] !== undefined);
    if (given.length === 0) out.push({ path: ["auth", "jwt"], message: "needs one of secret, publicKey or jwksUrl" });
    for (const k of given.slice(1)) out.push({ path: ["auth", "jwt", k], message: `only one key source: ${given[0]} is already set` });
    const file = text(jwt.publicKey);
    const why = file === undefined || file === "" ? undefined : readable(file);
    if (why !== undefined) out.push({ path: ["auth", "jwt", "publicKey"], message: `cannot read ${file}: ${why}` });
  }
  const anonymous = auth?.anonymous === true;
  if (!jwt && !anonymous && (auth === undefined || auth.anonymous === undefined || auth.anonymous === false)) {
    out.push({
      path: ["auth"],
      message: "no client could connect: set auth.jwt (secret, publicKey or jwksUrl) or auth.anonymous: true",
    });
  }
  if (anonymous) {
    const rules = root.channels === undefined ? HUB_DEFAULTS.channels : list(root.channels);
    if (rules.length > 0 && !rules.some((r) => rec(r)?.anonymous === true)) {
      out.push({
        path: ["auth", "anonymous"],
        message: "no channel rule has anonymous: true, so anonymous connections could not subscribe to anything",
      });
    }
  }
  const queue = parseSize(rec(root.sendQueue)?.maxBytes ?? HUB_DEFAULTS.sendQueue.maxBytes);
  const message = parseSize(rec(root.limits)?.maxMessageBytes ?? HUB_DEFAULTS.limits.maxMessageBytes);
  if (queue.ok && message.ok && queue.value < message.value) {
    out.push({
      path: ["sendQueue", "maxBytes"],
      message: `must be at least limits.maxMessageBytes (${formatSize(message.value)}): one message would overflow it`,
    });
  }
  // The overview names every channel: off this machine only with a token.
  const adminRaw = rec(root.admin);
  const adminAt = parseAddress(adminRaw?.listen ?? formatAddress(HUB_DEFAULTS.admin.listen), "listen");
  if (adminAt.ok && !isLoopbackHost(adminAt.value.host) && adminRaw?.token === undefined) {
    out.push({
      path: ["admin", "listen"],
      message: `${formatAddress(adminAt.value)} is reachable from other machines: set admin.token (e.g. token: \${HUB_ADMIN_TOKEN}) or listen on 127.0.0.1`,
    });
  }
  const listen = parseAddress(root.listen ?? formatAddress(HUB_DEFAULTS.listen), "listen");
  const admin = parseAddress(rec(root.admin)?.listen ?? formatAddress(HUB_DEFAULTS.admin.listen), "listen");
  if (listen.ok && admin.ok && listen.value.port !== 0 && listen.value.port === admin.value.port) {
    const wild = (h: string) => h === "0.0.0.0" || h === "::";
    if (listen.value.host === admin.value.host || wild(listen.value.host) || wild(admin.value.host)) {
      out.push({ path: ["admin", "listen"], message: `${formatAddress(admin.value)} is also the hub's listen address` });
    }
  }
  return out;
}
