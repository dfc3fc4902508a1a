import type { Address } from "./types.ts";
import { formatIP, parseIPv4, parseIPv6 } from "./ip.ts";
import { describe, fail, ok, type Parsed } from "./parse-result.ts";

/**
 * What an address is for: a listener binds it, a server is dialed.
 *
 * @example
 * parseAddress(":8080", "listen"); // ok; as a "server" it would lack a host
 */
export type AddressRole = "listen" | "server";

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses `host:port`. IPv6 goes in brackets (`[::1]:8080`) and comes out in its canonical
 * RFC 5952 form; host names are lower-cased and may hold `_` (Compose service names do).
 *
 * - `listen`: port 0–65535 (0 = any free port, for tests); an empty host (`:8080`)
 *   means `0.0.0.0`, every IPv4 interface, as in HAProxy's `bind :8080`. Write `[::]:8080`
 *   for every IPv6 (and, on dual-stack hosts, IPv4) interface.
 * - `server`: host required, port 1–65535, and not a wildcard (`0.0.0.0`, `::`).
 *
 * @example
 * parseAddress("10.0.1.10:8080", "server"); // { ok: true, value: { host: "10.0.1.10", port: 8080 } }
 * parseAddress("[::1]:8080", "server");     // { ok: true, value: { host: "::1", port: 8080 } }
 * parseAddress(":8080", "listen");          // { ok: true, value: { host: "0.0.0.0", port: 8080 } }
 * parseAddress("localhost", "server");      // { ok: false, message: 'expected an address like ... (missing :port)' }
 */
export function parseAddress(input: unknown, role: AddressRole): Parsed<Address> {
  const example = role === "listen" ? "0.0.0.0:8080" : "10.0.0.1:8080";
  const bad = (why: string) => fail<Address>(`expected an address like "${example}", got ${describe(input)}${why && ` (${why})`}`);
  if (typeof input === "number" && role === "listen") return bad(`write ":${input}" or "0.0.0.0:${input}"`);
  if (typeof input !== "string") return bad("");
  let host: string;
  let portText: string;
  if (input.startsWith("[")) {
    const close = input.indexOf("]");
    if (close < 0) return bad("missing ]");
    const bytes = parseIPv6(input.slice(1, close));
    if (!bytes) return bad(`${JSON.stringify(input.slice(1, close))} is not an IPv6 address`);
    host = formatIP(bytes); // canonical, so that equal addresses compare equal
    if (input[close + 1] !== ":") return bad("missing :port");
    portText = input.slice(close + 2);
  } else {
    const colon = input.lastIndexOf(":");
    if (colon < 0) return bad("missing :port");
    host = input.slice(0, colon).toLowerCase();
    portText = input.slice(colon + 1);
    if (host.includes(":")) return bad(`IPv6 goes in brackets, like "[::1]:8080"`);
    if (host === "") {
      if (role === "server") return bad("missing host");
      host = "0.0.0.0";
    } else if (!isHostName(host)) {
      return bad(`${JSON.stringify(host)} is not ${/^[\d.]+$/.test(host) ? "an IPv4 address" : "a host name"}`);
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return bad("port 0 to 65535");
  const port = Number(portText);
  if (role === "server") {
    if (port === 0) return bad("port 0 is only for listeners");
    if (host === "0.0.0.0" || host === "::") return bad(`${host} is a listen-only wildcard`);
  }
  return ok({ host, port });
}

/**
 * True for a lower-case DNS host name (labels of letters, digits, `-`, `_`) or a strict
 * IPv4 address. All-digit names must be valid IPv4: `10.0.1` is a typo, not a host.
 *
 * @example
 * isHostName("api.internal"); // true
 * isHostName("10.0.1");       // false
 */
export function isHostName(host: string): boolean {
  if (/^[\d.]+$/.test(host)) return parseIPv4(host) !== undefined;
  return host.length <= 253 && host.split(".").every((l) => LABEL.test(l));
}

/**
 * The `host:port` text of an address, with brackets around IPv6.
 *
 * @example
 * formatAddress({ host: "::1", port: 8080 });    // "[::1]:8080"
 * formatAddress({ host: "0.0.0.0", port: 80 });  // "0.0.0.0:80"
 */
export function formatAddress(a: Address): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * True for a host only this machine can reach: `localhost` (and its subdomains, RFC
 * 6761 §6.3), 127.0.0.0/8, `::1` and IPv4-mapped 127.x. Host as `parseAddress` gives it
 * (IPv6 without brackets).
 *
 * @example
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("0.0.0.0");   // false: every interface
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const v4 = parseIPv4(h);
  if (v4 !== undefined) return v4[0] === 127;
  const v6 = parseIPv6(h);
  if (v6 === undefined) return false;
  if (v6.slice(0, 15).every((b) => b === 0) && v6[15] === 1) return true;
  return v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff && v6[12] === 127;
}
