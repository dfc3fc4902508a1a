/**
 * IP addresses between their text and their bytes, written into and read from a buffer
 * in place (the PROXY protocol carries both forms). Text is what Node's sockets give:
 * dotted quads, IPv6 in the RFC 5952 form; a zone id (`fe80::1%eth0`) is not accepted.
 *
 * @example
 * const b = Buffer.alloc(16);
 * writeIPv6(b, 0, "2001:db8::1");  // true
 * formatIPv6(b, 0);                // "2001:db8::1"
 */

/** Writes a strict dotted quad at `at` (4 bytes); false when `text` is not one. */
export function writeIPv4(out: Uint8Array, at: number, text: string): boolean {
  return ipv4Into(out, at, text, 0, text.length);
}

function ipv4Into(out: Uint8Array, at: number, text: string, from: number, to: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // A leading zero is refused: 010 is octal to some tools and decimal to others.
      if (digits > 0 && value === 0) return false;
      value = value * 10 + c - 0x30;
      if (value > 255) return false;
      digits++;
    } else return false;
  }
  return part === 4;
}

/** Writes an IPv6 address (an IPv4 tail allowed) at `at` (16 bytes); false when invalid. */
export function writeIPv6(out: Uint8Array, at: number, text: string): boolean {
  const n = text.length;
  let gap = -1; // word index where "::" stands
  let w = 0;
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
    if (i === n) return fillGap(out, at, 0, 0);
  }
  for (;;) {
    const start = i;
    let value = 0;
    // A run of more than 4 digits is refused below; charCodeAt past the end is NaN,
    // which is no hex digit, '.' nor ':'.
    while (i < n) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      i++;
    }
    if (text.charCodeAt(i) === 0x2e) {
      // An IPv4 tail: the last 32 bits.
      if (w > 6 || !ipv4Into(out, at + w * 2, text, start, n)) return false;
      w += 2;
      break;
    }
    if (i === start || i - start > 4 || w === 8) return false;
    out[at + w * 2] = value >> 8;
    out[at + w * 2 + 1] = value & 0xff;
    w++;
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = w;
      i++;
      if (i === n) break;
    }
  }
  if (gap < 0) return w === 8;
  return w < 8 && fillGap(out, at, gap, w);
}

// Moves the words after "::" to the end and zeroes the gap.
function fillGap(out: Uint8Array, at: number, gap: number, words: number): boolean {
  const tail = words - gap;
  out.copyWithin(at + (8 - tail) * 2, at + gap * 2, at + words * 2);
  out.fill(0, at + gap * 2, at + (8 - tail) * 2);
  return true;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** The dotted quad of the 4 bytes at `at`. */
export function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * The RFC 5952 text of the 16 bytes at `at`: lower case, the longest run of two or more
 * zero words compressed, and an IPv4-mapped address as `::ffff:a.b.c.d` (as Node gives
 * `remoteAddress`).
 */
export function formatIPv6(b: Uint8Array, at: number): string {
  let mapped = true;
  for (let k = 0; k < 10; k++) if (b[at + k] !== 0) mapped = false;
  if (mapped && b[at + 10] === 0xff && b[at + 11] === 0xff) return `::ffff:${formatIPv4(b, at + 12)}`;
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && b[at + j * 2] === 0 && b[at + j * 2 + 1] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += "::";
      i += bestLength - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(":")) s += ":";
    s += ((b[at + i * 2]! << 8) | b[at + i * 2 + 1]!).toString(16);
  }
  return s;
}
