import type { AddressInfo } from "node:net";

/**
 * `http://host:port` for a bound address (a wildcard shows as loopback, IPv6 in brackets).
 *
 * @example
 * urlOf({ address: "0.0.0.0", port: 7000, family: "IPv4" }); // "http://127.0.0.1:7000"
 */
export function urlOf(a: AddressInfo): string {
  const host = a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "::1" : a.address;
  return `http://${host.includes(":") ? `[${host}]` : host}:${a.port}`;
}
