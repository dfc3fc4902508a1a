import { isLoopbackHost } from "../config/address.ts";
import { HttpError } from "./kit/http.ts";

/**
 * Browser-borne attacks on the admin server, refused before any route runs:
 *
 * - **DNS rebinding.** A page on `evil.example` that re-points its name at 127.0.0.1 can
 *   read a loopback admin as same-origin (reads need no token). While the admin listens
 *   on loopback it answers only requests whose `Host` is an IP literal or a
 *   `localhost` name, as Docker's and Jupyter's local APIs do; `/healthz` stays open.
 * - **Cross-site mutations.** Mutations already need `Authorization: Bearer`, which a
 *   form or a no-cors request cannot carry and a CORS preflight (never answered) cannot
 *   get past. On top of that a mutation whose `Sec-Fetch-Site` is not `same-origin` or
 *   `none`, or whose `Origin` is not this server's, gets 403, so a token cached by any
 *   future mechanism still could not be ridden from another site.
 *
 * Clients that are not browsers (curl, `holdfast reload`, Prometheus) send neither
 * header and are unaffected.
 *
 * @example
 * const refusal = guardAdmin({ method: "POST", path: "/api/reload", host: "127.0.0.1:9900", origin: "https://evil.example" }, true);
 * refusal?.status; // 403
 */
export interface AdminRequestFacts {
  readonly method: string;
  readonly path: string;
  /** The `Host` header, as sent. */
  readonly host: string | undefined;
  readonly origin?: string | undefined;
  readonly secFetchSite?: string | undefined;
}

/**
 * Why this request is refused (an HttpError to answer), or undefined to let it through.
 * `loopbackListen`: the admin binds a loopback address only.
 *
 * @example
 * guardAdmin({ method: "GET", path: "/api/backends", host: "evil.example:9900" }, true)?.status; // 403
 */
export function guardAdmin(req: AdminRequestFacts, loopbackListen: boolean): HttpError | undefined {
  if (loopbackListen && req.path !== "/healthz" && !localHost(req.host)) {
    return new HttpError(403, `this admin server listens on loopback and answers only Host: localhost or an IP address, not ${JSON.stringify(req.host ?? "")} (DNS rebinding protection)`);
  }
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const site = req.secFetchSite;
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return new HttpError(403, `cross-site request refused: admin changes come from the dashboard's own page or a non-browser client (Sec-Fetch-Site: ${site})`);
  }
  if (req.origin !== undefined && req.origin !== `http://${req.host ?? ""}`) {
    return new HttpError(403, `cross-site request refused: Origin ${req.origin} is not this admin server`);
  }
  return undefined;
}

/** `Host` names an IP literal or a localhost name (port optional). */
function localHost(host: string | undefined): boolean {
  if (host === undefined || host === "") return false;
  let name = host;
  if (name.startsWith("[")) {
    const end = name.indexOf("]");
    if (end < 0) return false;
    name = name.slice(1, end);
    return name.includes(":"); // an IPv6 literal
  }
  const colon = name.lastIndexOf(":");
  if (colon >= 0) name = name.slice(0, colon);
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || isLoopbackHost(name);
}
