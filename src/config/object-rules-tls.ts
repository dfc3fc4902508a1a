import type { PathIssue } from "./issues.ts";
import { has, list, rec, text } from "./unchecked.ts";

// Rules of the TLS, protocol and SNI keys, on the raw tree (see object-rules.ts). Paths are
// relative to the listener.

/**
 * Rules of an http listener's `tls` and `protocols`: every certificate has its key, there
 * is at least one, `h2` needs TLS (ALPN) and `h2c` is for clear text.
 *
 * @example
 * httpListenerTlsRules({ tls: { cert: "c.pem" } }); // [{ path: ["tls", "key"], message: "required with cert" }]
 * httpListenerTlsRules({ protocols: ["h2"] });      // h2 needs tls
 */
export function httpListenerTlsRules(listener: Readonly<Record<string, unknown>>): PathIssue[] {
  const out: PathIssue[] = [];
  const tls = rec(listener.tls);
  if (tls) {
    if (has(tls, "cert") && !has(tls, "key")) out.push({ path: ["tls", "key"], message: "required with cert" });
    if (has(tls, "key") && !has(tls, "cert")) out.push({ path: ["tls", "cert"], message: "required with key" });
    if (!has(tls, "cert") && !has(tls, "key") && !has(tls, "certs")) {
      out.push({ path: ["tls"], message: "needs a certificate: cert and key, or certs: [{ cert, key }, ...]" });
    }
  }
  const seen = new Map<string, number>();
  list(listener.protocols).forEach((p, i) => {
    const name = text(p);
    if (name === undefined) return;
    const first = seen.get(name);
    if (first !== undefined) out.push({ path: ["protocols", i], message: `${name} is already in protocols[${first}]` });
    else seen.set(name, i);
    if (name === "h2" && !tls) out.push({ path: ["protocols", i], message: "h2 is offered by ALPN and needs tls (use h2c for HTTP/2 in clear text)" });
    if (name === "h2c" && tls) out.push({ path: ["protocols", i], message: "h2c is HTTP/2 in clear text; a tls listener offers h2 (use h2)" });
  });
  return out;
}

/**
 * Rules of a tcp listener's `backend` and `routes`: one or the other, no route after the
 * default one, each server name once.
 *
 * @example
 * tcpListenerRules({ routes: [{ backend: "a" }, { match: { sni: "x.example" }, backend: "b" }] });
 * // [{ path: ["routes", 1], message: "unreachable: routes[0] has no match and takes every connection" }]
 */
export function tcpListenerRules(listener: Readonly<Record<string, unknown>>): PathIssue[] {
  const hasBackend = has(listener, "backend");
  const hasRoutes = has(listener, "routes");
  if (hasBackend && hasRoutes) return [{ path: ["routes"], message: "set either backend or routes, not both" }];
  if (!hasBackend && !hasRoutes) return [{ path: [], message: "needs a backend (or routes by TLS server name)" }];
  const out: PathIssue[] = [];
  let fallback: number | undefined;
  const seen = new Map<string, number>();
  list(listener.routes).forEach((value, i) => {
    const route = rec(value);
    if (!route) return;
    if (fallback !== undefined) out.push({ path: ["routes", i], message: `unreachable: routes[${fallback}] has no match and takes every connection` });
    else if (!has(route, "match")) fallback = i;
    const sni = text(rec(route.match)?.sni)?.toLowerCase().replace(/\.$/, "");
    if (sni === undefined) return;
    const first = seen.get(sni);
    if (first !== undefined) out.push({ path: ["routes", i, "match", "sni"], message: `${sni} is already matched by routes[${first}]` });
    else seen.set(sni, i);
  });
  return out;
}
