import { equalsLower } from "./chars.ts";
import { H_DROP, H_FWD, H_UPGRADE, METHOD_NAMES, type Head } from "./head.ts";

/**
 * Rebuilds message heads for forwarding: copies the original start line and every
 * header line that is not hop-by-hop, then appends the proxy's own lines. Copies are
 * contiguous runs of the original bytes (memcpy), never re-serialised header objects.
 *
 * @example
 * const out = writeRequestHead(buf, head, fwd, false, buf, head.end, buf.length);
 * upstream.write(out);
 */

const CRLF = 0x0a0d; // little-endian "\r\n" for writeUInt16LE
const XFH = Buffer.from("X-Forwarded-Host: ");
const HOST = Buffer.from("Host: ");
const UPGRADE_LINE = "Connection: upgrade\r\n";

/**
 * Per-connection constants of the forwarded request: built once per client connection,
 * so a request without its own X-Forwarded-For costs no string building.
 */
export class ForwardInfo {
  readonly ip: string;
  /** `X-Forwarded-For: ip\r\nX-Forwarded-Proto: proto\r\n` */
  readonly xffLines: Buffer;
  readonly proto: string;
  /**
   * The peer is one of the listener's `trustedProxies`: its X-Forwarded-For is appended
   * to, its X-Forwarded-Proto/-Host and Forwarded kept. Anyone else's are replaced.
   */
  readonly trusted: boolean;

  constructor(ip: string, proto: "http" | "https", trusted = false) {
    this.ip = ip;
    this.proto = proto;
    this.trusted = trusted;
    this.xffLines = Buffer.from(`X-Forwarded-For: ${ip}\r\nX-Forwarded-Proto: ${proto}\r\n`);
  }
}

/**
 * Copies the start line and the kept header lines of `src` into `out` at `at`; the
 * Upgrade lines too unless `skipUpgrade`.
 */
function copyKept(src: Buffer, h: Head, out: Buffer, at: number, skipUpgrade: boolean, keepFwd: boolean): number {
  const absolute = h.authStart >= 0;
  if (h.dropped === 0 && !skipUpgrade && !absolute && (keepFwd || h.fwd === 0)) return at + src.copy(out, at, 0, h.end - 2);
  const gone = skipUpgrade ? H_UPGRADE : -1;
  const fwdGone = keepFwd ? -1 : H_FWD;
  at = absolute ? copyOriginForm(src, h, out, at) : at + src.copy(out, at, 0, h.headersStart);
  let runStart = -1;
  for (let n = 0; n < h.count; n++) {
    const f = h.flags[n]!;
    const keep = f !== H_DROP && f !== gone && f !== fwdGone;
    if (keep && runStart < 0) runStart = h.spans[n << 2]!;
    else if (!keep && runStart >= 0) {
      at += src.copy(out, at, runStart, h.spans[n << 2]!);
      runStart = -1;
    }
  }
  if (runStart >= 0) at += src.copy(out, at, runStart, h.end - 2);
  return at;
}

/**
 * The request line of an absolute-form request in origin-form (RFC 9112 §3.2.1): the
 * path and query of the target, "/" when the path is empty, and "*" for an OPTIONS
 * without path or query (§3.2.4). The server gets the same URI the gateway routed by,
 * whether it reads the target or Host (which equals the authority: head.ts checks).
 */
function copyOriginForm(src: Buffer, h: Head, out: Buffer, at: number): number {
  at += src.copy(out, at, 0, h.targetStart);
  at += out.write(originFormTarget(src, h), at); // rare: a string is fine (ASCII: head.ts checks)
  return at + src.copy(out, at, h.targetEnd, h.headersStart);
}

/**
 * The target a request is forwarded with, as a string (tests and logs; the writer
 * copies bytes): origin-form for an absolute-form target, the target itself otherwise.
 *
 * @example
 * originFormTarget(Buffer.from("GET http://a HTTP/1.1\r\nHost: a\r\n\r\n"), head); // "/"
 */
export function originFormTarget(src: Buffer, h: Head): string {
  const path = src.toString("latin1", h.pathStart, h.targetEnd);
  if (h.authStart < 0) return path;
  if (path === "") return METHOD_NAMES[h.method] === "OPTIONS" ? "*" : "/";
  return path.startsWith("/") ? path : `/${path}`;
}

/**
 * The request head as sent upstream: hop-by-hop lines removed, X-Forwarded-For,
 * X-Forwarded-Proto and X-Forwarded-Host set (a trusted proxy's are appended to or
 * kept, anyone else's replaced, and anyone else's Forwarded dropped: {@link ForwardInfo}), and for a
 * protocol switch `Connection: upgrade` with the client's Upgrade line kept. Body bytes
 * `tail[tailStart..tailEnd)` are appended so head and first body bytes leave in one write.
 */
