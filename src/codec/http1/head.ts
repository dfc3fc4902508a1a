import { COLON, CR, FIELD_VALUE, HTAB, LF, REASON, SP, TARGET, TOKEN, equalsLower, lower } from "./chars.ts";
import { absoluteFormPath, knownMethod } from "./request-line.ts";

/**
 * A strict HTTP/1.1 head scanner (RFC 9112) that records offsets instead of building
 * strings or header objects: the proxy forwards the original bytes and only looks at the
 * few fields that decide framing, routing and hop-by-hop handling. One `Head` is reused
 * for every message on a connection, so scanning allocates nothing.
 *
 * Request smuggling lives in parser differences, so the scanner refuses every ambiguity
 * (HAProxy does the same) and is differential-tested against llhttp
 * (`head.differential.test.ts`). Refused: obs-fold, whitespace before the colon, bytes
 * outside the RFC classes, bare CR or LF, `Content-Length` with `Transfer-Encoding`,
 * conflicting or malformed `Content-Length`, any transfer coding but `chunked` on a
 * request, a missing or repeated `Host` in HTTP/1.1, methods llhttp does not know and
 * CONNECT, a target that is not origin-, absolute- or asterisk-form, an `Upgrade` asked
 * for in HTTP/1.0 or with a body.
 *
 * @example
 * const head = new Head();
 * const end = findHeadEnd(buf, 0, buf.length); // offset after CRLFCRLF, or -1
 * const err = parseRequest(buf, end, head);     // 0 or an error code from `HeadError`
 */

/** Error codes (negative: the caller maps them to 4xx/5xx responses). */
export const HeadError = {
  BAD_REQUEST_LINE: 1,
  BAD_VERSION: 2,
  BAD_HEADER_NAME: 3,
  BAD_HEADER_VALUE: 4,
  OBS_FOLD: 5,
  TOO_MANY_HEADERS: 6,
  BAD_CONTENT_LENGTH: 7,
  CONFLICTING_LENGTH: 8,
  LENGTH_AND_CHUNKED: 9,
  UNSUPPORTED_CODING: 10,
  BAD_HOST: 11,
  BARE_LF: 12,
  BAD_STATUS_LINE: 13,
  BAD_METHOD: 14,
  BAD_UPGRADE: 15,
  BAD_TARGET: 16,
  BAD_INTERIM: 17,
  HOST_MISMATCH: 18,
} as const;
export type HeadErrorCode = (typeof HeadError)[keyof typeof HeadError];

/** Plain-words reason for each code, used in the 400 body and logs. */
export const headErrorText: Record<HeadErrorCode, string> = {
  1: "malformed request line",
  2: "unsupported HTTP version",
  3: "invalid header name",
  4: "invalid byte in a header value",
  5: "obsolete header line folding is not allowed",
  6: "too many header fields",
  7: "malformed Content-Length",
  8: "conflicting Content-Length values",
  9: "both Content-Length and Transfer-Encoding",
  10: "unsupported Transfer-Encoding",
  11: "missing, repeated or malformed Host",
  12: "bare LF or CR in the message head",
  13: "malformed status line",
  14: "unsupported request method",
  15: "a protocol upgrade needs HTTP/1.1 and no request body",
  16: "malformed request target",
  17: "an interim (1xx) response that closes the connection",
  18: "Host differs from the authority of the absolute-form request target",
};

export const MAX_HEADERS = 100;

/** Header flags (one value per line). */
export const H_DROP = 1; // hop-by-hop: not forwarded
export const H_UPGRADE = 2; // an Upgrade line: forwarded only with a protocol switch
export const H_FWD = 3; // a client's Forwarded / X-Forwarded-Proto / X-Forwarded-Host: kept from trusted proxies only

