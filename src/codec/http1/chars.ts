/**
 * Byte classes of RFC 9110 / RFC 9112, as lookup tables. The scanners use them instead
 * of regular expressions so a head is validated in one pass without building strings.
 */

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const TCHAR_PUNCT = "!#$%&'*+-.^_`|~";

/** `tchar` (RFC 9110 §5.6.2): header names and methods. */
export const TOKEN = table(
  (c) =>
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    TCHAR_PUNCT.includes(String.fromCharCode(c)),
);

/**
 * Bytes allowed in a request-target: visible ASCII (no space, no controls, no DEL).
 * Stricter than llhttp's lenient mode: obs-text (>= 0x80) in the target is refused.
 */
export const TARGET = table((c) => c > 0x20 && c < 0x7f);

/**
 * Authority bytes of an absolute-form target (RFC 3986 host and port: unreserved,
 * pct-encoded, sub-delims, ":" and IP-literal brackets). No "@": userinfo is not allowed
 * in http(s) URIs (RFC 9110 §4.2.4) and is a favourite of host-confusion tricks.
 */
export const AUTHORITY = table(
  (c) =>
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    "-._~%!$&'()*+,;=:[]".includes(String.fromCharCode(c)),
);

/** field-value bytes (RFC 9110 §5.5): VCHAR, SP, HTAB and obs-text. No CR, LF, NUL, controls. */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/** Bytes of a reason-phrase: HTAB, SP, VCHAR, obs-text. */
export const REASON = FIELD_VALUE;

/** Value of a hex digit (0-9, A-F, a-f), -1 for any other byte: chunk sizes. */
export const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

/** ASCII lower-case of a byte (A-Z only). */
export function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Case-insensitive comparison of `buf[start..start+name.length)` with a lower-case ASCII name. */
export function equalsLower(buf: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    if (lower(buf[start + i]!) !== name.charCodeAt(i)) return false;
  }
  return true;
}

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
