import { isIPv6, type BlockList } from "node:net";
import type { HttpListenerConfig } from "../../config/types.ts";
import { compileAllow } from "../routes.ts";

const compiled = new WeakMap<readonly string[], BlockList>();

/**
 * Whether a client address is one of the listener's `trustedProxies`, whose
 * X-Forwarded-For is appended to and whose X-Forwarded-Proto/-Host and Forwarded are
 * kept (codec/http1/write.ts). Asked once per client connection; the list is compiled
 * once per config (a reload brings a new one).
 *
 * @example
 * new ForwardInfo(ip, "http", isTrustedProxy(cfg, ip));
 */
export function isTrustedProxy(cfg: HttpListenerConfig, ip: string): boolean {
  const cidrs = cfg.trustedProxies;
  if (cidrs === undefined) return false;
  let list = compiled.get(cidrs);
  if (list === undefined) compiled.set(cidrs, (list = compileAllow(cidrs)));
  return list.check(ip, isIPv6(ip) ? "ipv6" : "ipv4");
}