export function writeRequestHead(
  src: Buffer, h: Head, fwd: ForwardInfo, upgrade: boolean,
  tail: Buffer | null, tailStart: number, tailEnd: number,
): Buffer {
  const skipUpgrade = !upgrade && h.upgrade >= 0;
  const trusted = fwd.trusted;
  // A trusted proxy's X-Forwarded-For is appended to, its X-Forwarded-Proto kept.
  let xff: string | null = null;
  if (trusted && (h.xff >= 0 || h.xfp >= 0)) xff = forwardedFor(src, h, fwd);
  const ownHost = !(trusted && h.xfh >= 0);
  // The host: the Host line, or an absolute-form target's authority (HTTP/1.0 may omit Host).
  const noHost = h.host < 0 && h.authStart >= 0;
  const hs = h.host >= 0 ? h.spans[(h.host << 2) + 2]! : noHost ? h.authStart : 0;
  const he = h.host >= 0 ? h.spans[(h.host << 2) + 3]! : noHost ? h.authEnd : 0;
  const size =
    h.end + 1 + (xff === null ? fwd.xffLines.length : xff.length) + (he - hs + XFH.length + 2) * (noHost ? 2 : 1) +
    (upgrade ? UPGRADE_LINE.length : 0) + (tailEnd - tailStart);
  const out = Buffer.allocUnsafe(size);
  let at = copyKept(src, h, out, 0, skipUpgrade, trusted);
  if (noHost) {
    at += HOST.copy(out, at);
    at += src.copy(out, at, hs, he);
    out.writeUInt16LE(CRLF, at);
    at += 2;
  }
  if (xff === null) at += fwd.xffLines.copy(out, at);
  else at += out.write(xff, at, "latin1");
  if ((h.host >= 0 || noHost) && ownHost) {
    at += XFH.copy(out, at);
    at += src.copy(out, at, hs, he);
    out.writeUInt16LE(CRLF, at);
    at += 2;
  }
  if (upgrade) at += out.write(UPGRADE_LINE, at);
  out.writeUInt16LE(CRLF, at);
  at += 2;
  if (tail !== null) at += tail.copy(out, at, tailStart, tailEnd);
  // `size` is a bound, never exact: one byte of slack, and a Host line is shorter than an X-Forwarded-Host one.
  return out.subarray(0, at);
}

/** From a trusted proxy: its X-Forwarded-For lines merged, our address appended; our X-Forwarded-Proto unless it sent one. */
function forwardedFor(src: Buffer, h: Head, fwd: ForwardInfo): string {
  let v = "";
  for (let n = h.xff; n >= 0 && n < h.count; n++) {
    if (!equalsLower(src, h.spans[n << 2]!, h.spans[(n << 2) + 1]!, "x-forwarded-for")) continue;
    const s = src.toString("latin1", h.spans[(n << 2) + 2]!, h.spans[(n << 2) + 3]!);
    if (s.length > 0) v += v.length > 0 ? `, ${s}` : s;
  }
  const proto = h.xfp >= 0 ? "" : `X-Forwarded-Proto: ${fwd.proto}\r\n`;
  return `X-Forwarded-For: ${v.length > 0 ? `${v}, ` : ""}${fwd.ip}\r\n${proto}`;
}

/**
 * The response head as sent to the client: hop-by-hop lines removed (Upgrade kept only
 * on a 101), `extra` lines (already CRLF-terminated: `Connection: close`, a sticky
 * `Set-Cookie`, ...) appended, followed by body bytes from `tail`. Returns `src`'s own
 * bytes without copying when nothing changes.
 */
export function writeResponseHead(
  src: Buffer, h: Head, extra: string,
  tail: Buffer | null, tailStart: number, tailEnd: number,
): Buffer {
  const skipUpgrade = h.status !== 101 && h.upgrade >= 0;
  if (h.dropped === 0 && !skipUpgrade && extra.length === 0 && tail === src && tailStart === h.end) {
    return src.subarray(0, tailEnd);
  }
  const size = h.end + extra.length + (tailEnd - tailStart);
  const out = Buffer.allocUnsafe(size);
  let at = copyKept(src, h, out, 0, skipUpgrade, true);
  if (extra.length > 0) at += out.write(extra, at, "latin1"); // most responses have none: no native call for ""
  out.writeUInt16LE(CRLF, at);
  at += 2;
  if (tail !== null) at += tail.copy(out, at, tailStart, tailEnd);
  return at === size ? out : out.subarray(0, at);
}