/** Offsets of one parsed message head. Reused: `reset` is implicit in every parse. */
export class Head {
  /** Offset just past the CRLFCRLF that ends the head. */
  end = 0;
  /** 10 or 11 (HTTP/1.0 or HTTP/1.1). */
  version = 11;
  // request line
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  /**
   * Start of the path (and query) in the target: `targetStart` for origin- and
   * asterisk-form; for absolute-form, just past the authority (may equal `targetEnd`:
   * an empty path).
   */
  pathStart = 0;
  /** The authority of an absolute-form target, [authStart, authEnd); -1 otherwise. */
  authStart = -1;
  authEnd = -1;
  /** Method is GET or HEAD (or OPTIONS/TRACE/PUT/DELETE: safe to retry on a reused connection). */
  idempotent = false;
  isHead = false;
  /** Index in {@link METHOD_NAMES}. */
  method = 0;
  // status line
  status = 0;
  /** Start of the first header line (just past the start line's CRLF). */
  headersStart = 0;
  count = 0;
  /** Per header i: [4i] line start, [4i+1] name end, [4i+2] value start, [4i+3] value end (OWS trimmed). */
  readonly spans = new Int32Array(MAX_HEADERS * 4);
  readonly flags = new Uint8Array(MAX_HEADERS);
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  /** A response with a transfer coding not ending in chunked: the body lasts until close. */
  untilClose = false;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /** Index of the (first) header, -1 when absent. */
  upgrade = -1;
  host = -1;
  xff = -1;
  /** Index of the first X-Forwarded-Proto / X-Forwarded-Host line, -1 when absent. */
  xfp = -1;
  xfh = -1;
  /** Number of {@link H_FWD} lines (kept or dropped by the writer, depending on trust). */
  fwd = 0;
  /** Number of hop-by-hop lines to drop (0 lets the fast path forward the header block as is). */
  dropped = 0;
  /** `Connection: name` tokens other than close/keep-alive/upgrade (rare): [start, end) pairs. */
  connTokens: number[] = [];

  /** True when the client asked for a protocol switch that we can tunnel. */
  get wantsUpgrade(): boolean {
    // HTTP/1.0 needs no check: parseRequest refuses an upgrade asked for in HTTP/1.0.
    return this.connUpgrade && this.upgrade >= 0;
  }
}

/**
 * Finds the end of a message head in `buf[from..len)`. Returns the offset just past the
 * CRLFCRLF, -1 when the head is not complete yet, or `-HeadError.BARE_LF` when a line
 * ends with a bare LF (such a head would never complete, so it is refused at once).
 */
