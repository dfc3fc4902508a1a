/**
 * Reads the first bytes of a TLS connection, without terminating it, to learn the
 * server name (SNI) and the ALPN protocols the client asks for: what `mode: tcp`
 * listeners route on (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301). Fed bytes, no socket;
 * the bytes themselves are forwarded untouched by the caller. A ClientHello split
 * across several TLS records is reassembled.
 *
 * @example
 * const hello = new ClientHello();
 * const n = peekClientHello(firstBytes, firstBytes.length, hello);
 * if (n > 0) route(hello.serverName); // "db.example.com" (lower case), or undefined
 * else if (n === HELLO_NEED_MORE) waitForMore();
 */

/** More bytes are needed. */
export const HELLO_NEED_MORE = -1;

/** Why the bytes are not a ClientHello that can be routed (negative). */
export const HelloError = {
  /** Not a TLS handshake record at all (a plain-text protocol, SSLv2). */
  NOT_TLS: -2,
  /** A TLS record, but the first handshake message is not a ClientHello. */
  NOT_CLIENT_HELLO: -3,
  /** A ClientHello that breaks the format (lengths, a bad host name, duplicate extensions). */
  MALFORMED: -4,
  /** A ClientHello larger than {@link HELLO_MAX}. */
  TOO_LONG: -5,
} as const;

/** One line per {@link HelloError}, for logs. */
export const helloErrorText: Readonly<Record<number, string>> = {
  [HelloError.NOT_TLS]: "the client did not start a TLS handshake",
  [HelloError.NOT_CLIENT_HELLO]: "the first TLS handshake message is not a ClientHello",
  [HelloError.MALFORMED]: "malformed TLS ClientHello",
  [HelloError.TOO_LONG]: "TLS ClientHello too long",
};

/** Largest ClientHello accepted (post-quantum key shares make them ~2 KiB today). */
export const HELLO_MAX = 16384;
const RECORD_MAX = 16384 + 256;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/** What a ClientHello asked for. Reused: each peek overwrites every field. */
export class ClientHello {
  /** The `host_name` of the SNI extension, lower case, no trailing dot; undefined when absent. */
  serverName: string | undefined = undefined;
  /** ALPN protocol names offered, in the client's order (empty when the extension is absent). */
  alpn: string[] = [];

  reset(): void {
    this.serverName = undefined;
    this.alpn = [];
  }
}

/**
 * Peeks at `buf[0, end)`. Returns the offset just past the ClientHello's last byte, {@link HELLO_NEED_MORE}, or a {@link HelloError} code. A wrong first
 * byte is refused at once.
 */
export function peekClientHello(buf: Uint8Array, end: number, out: ClientHello): number {
  out.reset();
  // The handshake message may span records: walk them, and parse in place when the
  // message fits in the first one (nearly always).
  let at = 0;
  let need = -1; // handshake message length, header included, once known
  let have = 0; // message bytes in the records before `at`
  let parts: Uint8Array[] | null = null;
  for (;;) {
    if (end - at < 5) return prefixCheck(buf, at, end);
    if (buf[at] !== 0x16 || buf[at + 1] !== 0x03 || buf[at + 2]! > 0x04) return at === 0 ? HelloError.NOT_TLS : HelloError.MALFORMED;
    const len = (buf[at + 3]! << 8) | buf[at + 4]!;
    if (len === 0 || len > RECORD_MAX) return HelloError.MALFORMED;
    const payload = at + 5;
    const availEnd = Math.min(end, payload + len);
    if (have === 0 && availEnd > payload && buf[payload] !== 0x01) return HelloError.NOT_CLIENT_HELLO;
    if (need < 0 && have + availEnd - payload >= 4) {
      const h = headerBytes(buf, parts, payload);
      need = 4 + ((h[1]! << 16) | (h[2]! << 8) | h[3]!);
      if (need - 4 > HELLO_MAX) return HelloError.TOO_LONG;
    }
    if (need >= 0 && have + availEnd - payload >= need) {
      const take = need - have;
      if (parts === null) {
        const r = parseHello(buf, payload + 4, payload + need, out);
        return r < 0 ? r : payload + need;
      }
      parts.push(buf.subarray(payload, payload + take));
      const r = parseHello(concat(parts, need), 4, need, out);
      return r < 0 ? r : payload + take;
    }
    if (availEnd < payload + len) return HELLO_NEED_MORE;
    (parts ??= []).push(buf.subarray(payload, payload + len));
    have += len;
    at = payload + len;
  }
}

