import { describe, fail, ok, type Parsed } from "./parse-result.ts";

// No node:net here: the config core stays pure, and net.isIP accepts zone ids
// (fe80::1%eth0) that mean nothing in a config shared by several machines.

/**
 * Parses a strict dotted-quad IPv4 address to its 4 bytes. Leading zeros are refused
 * (`010.0.0.1` is octal to some tools and decimal to others).
 *
 * @example
 * parseIPv4("10.0.0.1"); // [10, 0, 0, 1]
 * parseIPv4("10.0.1");   // undefined
 */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    bytes.push(Number(p));
  }
  return bytes;
}

/**
 * Parses an IPv6 address (no brackets, no zone id; an embedded IPv4 tail is allowed)
 * to its 16 bytes.
 *
 * @example
 * parseIPv6("::1");              // [0, 0, ..., 0, 1]
 * parseIPv6("::ffff:10.0.0.1");  // [0, ..., 0xff, 0xff, 10, 0, 0, 1]
 * parseIPv6("1:2");              // undefined
 */
export function parseIPv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined; // IPv4 only as the tail
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...Array<number>(missing).fill(0), ...tail];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/**
 * Formats 4 or 16 bytes as an address; IPv6 in the RFC 5952 canonical form (lower case,
 * the longest run of zero groups compressed).
 *
 * @example
 * formatIP([10, 0, 0, 1]);  // "10.0.0.1"
 * formatIP(parseIPv6("2001:DB8:0:0:0:0:0:1")!); // "2001:db8::1"
 */
export function formatIP(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join(".");
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLength))}`;
}

/**
 * Parses a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or a single address (taken as
 * `/32` or `/128`) to its canonical text. A block with host bits set is refused with the
 * block that was probably meant: `192.168.1.5/24` is a typo more often than a wish.
 *
 * @example
 * parseCidr("10.0.0.0/8");      // { ok: true, value: "10.0.0.0/8" }
 * parseCidr("10.1.2.3");        // { ok: true, value: "10.1.2.3/32" }
 * parseCidr("2001:DB8::/32");   // { ok: true, value: "2001:db8::/32" }
 * parseCidr("192.168.1.5/24");  // { ok: false, message: '... (host bits set: did you mean 192.168.1.0/24?)' }
 */
export function parseCidr(input: unknown): Parsed<string> {
  const bad = (why = "") => fail<string>(`expected a CIDR block like "10.0.0.0/8" or "2001:db8::/32", got ${describe(input)}${why}`);
  if (typeof input !== "string") return bad();
  const slash = input.indexOf("/");
  const ipText = slash < 0 ? input : input.slice(0, slash);
  const bytes = ipText.includes(":") ? parseIPv6(ipText) : parseIPv4(ipText);
  if (!bytes) return bad();
  const bits = bytes.length * 8;
  const lengthText = slash < 0 ? String(bits) : input.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(lengthText) || Number(lengthText) > bits) return bad(` (prefix length 0 to ${bits})`);
  const prefix = Number(lengthText);
  const network = bytes.map((b, i) => {
    const keep = Math.min(8, Math.max(0, prefix - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  if (network.some((b, i) => b !== bytes[i])) {
    return bad(` (host bits set: did you mean ${formatIP(network)}/${prefix}?)`);
  }
  return ok(`${formatIP(bytes)}/${prefix}`);
}