export function findHeadEnd(buf: Buffer, from: number, len: number): number {
  let i = buf.indexOf(LF, from);
  while (i !== -1 && i < len) {
    // Before the buffer's start, buf[-1] is undefined: neither CR nor LF.
    if (buf[i - 1] !== CR) return -HeadError.BARE_LF;
    if (buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/**
 * Offset of the first byte after the empty lines (CRLF pairs) at `buf[from..]`: RFC
 * 9112 §2.2 asks a server to ignore at least one before a request line, as llhttp
 * does. A bare CR or LF stops the skip (the head scanner then refuses it).
 *
 * @example
 * skipEmptyLines(Buffer.from("\r\n\r\nGET / HTTP/1.1"), 0); // 4
 */
export function skipEmptyLines(buf: Buffer, from: number): number {
  let i = from;
  while (buf[i] === CR && buf[i + 1] === LF) i += 2; // past the end: undefined
  return i;
}

function resetHead(h: Head, end: number): void {
  h.end = end;
  h.count = 0;
  h.contentLength = -1;
  h.chunked = false;
  h.untilClose = false;
  h.connClose = false;
  h.connKeepAlive = false;
  h.connUpgrade = false;
  h.upgrade = -1;
  h.host = -1;
  h.xff = -1;
  h.xfp = -1;
  h.xfh = -1;
  h.fwd = 0;
  h.authStart = -1;
  h.authEnd = -1;
  h.dropped = 0;
  h.idempotent = false;
  h.isHead = false;
  h.status = 0;
  h.connTokens.length = 0;
}

/**
 * Parses a request head `buf[0..end)` (end from {@link findHeadEnd}) into `h`.
 * Returns 0 on success or a {@link HeadError} code.
 */
export function parseRequest(buf: Buffer, end: number, h: Head): number {
  resetHead(h, end);
  // The head ends with CRLFCRLF (findHeadEnd), which no byte class below takes in: the
  // scans stop before `end` without comparing with it, and a LF always follows a CR.
  // method
  let i = 0;
  while (TOKEN[buf[i]!] === 1) i++;
  if (i === 0 || i > 32 || buf[i] !== SP) return HeadError.BAD_REQUEST_LINE;
  h.methodEnd = i;
  if (!knownMethod(buf, i)) return HeadError.BAD_METHOD;
  classifyMethod(buf, i, h);
  // target: origin-form (the common case), asterisk-form or absolute-form
  const ts = ++i;
  const c0 = buf[i];
  if (c0 === 0x2a) {
    // Asterisk-form is for OPTIONS only (RFC 9112 §3.2.4).
    if (buf[++i] !== SP || h.method !== M_OPTIONS) return HeadError.BAD_TARGET;
  } else if (c0 !== 0x2f) {
    i = absoluteFormPath(buf, i);
    if (i < 0) return HeadError.BAD_TARGET;
    // The scheme is letters only: the first ":" is its end, "//" follows. The authority
    // must be a valid Host value too: it is compared with Host, or becomes one.
    h.authStart = buf.indexOf(COLON, ts) + 3;
    h.authEnd = i;
    if (!validHost(buf, h.authStart, h.authEnd)) return HeadError.BAD_TARGET;
  }
  h.pathStart = h.authEnd >= 0 ? h.authEnd : ts;
  // Never empty: its first byte was `/`, `*` or a scheme's letter.
  while (TARGET[buf[i]!] === 1) i++;
  if (buf[i] !== SP) return HeadError.BAD_REQUEST_LINE;
  h.targetStart = ts;
  h.targetEnd = i;
  i++;
  // version
  if (
    buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
    buf[i + 4] !== 0x2f || buf[i + 5] !== 0x31 || buf[i + 6] !== 0x2e
  ) {
    return HeadError.BAD_REQUEST_LINE;
  }
  const minor = buf[i + 7]!;
  if (minor === 0x31) h.version = 11;
  else if (minor === 0x30) h.version = 10;
  else return HeadError.BAD_VERSION;
  if (buf[i + 8] !== CR || buf[i + 9] !== LF) return HeadError.BAD_REQUEST_LINE;
  const err = parseFields(buf, i + 10, h, true);
  if (err !== 0) return err;
  if (h.chunked && h.contentLength >= 0) return HeadError.LENGTH_AND_CHUNKED;
  if (h.chunked && h.version === 10) return HeadError.UNSUPPORTED_CODING;
  if (h.version === 11 && h.host < 0) return HeadError.BAD_HOST;
  // RFC 9112 §3.2: the client sends a Host identical to the target's authority. When
  // they differ, one hop may route by one and the next by the other (HAProxy refuses
  // it too, since 2.1).
  if (h.authStart >= 0 && h.host >= 0) {
    const vs = h.spans[(h.host << 2) + 2]!, ve = h.spans[(h.host << 2) + 3]!;
    if (ve - vs !== h.authEnd - h.authStart || !sameLower(buf, vs, h.authStart, ve - vs)) return HeadError.HOST_MISMATCH;
  }
  // RFC 9110 §7.8 says to ignore it; llhttp switches protocols anyway, so the bytes after
  // would be a tunnel to one parser and requests to the other.
  if (h.version === 10 && h.connUpgrade && h.upgrade >= 0) return HeadError.BAD_UPGRADE;
  // Node's llhttp server hands everything after the head to the new protocol, body
  // included, while we frame the body first: refuse rather than guess.
  if (h.wantsUpgrade && (h.chunked || h.contentLength > 0)) return HeadError.BAD_UPGRADE;
  return 0;
}

/**
 * Parses a response head. Lenient only where RFC 9112 asks recipients to be (a missing
 * reason phrase); refuses what could desynchronise framing.
 */
export function parseResponse(buf: Buffer, end: number, h: Head): number {
  resetHead(h, end);
  if (
    buf[0] !== 0x48 || buf[1] !== 0x54 || buf[2] !== 0x54 || buf[3] !== 0x50 ||
    buf[4] !== 0x2f || buf[5] !== 0x31 || buf[6] !== 0x2e || buf[8] !== SP
  ) {
    return HeadError.BAD_STATUS_LINE;
  }
  const minor = buf[7]!;
  if (minor === 0x31) h.version = 11;
  else if (minor === 0x30) h.version = 10;
  else return HeadError.BAD_VERSION;
  const d0 = buf[9]! - 0x30, d1 = buf[10]! - 0x30, d2 = buf[11]! - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return HeadError.BAD_STATUS_LINE;
  h.status = d0 * 100 + d1 * 10 + d2;
  let i = 12;
  if (buf[i] === SP) {
    i++;
    while (REASON[buf[i]!] === 1) i++;
  }
  if (buf[i] !== CR || buf[i + 1] !== LF) return HeadError.BAD_STATUS_LINE;
  const err = parseFields(buf, i + 2, h, false);
  if (err !== 0) return err;
  // Any transfer coding, chunked or not (until close), with a length is ambiguous.
  if ((h.chunked || h.untilClose) && h.contentLength >= 0) return HeadError.LENGTH_AND_CHUNKED;
  // llhttp ends the connection after a 1xx that says close (or an HTTP/1.0 one without
  // keep-alive) and refuses the final response; we would read it.
  if (h.status < 200 && h.status !== 101 && (h.connClose || (h.version === 10 && !h.connKeepAlive))) return HeadError.BAD_INTERIM;
  return 0;
}

/**
 * Method classes, a bounded label set for metrics: GET HEAD POST PUT DELETE PATCH
 * OPTIONS, and everything else. The scanner classifies once per request.
 */
export const METHOD_NAMES = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"] as const;
const M_GET = 0, M_HEAD = 1, M_POST = 2, M_PUT = 3, M_DELETE = 4, M_PATCH = 5, M_OPTIONS = 6, M_OTHER = 7;

// The method is known to be an exact, upper-case llhttp method (knownMethod ran first):
// its length and first byte tell almost every class apart (`knownMethod`'s table).
// POST is the only P of 4 bytes, TRACE the only method starting with T.
function classifyMethod(buf: Buffer, len: number, h: Head): void {
  const c = buf[0];
  let m = M_OTHER;
  if (len === 3) m = c === 0x47 ? M_GET : c === 0x50 ? M_PUT : M_OTHER;
  else if (len === 4) m = c === 0x48 ? M_HEAD : c === 0x50 ? M_POST : M_OTHER;
  else if (len === 5) m = c === 0x50 && buf[1] === 0x41 ? M_PATCH : M_OTHER;
  else if (len === 6) m = c === 0x44 ? M_DELETE : M_OTHER;
  else if (len === 7) m = c === 0x4f ? M_OPTIONS : M_OTHER;
  h.method = m;
  h.isHead = m === M_HEAD;
  // GET HEAD PUT DELETE OPTIONS TRACE are idempotent (RFC 9110 §9.2.2).
  h.idempotent = m === M_GET || m === M_HEAD || m === M_PUT || m === M_DELETE || m === M_OPTIONS || c === 0x54;
}

function parseFields(buf: Buffer, start: number, h: Head, isRequest: boolean): number {
  const end = h.end;
  const spans = h.spans;
  h.headersStart = start;
  let i = start;
  let n = 0;
  while (i < end - 2) {
    const ls = i;
    const c0 = buf[i]!;
    if (c0 === SP || c0 === HTAB) return HeadError.OBS_FOLD;
    while (TOKEN[buf[i]!] === 1) i++;
    if (i === ls || buf[i] !== COLON) return HeadError.BAD_HEADER_NAME;
    const ne = i++;
    while (buf[i] === SP || buf[i] === HTAB) i++;
    const vs = i;
    while (FIELD_VALUE[buf[i]!] === 1) i++;
    if (buf[i] !== CR || buf[i + 1] !== LF) return HeadError.BAD_HEADER_VALUE;
    let ve = i;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    i += 2;
    if (n === MAX_HEADERS) return HeadError.TOO_MANY_HEADERS;
    const k = n << 2;
    spans[k] = ls;
    spans[k + 1] = ne;
    spans[k + 2] = vs;
    spans[k + 3] = ve;
    h.flags[n] = 0;
    const err = classifyField(buf, h, n, ls, ne, vs, ve, isRequest);
    if (err !== 0) return err;
    n++;
  }
  h.count = n;
  if (h.connTokens.length > 0) dropConnectionListed(buf, h);
  return 0;
}

function forwarding(h: Head, n: number): void {
  h.flags[n] = H_FWD;
  h.fwd++;
}

function drop(h: Head, n: number): void {
  if (h.flags[n] !== H_DROP) {
    h.flags[n] = H_DROP;
    h.dropped++;
  }
}

// Dispatch on name length first: most headers (User-Agent, Accept, ...) fall through
// after one comparison of the length.
function classifyField(
  buf: Buffer, h: Head, n: number, ls: number, ne: number, vs: number, ve: number, isRequest: boolean,
): number {
  switch (ne - ls) {
    case 2:
      if (equalsLower(buf, ls, ne, "te")) drop(h, n);
      return 0;
    case 4:
      if (isRequest && equalsLower(buf, ls, ne, "host")) {
        if (h.host >= 0 || !validHost(buf, vs, ve)) return HeadError.BAD_HOST;
        h.host = n;
      }
      return 0;
    case 7:
      if (equalsLower(buf, ls, ne, "upgrade")) {
        // An empty Upgrade names no protocol and llhttp does not switch on it: dropped.
        // So is an h2c upgrade (h2csmuggler): once a server speaks HTTP/2 on the tunnel,
        // every later request bypasses the gateway's routing and rules; RFC 9113 §3.1
        // retired it. The request goes on as plain HTTP/1.1.
        if (ve === vs || (isRequest && hasToken(buf, vs, ve, "h2c"))) {
          drop(h, n);
          return 0;
        }
        // Forwarded only on upgrade requests and 101 responses; decided by the writer.
        h.flags[n] = H_UPGRADE;
        if (h.upgrade < 0) h.upgrade = n;
      }
      return 0;
    case 9:
      // RFC 7239: what a proxy before us says about the client; believed from trusted ones only.
      if (isRequest && equalsLower(buf, ls, ne, "forwarded")) forwarding(h, n);
      return 0;
    case 10:
      if (equalsLower(buf, ls, ne, "connection")) {
        drop(h, n);
        return parseConnection(buf, h, vs, ve);
      }
      if (equalsLower(buf, ls, ne, "keep-alive")) drop(h, n);
      return 0;
    case 14:
      if (equalsLower(buf, ls, ne, "content-length")) return parseContentLength(buf, h, n, vs, ve);
      return 0;
    case 15:
      if (isRequest && equalsLower(buf, ls, ne, "x-forwarded-for")) {
        // Several X-Forwarded-For lines are merged into the one the writer emits.
        drop(h, n);
        if (h.xff < 0) h.xff = n;
      }
      return 0;
    case 16:
      if (equalsLower(buf, ls, ne, "proxy-connection")) {
        // llhttp reads it as a second Connection (close, keep-alive, upgrade): so do we,
        // or a pipelined request after `Proxy-Connection: close` would be ours alone.
        drop(h, n);
        return parseConnection(buf, h, vs, ve);
      }
      if (isRequest && equalsLower(buf, ls, ne, "x-forwarded-host")) {
        forwarding(h, n);
        if (h.xfh < 0) h.xfh = n;
      }
      return 0;
    case 17:
      if (equalsLower(buf, ls, ne, "transfer-encoding")) return parseTransferEncoding(buf, h, vs, ve, isRequest);
      if (isRequest && equalsLower(buf, ls, ne, "x-forwarded-proto")) {
        forwarding(h, n);
        if (h.xfp < 0) h.xfp = n;
      }
      return 0;
    default:
      return 0;
  }
}

function parseContentLength(buf: Buffer, h: Head, n: number, vs: number, ve: number): number {
  if (ve === vs || ve - vs > 15) return HeadError.BAD_CONTENT_LENGTH;
  let v = 0;
  for (let i = vs; i < ve; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return HeadError.BAD_CONTENT_LENGTH;
    v = v * 10 + d;
  }
  if (h.contentLength >= 0) {
    if (h.contentLength !== v) return HeadError.CONFLICTING_LENGTH;
    drop(h, n); // an identical repeat is forwarded once
    return 0;
  }
  h.contentLength = v;
  return 0;
}

function parseTransferEncoding(buf: Buffer, h: Head, vs: number, ve: number, isRequest: boolean): number {
  if (isRequest) {
    // Only a single `chunked` is accepted from clients: anything else is where
    // front-end/back-end disagreements (smuggling) come from.
    if (h.chunked || !equalsLower(buf, vs, ve, "chunked") || tabAfter(buf, ve)) return HeadError.UNSUPPORTED_CODING;
    h.chunked = true;
    return 0;
  }
  // Responses: chunked when it is the final coding (RFC 9112 §6.3), else until close.
  // An empty value names no coding at all: llhttp refuses it, so do we.
  if (ve === vs) return HeadError.UNSUPPORTED_CODING;
  let s = ve;
  while (s > vs && buf[s - 1] !== 0x2c) s--;
  while (s < ve && (buf[s] === SP || buf[s] === HTAB)) s++;
  if (equalsLower(buf, s, ve, "chunked")) {
    if (tabAfter(buf, ve)) return HeadError.UNSUPPORTED_CODING;
    h.chunked = true;
    h.untilClose = false;
  } else {
    h.chunked = false;
    h.untilClose = true;
  }
  return 0;
}

// llhttp does not take `chunked` followed by a tab as chunked (a request is refused, a
// response read until close), though spaces are fine: refuse the tab, whatever the side.
function tabAfter(buf: Buffer, ve: number): boolean {
  for (let k = ve; buf[k] !== CR; k++) if (buf[k] === HTAB) return true;
  return false;
}

function parseConnection(buf: Buffer, h: Head, vs: number, ve: number): number {
  let i = vs;
  while (i < ve) {
    // buf[ve] is trimmed OWS or the CR: past ve the loops meet neither a token nor a comma.
    while (buf[i] === SP || buf[i] === HTAB || buf[i] === 0x2c) i++;
    const ts = i;
    while (TOKEN[buf[i]!] === 1) i++;
    const te = i;
    while (buf[i] === SP || buf[i] === HTAB) i++;
    if (i < ve && buf[i] !== 0x2c) return HeadError.BAD_HEADER_VALUE;
    if (te === ts) continue;
    if (equalsLower(buf, ts, te, "close")) h.connClose = true;
    else if (equalsLower(buf, ts, te, "keep-alive")) h.connKeepAlive = true;
    else if (equalsLower(buf, ts, te, "upgrade")) h.connUpgrade = true;
    else h.connTokens.push(ts, te);
  }
  return 0;
}

// Headers named by Connection are hop-by-hop too (RFC 9110 §7.6.1). Rare: a second pass.
// Host and the framing headers are never stripped, whatever the client says: without its
// Content-Length or Transfer-Encoding line the body we forward would reach the server as
// the next request (`Connection: content-length` smuggling).
function dropConnectionListed(buf: Buffer, h: Head): void {
  const t = h.connTokens;
  for (let n = 0; n < h.count; n++) {
    const ls = h.spans[n << 2]!, ne = h.spans[(n << 2) + 1]!;
    if (n === h.host || equalsLower(buf, ls, ne, "content-length") || equalsLower(buf, ls, ne, "transfer-encoding")) continue;
    for (let j = 0; j < t.length; j += 2) {
      if (ne - ls === t[j + 1]! - t[j]! && sameLower(buf, ls, t[j]!, ne - ls)) {
        // Never the Upgrade line: `upgrade` in Connection is the token, not a listed name.
        drop(h, n);
      }
    }
  }
}

/** True when the comma-separated list in buf[vs, ve) has `token` (lower-case) as an element. */
function hasToken(buf: Buffer, vs: number, ve: number, token: string): boolean {
  let i = vs;
  while (i < ve) {
    while (buf[i] === SP || buf[i] === HTAB || buf[i] === 0x2c) i++; // stops at the CR
    const ts = i;
    while (i < ve && buf[i] !== 0x2c && buf[i] !== SP && buf[i] !== HTAB) i++;
    if (equalsLower(buf, ts, i, token)) return true;
  }
  return false;
}

function sameLower(buf: Buffer, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (lower(buf[a + k]!) !== lower(buf[b + k]!)) return false;
  return true;
}

// uri-host [":" port] (RFC 3986 reg-name / IPv4 / IP-literal): refuse anything that
// could make two parsers disagree on the authority.
function validHost(buf: Buffer, vs: number, ve: number): boolean {
  if (ve === vs) return false;
  for (let i = vs; i < ve; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2f || c === 0x5c || c === 0x40 || c === 0x3f || c === 0x23 || c === 0x2c || c === 0x22) {
      return false;
    }
  }
  return true;
}

/** Latin-1 string of header `n`'s value (allocates; for the rare paths: routing, logs). */
export function headerValue(buf: Buffer, h: Head, n: number): string {
  return buf.toString("latin1", h.spans[(n << 2) + 2]!, h.spans[(n << 2) + 3]!);
}

/** Index of the first header named `name` (lower-case), or -1. */
export function findHeader(buf: Buffer, h: Head, name: string): number {
  for (let n = 0; n < h.count; n++) {
    if (equalsLower(buf, h.spans[n << 2]!, h.spans[(n << 2) + 1]!, name)) return n;
  }
  return -1;
}
