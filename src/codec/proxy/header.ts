import { formatIPv4, formatIPv6, writeIPv4, writeIPv6 } from "./ip.ts";

/**
 * The PROXY protocol (HAProxy's spec, versions 1 and 2): the header an L4 balancer puts
 * in front of a connection's bytes to say who the client is. Fed bytes, with no socket:
 * the parser answers "need more", an error, or the header's length, and fills a
 * reusable {@link ProxyHeader}. Strict: what the spec does not allow is refused.
 *
 * @example
 * const h = new ProxyHeader();
 * const n = parseProxyHeader(Buffer.from("PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\nGET /"), 48, h);
 * // n === 42, h.source === "203.0.113.7", h.sourcePort === 51234; the request starts at 42
 */

/** More bytes are needed before the header can be read (or refused). */
export const PROXY_NEED_MORE = -1;

/** Why a header was refused (negative, so a result is `length > 0`, need-more or one of these). */
export const ProxyError = {
  NOT_PROXY: -2,
  BAD_V1: -3,
  TOO_LONG: -4,
  BAD_VERSION: -5,
  BAD_COMMAND: -6,
  BAD_FAMILY: -7,
  BAD_LENGTH: -8,
  BAD_ADDRESS: -9,
  BAD_TLV: -10,
} as const;

/** One line per {@link ProxyError}, for logs. */
export const proxyErrorText: Readonly<Record<number, string>> = {
  [ProxyError.NOT_PROXY]: "the connection did not start with a PROXY protocol header",
  [ProxyError.BAD_V1]: "malformed PROXY v1 header",
  [ProxyError.TOO_LONG]: "PROXY header too long",
  [ProxyError.BAD_VERSION]: "unsupported PROXY v2 version",
  [ProxyError.BAD_COMMAND]: "unknown PROXY v2 command",
  [ProxyError.BAD_FAMILY]: "unsupported PROXY v2 address family (only TCP over IPv4/IPv6, UNIX or UNSPEC)",
  [ProxyError.BAD_LENGTH]: "PROXY v2 length too short for its address family",
  [ProxyError.BAD_ADDRESS]: "invalid address or port in PROXY header",
  [ProxyError.BAD_TLV]: "malformed PROXY v2 TLV",
};

/** The v2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
export const PROXY_V2_SIGNATURE: Readonly<Uint8Array> = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
const V1_PREFIX = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20); // "PROXY "
/** Longest v1 line, CRLF included (spec §2.1). */
export const PROXY_V1_MAX = 107;
/** Longest v2 header accepted (16-byte fixed part included); ample for the usual TLVs. */
export const PROXY_V2_MAX = 4096;
const PP2_TYPE_AUTHORITY = 0x02;

/** What a header said. Reused: each parse overwrites every field. */
export class ProxyHeader {
  version: 0 | 1 | 2 = 0;
  /**
   * True when the header names the real client (v1 TCP4/TCP6, v2 PROXY over TCP/IP).
   * False for v1 `UNKNOWN`, v2 `LOCAL` (the balancer's own health check) and v2 UNIX or
   * UNSPEC: the connection's own addresses apply.
   */
  hasAddress = false;
  family: 0 | 4 | 6 = 0;
  source = "";
  sourcePort = 0;
  destination = "";
  destinationPort = 0;
  /** v2 `PP2_TYPE_AUTHORITY` (the host name the client asked the balancer for), if sent. */
  authority: string | undefined = undefined;

  reset(): void {
    this.version = 0;
    this.hasAddress = false;
    this.family = 0;
    this.source = "";
    this.sourcePort = 0;
    this.destination = "";
    this.destinationPort = 0;
    this.authority = undefined;
  }
}

/**
 * Reads a PROXY header (v1 or v2) at the start of `buf[0, end)`. Returns its length,
 * {@link PROXY_NEED_MORE}, or a {@link ProxyError} code. Bytes that cannot start a
 * header are refused as soon as they arrive (`NOT_PROXY`), so a client that speaks
 * first without one is told at once instead of waiting for a timeout.
 */
export function parseProxyHeader(buf: Uint8Array, end: number, out: ProxyHeader): number {
  out.reset();
  // parseV2 refuses any other first byte; both need more while `end` is 0.
  return buf[0] === 0x50 ? parseV1(buf, end, out) : parseV2(buf, end, out);
}

