import { PROXY_V2_SIGNATURE } from "./header.ts";
import { writeIPv4, writeIPv6 } from "./ip.ts";

/**
 * Builds the PROXY header the gateway sends first on a connection to a server
 * (`backends.*.proxyProtocol: v1 | v2`), from the client's and the gateway's addresses
 * as Node's sockets give them. IPv4 addresses in IPv6 form (`::ffff:10.0.0.1`, what a
 * dual-stack listener reports) are sent as IPv4; a mix of IPv4 and IPv6 is sent as
 * IPv6 (v1 needs one family). Addresses that are not IP (a UNIX socket, unknown) give
 * `PROXY UNKNOWN` (v1) or a `LOCAL` header (v2): the server then uses the connection's
 * own addresses.
 *
 * @example
 * encodeProxyV1("203.0.113.7", 51234, "10.0.0.1", 443).toString(); // "PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n"
 * encodeProxyV2("2001:db8::7", 51234, "2001:db8::1", 443).length;  // 52
 */
export function encodeProxyV1(source: string, sourcePort: number, destination: string, destinationPort: number): Buffer {
  const a = family(source, destination);
  if (a === null || !validPort(sourcePort) || !validPort(destinationPort)) return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  const proto = a.v6 ? "TCP6" : "TCP4";
  return Buffer.from(`PROXY ${proto} ${a.source} ${a.destination} ${sourcePort} ${destinationPort}\r\n`, "latin1");
}

/** See {@link encodeProxyV1}; `authority` adds a `PP2_TYPE_AUTHORITY` TLV (the TLS server name). */
export function encodeProxyV2(source: string, sourcePort: number, destination: string, destinationPort: number, authority?: string): Buffer {
  const a = family(source, destination);
  const known = a !== null && validPort(sourcePort) && validPort(destinationPort);
  const addrLen = !known ? 0 : a.v6 ? 36 : 12;
  const auth = known && authority !== undefined && authority.length > 0 ? Buffer.from(authority, "latin1") : null;
  const tlvLen = auth === null ? 0 : 3 + auth.length;
  const out = Buffer.alloc(16 + addrLen + tlvLen);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = known ? 0x21 : 0x20; // version 2, PROXY or LOCAL
  out[13] = !known ? 0x00 : a.v6 ? 0x21 : 0x11;
  out.writeUInt16BE(addrLen + tlvLen, 14);
  if (known) {
    const half = a.v6 ? 16 : 4;
    if (a.v6) {
      writeIPv6(out, 16, a.source);
      writeIPv6(out, 32, a.destination);
    } else {
      writeIPv4(out, 16, a.source);
      writeIPv4(out, 20, a.destination);
    }
    out.writeUInt16BE(sourcePort, 16 + 2 * half);
    out.writeUInt16BE(destinationPort, 18 + 2 * half);
  }
  if (auth !== null) {
    const at = 16 + addrLen;
    out[at] = 0x02;
    out.writeUInt16BE(auth.length, at + 1);
    auth.copy(out, at + 3);
  }
  return out;
}

const SCRATCH = new Uint8Array(16);

function family(source: string, destination: string): { v6: boolean; source: string; destination: string } | null {
  const s = unmap(source);
  const d = unmap(destination);
  const s4 = writeIPv4(SCRATCH, 0, s);
  const d4 = writeIPv4(SCRATCH, 0, d);
  if (s4 && d4) return { v6: false, source: s, destination: d };
  const s6 = s4 || writeIPv6(SCRATCH, 0, s);
  const d6 = d4 || writeIPv6(SCRATCH, 0, d);
  if (!s6 || !d6) return null;
  return { v6: true, source: s4 ? `::ffff:${s}` : s, destination: d4 ? `::ffff:${d}` : d };
}

function unmap(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".", 7) ? ip.slice(7) : ip;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}