// Before a record header is complete: a wrong first byte already says "not TLS".
function prefixCheck(buf: Uint8Array, at: number, end: number): number {
  const bad = at === 0 ? HelloError.NOT_TLS : HelloError.MALFORMED;
  if (end > at && buf[at] !== 0x16) return bad;
  if (end > at + 1 && buf[at + 1] !== 0x03) return bad;
  if (end > at + 2 && buf[at + 2]! > 0x04) return bad;
  return HELLO_NEED_MORE;
}

// The 4-byte handshake header, which may straddle records.
function headerBytes(buf: Uint8Array, parts: Uint8Array[] | null, payload: number): Uint8Array {
  if (parts === null) return buf.subarray(payload, payload + 4);
  const out = new Uint8Array(4);
  let n = 0;
  for (const p of parts) for (let i = 0; i < p.length && n < 4; i++) out[n++] = p[i]!;
  for (let i = payload; n < 4; i++) out[n++] = buf[i]!;
  return out;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** Parses the ClientHello body `b[at, end)`; 0 or a {@link HelloError}. */
function parseHello(b: Uint8Array, at: number, end: number, out: ClientHello): number {
  const M = HelloError.MALFORMED;
  let i = at + 2 + 32; // legacy_version, random
  if (i + 1 > end) return M;
  i += 1 + b[i]!; // session id
  if (i + 2 > end) return M;
  const suites = (b[i]! << 8) | b[i + 1]!;
  if (suites === 0 || suites % 2 !== 0) return M;
  i += 2 + suites;
  if (i + 1 > end) return M;
  const comp = b[i]!;
  if (comp === 0) return M;
  i += 1 + comp;
  if (i > end) return M;
  if (i === end) return 0; // no extensions (an old client): no SNI
  if (i + 2 > end) return M;
  const extEnd = i + 2 + ((b[i]! << 8) | b[i + 1]!);
  if (extEnd !== end) return M;
  i += 2;
  let seen: number[] | null = null;
  while (i < extEnd) {
    if (i + 4 > extEnd) return M;
    const type = (b[i]! << 8) | b[i + 1]!;
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    const ds = i + 4;
    const de = ds + len;
    if (de > extEnd) return M;
    // RFC 8446 §4.2: an extension type appears at most once.
    if ((seen ??= []).includes(type)) return M;
    seen.push(type);
    if (type === EXT_SERVER_NAME) {
      const r = serverName(b, ds, de, out);
      if (r < 0) return r;
    } else if (type === EXT_ALPN) {
      const r = alpn(b, ds, de, out);
      if (r < 0) return r;
    }
    i = de;
  }
  return 0;
}

function serverName(b: Uint8Array, at: number, end: number, out: ClientHello): number {
  const M = HelloError.MALFORMED;
  if (at + 2 > end || at + 2 + ((b[at]! << 8) | b[at + 1]!) !== end) return M;
  let i = at + 2;
  while (i < end) {
    if (i + 3 > end) return M;
    const type = b[i]!;
    const len = (b[i + 1]! << 8) | b[i + 2]!;
    const ns = i + 3;
    if (len === 0 || ns + len > end) return M;
    if (type === 0) {
      if (out.serverName !== undefined) return M; // one host_name only (RFC 6066 §3)
      const name = hostName(b, ns, ns + len);
      if (name === undefined) return M;
      out.serverName = name;
    }
    i = ns + len;
  }
  return 0;
}

// Letters, digits, '-', '_' and dots, lower-cased; one trailing dot is dropped.
function hostName(b: Uint8Array, from: number, to: number): string | undefined {
  if (to - from > 255) return undefined;
  if (b[to - 1] === 0x2e) to--;
  let s = "";
  let label = 0;
  for (let i = from; i < to; i++) {
    let c = b[i]!;
    if (c === 0x2e) {
      if (label === 0) return undefined;
      label = 0;
    } else {
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)) return undefined;
      if (++label > 63) return undefined;
    }
    s += String.fromCharCode(c);
  }
  return label === 0 ? undefined : s;
}

function alpn(b: Uint8Array, at: number, end: number, out: ClientHello): number {
  const M = HelloError.MALFORMED;
  if (at + 2 > end || at + 2 + ((b[at]! << 8) | b[at + 1]!) !== end) return M;
  const list: string[] = [];
  for (let i = at + 2; i < end; ) {
    const len = b[i]!;
    if (len === 0 || i + 1 + len > end) return M;
    let s = "";
    for (let k = i + 1; k <= i + len; k++) s += String.fromCharCode(b[k]!);
    list.push(s);
    i += 1 + len;
  }
  if (list.length === 0) return M;
  out.alpn = list;
  return 0;
}