function parseV1(buf: Uint8Array, end: number, out: ProxyHeader): number {
  const n = Math.min(end, PROXY_V1_MAX);
  for (let i = 0; i < V1_PREFIX.length; i++) {
    if (i >= n) return PROXY_NEED_MORE;
    if (buf[i] !== V1_PREFIX[i]) return ProxyError.NOT_PROXY;
  }
  let lf = -1;
  for (let i = V1_PREFIX.length; i < n; i++) {
    if (buf[i] === 0x0a) {
      lf = i;
      break;
    }
  }
  if (lf === -1) return end >= PROXY_V1_MAX ? ProxyError.TOO_LONG : PROXY_NEED_MORE;
  if (buf[lf - 1] !== 0x0d) return ProxyError.BAD_V1;
  const lineEnd = lf - 1;
  for (let i = 0; i < lineEnd; i++) if (buf[i]! < 0x20 || buf[i]! > 0x7e) return ProxyError.BAD_V1;
  const line = latin1(buf, V1_PREFIX.length, lineEnd);
  out.version = 1;
  if (line === "UNKNOWN" || line.startsWith("UNKNOWN ")) return lf + 1; // the rest is ignored (spec §2.1)
  const f = line.split(" ");
  if (f.length !== 5 || (f[0] !== "TCP4" && f[0] !== "TCP6")) return ProxyError.BAD_V1;
  const v6 = f[0] === "TCP6";
  const scratch = new Uint8Array(16);
  for (const a of [f[1]!, f[2]!]) {
    if (!(v6 ? writeIPv6(scratch, 0, a) : writeIPv4(scratch, 0, a))) return ProxyError.BAD_ADDRESS;
  }
  const sp = port(f[3]!);
  const dp = port(f[4]!);
  if (sp < 0 || dp < 0) return ProxyError.BAD_ADDRESS;
  out.hasAddress = true;
  out.family = v6 ? 6 : 4;
  // Canonical text, as Node gives remoteAddress: the same client reads the same everywhere.
  out.source = v6 ? canonicalIPv6(f[1]!, scratch) : f[1]!;
  out.destination = v6 ? canonicalIPv6(f[2]!, scratch) : f[2]!;
  out.sourcePort = sp;
  out.destinationPort = dp;
  return lf + 1;
}

function canonicalIPv6(text: string, scratch: Uint8Array): string {
  writeIPv6(scratch, 0, text);
  return formatIPv6(scratch, 0);
}

/** A decimal port 0–65535 without leading zeros, or -1. */
function port(s: string): number {
  // No length bound needed: six digits without a leading zero are past 65535.
  if (s.length === 0 || (s.length > 1 && s.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 65535 ? v : -1;
}

function parseV2(buf: Uint8Array, end: number, out: ProxyHeader): number {
  for (let i = 0; i < PROXY_V2_SIGNATURE.length; i++) {
    if (i >= end) return PROXY_NEED_MORE;
    if (buf[i] !== PROXY_V2_SIGNATURE[i]) return ProxyError.NOT_PROXY;
  }
  if (end < 16) return PROXY_NEED_MORE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return ProxyError.BAD_VERSION;
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return ProxyError.BAD_COMMAND;
  const fam = buf[13]!;
  const len = (buf[14]! << 8) | buf[15]!;
  const total = 16 + len;
  if (total > PROXY_V2_MAX) return ProxyError.TOO_LONG;
  const addrLen = fam === 0x11 ? 12 : fam === 0x21 ? 36 : fam === 0x31 ? 216 : fam === 0x00 ? 0 : -1;
  // A LOCAL header may name any family: its addresses are not used.
  if (addrLen < 0 && cmd === 1) return ProxyError.BAD_FAMILY;
  if (addrLen > len) return ProxyError.BAD_LENGTH;
  if (end < total) return PROXY_NEED_MORE;
  out.version = 2;
  let tlv = 16 + Math.max(0, addrLen);
  if (cmd === 1 && (fam === 0x11 || fam === 0x21)) {
    out.hasAddress = true;
    if (fam === 0x11) {
      out.family = 4;
      out.source = formatIPv4(buf, 16);
      out.destination = formatIPv4(buf, 20);
      out.sourcePort = (buf[24]! << 8) | buf[25]!;
      out.destinationPort = (buf[26]! << 8) | buf[27]!;
    } else {
      out.family = 6;
      out.source = formatIPv6(buf, 16);
      out.destination = formatIPv6(buf, 32);
      out.sourcePort = (buf[48]! << 8) | buf[49]!;
      out.destinationPort = (buf[50]! << 8) | buf[51]!;
    }
  }
  if (addrLen < 0) tlv = total; // LOCAL with an unknown family: skip the block unread
  while (tlv < total) {
    if (tlv + 3 > total) return ProxyError.BAD_TLV;
    const type = buf[tlv]!;
    const vlen = (buf[tlv + 1]! << 8) | buf[tlv + 2]!;
    const vs = tlv + 3;
    if (vs + vlen > total) return ProxyError.BAD_TLV;
    if (type === PP2_TYPE_AUTHORITY && cmd === 1) out.authority = latin1(buf, vs, vs + vlen);
    tlv = vs + vlen;
  }
  return total;
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]!);
  return s;
}
