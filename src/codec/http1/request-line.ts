import { AUTHORITY, COLON, SP } from "./chars.ts";

/**
 * Request-line checks that keep our reading of a request line the same as llhttp's:
 * the method table and the absolute-form target. Allocation-free, used by
 * `parseRequest` on every request.
 *
 * @example
 * knownMethod(buf, 3);          // true for "GET ..."
 * absoluteFormPath(buf, 4);     // offset of the path in "GET http://a/x HTTP/1.1", or -1
 */

// The methods llhttp accepts in HTTP mode (Node's http.METHODS) minus CONNECT: a method
// one parser does not know is a message the two read differently, and CONNECT turns the
// rest of the connection into a tunnel. Upper case only: methods are case-sensitive.
const METHODS_BY_LENGTH: Uint8Array[][] = [];
for (const m of [
  "GET", "PUT", "ACL", "POST", "HEAD", "BIND", "COPY", "LINK", "LOCK", "MOVE", "PATCH", "TRACE", "MERGE", "MKCOL",
  "PURGE", "QUERY", "DELETE", "NOTIFY", "REBIND", "REPORT", "SEARCH", "SOURCE", "UNBIND", "UNLINK", "UNLOCK",
  "OPTIONS", "CHECKOUT", "M-SEARCH", "PROPFIND", "PROPPATCH", "SUBSCRIBE", "MKACTIVITY", "MKCALENDAR", "UNSUBSCRIBE",
]) {
  (METHODS_BY_LENGTH[m.length] ??= []).push(Buffer.from(m));
}

/**
 * True when `buf[0..len)` is one of the methods above.
 *
 * @example
 * knownMethod(Buffer.from("PATCH / HTTP/1.1"), 5); // true
 */
export function knownMethod(buf: Buffer, len: number): boolean {
  const list = METHODS_BY_LENGTH[len];
  if (list === undefined) return false;
  next: for (let j = 0; j < list.length; j++) {
    const m = list[j]!;
    for (let k = 0; k < len; k++) if (buf[k] !== m[k]) continue next;
    return true;
  }
  return false;
}

/**
 * An absolute-form target (RFC 9112 §3.2.2) starting at `i`: scheme "://" authority, then
 * "/", "?" or the end of the target. Returns the offset of that byte, or -1. The scheme is
 * letters only, as in llhttp (RFC 3986 would also allow digits, "+", "-" and "."); the
 * authority has no userinfo.
 *
 * @example
 * absoluteFormPath(Buffer.from("GET http://a/x HTTP/1.1"), 4); // 12, the "/" of "/x"
 */
export function absoluteFormPath(buf: Buffer, i: number): number {
  const s = i;
  for (let c = buf[i]! | 0x20; c >= 0x61 && c <= 0x7a; c = buf[i]! | 0x20) i++;
  if (i === s) return -1;
  if (buf[i] !== COLON || buf[i + 1] !== 0x2f || buf[i + 2] !== 0x2f) return -1;
  i += 3;
  const as = i;
  while (AUTHORITY[buf[i]!] === 1) i++;
  const e = buf[i];
  if (i === as || (e !== 0x2f && e !== 0x3f && e !== SP)) return -1;
  return i;
}
