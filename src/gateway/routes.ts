import { BlockList, isIPv6 } from "node:net";
import type { RouteConfig } from "../config/types.ts";
import type { Backend } from "./backend.ts";
import { findHeader, headerValue, type Head } from "../codec/http1/head.ts";

/**
 * Chooses a backend for a request from the listener's routes, in order (first match
 * wins). A listener with only a default route and no `allow`/`split` answers without
 * looking at the request at all, which is the common case on the hot path.
 *
 * @example
 * const r = router.route(buf, head, "10.0.0.7"); // a Backend, FORBIDDEN or NO_ROUTE
 */
export const FORBIDDEN = 1;
export const NO_ROUTE = 2;

interface CompiledRoute {
  readonly cfg: RouteConfig;
  readonly allow: BlockList | undefined;
  readonly split: { readonly backend: Backend; readonly cumulative: number }[] | undefined;
  readonly splitTotal: number;
  readonly backend: Backend;
}

export class Router {
  readonly #routes: CompiledRoute[];
  readonly #onlyBackend: Backend | undefined;
  readonly #random: () => number;

  constructor(routes: readonly RouteConfig[], backends: ReadonlyMap<string, Backend>, random: () => number = Math.random) {
    this.#random = random;
    this.#routes = routes.map((cfg) => {
      const backend = backends.get(cfg.backend);
      if (backend === undefined) throw new Error(`route refers to unknown backend ${cfg.backend}`);
      let cum = 0;
      const split = cfg.split?.map((s) => {
        const b = backends.get(s.backend);
        if (b === undefined) throw new Error(`split refers to unknown backend ${s.backend}`);
        cum += s.weight;
        return { backend: b, cumulative: cum };
      });
      return { cfg, allow: cfg.allow ? compileAllow(cfg.allow) : undefined, split, splitTotal: cum, backend };
    });
    const first = this.#routes[0];
    this.#onlyBackend = this.#routes.length === 1 && first !== undefined && first.cfg.match === undefined && first.allow === undefined && first.split === undefined
      ? first.backend
      : undefined;
  }

  route(buf: Buffer, h: Head, clientIp: string): Backend | typeof FORBIDDEN | typeof NO_ROUTE {
    if (this.#onlyBackend !== undefined) return this.#onlyBackend;
    for (const r of this.#routes) {
      const m = r.cfg.match;
      if (m !== undefined) {
        if (m.pathPrefix !== undefined && !targetStartsWith(buf, h, m.pathPrefix)) continue;
        if (m.host !== undefined && requestHost(buf, h) !== m.host) continue;
        if (m.header !== undefined && !headersMatch(buf, h, m.header)) continue;
      }
      if (r.allow !== undefined && !r.allow.check(clientIp, isIPv6(clientIp) ? "ipv6" : "ipv4")) return FORBIDDEN;
      if (r.split !== undefined) {
        const x = this.#random() * r.splitTotal;
        for (const s of r.split) if (x < s.cumulative) return s.backend;
      }
      return r.backend;
    }
    return NO_ROUTE;
  }
}

/**
 * A BlockList of CIDR blocks as the config gives them (`10.0.0.0/8`, `::1`).
 *
 * @example
 * compileAllow(["10.0.0.0/8"]).check("10.1.2.3", "ipv4"); // true
 */
export function compileAllow(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split("/") as [string, string | undefined];
    const v6 = isIPv6(addr);
    if (bits === undefined) list.addAddress(addr, v6 ? "ipv6" : "ipv4");
    else list.addSubnet(addr, Number(bits), v6 ? "ipv6" : "ipv4");
  }
  return list;
}

// The path of the target (of an absolute-form one too: what the server will be sent).
function targetStartsWith(buf: Buffer, h: Head, prefix: string): boolean {
  const s = h.pathStart;
  if (h.targetEnd - s < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[s + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Host header value (or an absolute-form target's authority), lower-cased, without the port. */
export function requestHost(buf: Buffer, h: Head): string {
  if (h.host < 0 && h.authStart < 0) return "";
  const v = (h.host >= 0 ? headerValue(buf, h, h.host) : buf.toString("latin1", h.authStart, h.authEnd)).toLowerCase();
  if (v.startsWith("[")) {
    const e = v.indexOf("]");
    return e > 0 ? v.slice(0, e + 1) : v;
  }
  const c = v.lastIndexOf(":");
  return c >= 0 ? v.slice(0, c) : v;
}

function headersMatch(buf: Buffer, h: Head, want: Readonly<Record<string, string>>): boolean {
  for (const name in want) {
    const n = findHeader(buf, h, name);
    if (n < 0 || headerValue(buf, h, n) !== want[name]) return false;
  }
  return true;
}
