import { HeadError, MAX_HEADERS, type HeadErrorCode } from "./head.ts";

/**
 * Test support: the request corpus shared by the unit table (`head.test.ts`), the
 * differential test against llhttp and the fuzzer's seeds. Strings are latin1: one
 * character per byte, so `\xe9` is the byte 0xE9.
 *
 * @example
 * for (const c of REFUSED) assert.equal(parseAll(bytes(c.raw)), c.code);
 */

export interface RequestCase {
  name: string;
  /** The client's bytes (latin1). */
  raw: string;
}

/** A request the scanner accepts, with what it must find. */
export interface ValidCase extends RequestCase {
  method: string;
  target: string;
  version: 10 | 11;
  /** Number of header lines. */
  count: number;
  contentLength?: number;
  chunked?: boolean;
}

/** A request the scanner refuses, with the code it must give. */
export interface RefusedCase extends RequestCase {
  code: HeadErrorCode;
}

/**
 * latin1 bytes of a corpus string.
 *
 * @example
 * bytes("caf\xe9").length; // 4
 */
export function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/**
 * A head from its lines: CRLF after each, then the empty line.
 *
 * @example
 * head("GET / HTTP/1.1", "Host: a"); // "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
 */
export function head(...lines: string[]): string {
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * `n` distinct filler header lines.
 *
 * @example
 * fillers(2); // ["X-H0: v0", "X-H1: v1"]
 */
export function fillers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `X-H${i}: v${i}`);
}

const H = "Host: example.com";

/** Methods llhttp knows, minus CONNECT (a tunnel, refused): the scanner accepts exactly these. */
export const METHODS = [
  "ACL", "BIND", "CHECKOUT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE", "MKACTIVITY",
  "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH", "PURGE", "PUT",
  "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK", "UNLOCK", "UNSUBSCRIBE",
];

const VCHAR = Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i)).join("");

export const VALID: ValidCase[] = [
  ...METHODS.map((m): ValidCase => ({ name: `method ${m}`, raw: head(`${m} / HTTP/1.1`, H), method: m, target: "/", version: 11, count: 1 })),
  { name: "origin-form with query", raw: head("GET /a/b?c=d&e=%20 HTTP/1.1", H), method: "GET", target: "/a/b?c=d&e=%20", version: 11, count: 1 },
  { name: "absolute-form", raw: head("GET http://example.com:8080/x?y HTTP/1.1", "Host: example.com:8080"), method: "GET", target: "http://example.com:8080/x?y", version: 11, count: 1 },
  { name: "absolute-form without a path", raw: head("GET http://example.com HTTP/1.1", H), method: "GET", target: "http://example.com", version: 11, count: 1 },
  { name: "absolute-form, upper-case scheme, query and fragment", raw: head("GET HTTPS://example.com:443?x#y HTTP/1.1", "Host: EXAMPLE.com:443"), method: "GET", target: "HTTPS://example.com:443?x#y", version: 11, count: 1 },
  { name: "absolute-form with an IP literal and sub-delims", raw: head("GET http://[::1]:8080/a;b=c HTTP/1.1", "Host: [::1]:8080"), method: "GET", target: "http://[::1]:8080/a;b=c", version: 11, count: 1 },
  { name: "asterisk-form", raw: head("OPTIONS * HTTP/1.1", H), method: "OPTIONS", target: "*", version: 11, count: 1 },
  { name: "absolute-form OPTIONS without a path", raw: head("OPTIONS http://example.com HTTP/1.1", H), method: "OPTIONS", target: "http://example.com", version: 11, count: 1 },
  { name: "absolute-form on HTTP/1.0 without Host", raw: head("GET http://example.com/x HTTP/1.0"), method: "GET", target: "http://example.com/x", version: 10, count: 0 },
  { name: "h2c upgrade (dropped: plain HTTP/1.1)", raw: head("GET / HTTP/1.1", H, "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"), method: "GET", target: "/", version: 11, count: 4 },
  { name: "every visible byte in the target", raw: head(`GET /${VCHAR} HTTP/1.1`, H), method: "GET", target: `/${VCHAR}`, version: 11, count: 1 },
  { name: "HTTP/1.0 without Host", raw: head("GET / HTTP/1.0"), method: "GET", target: "/", version: 10, count: 0 },
  { name: "HTTP/1.0 with keep-alive", raw: head("GET / HTTP/1.0", "Connection: keep-alive"), method: "GET", target: "/", version: 10, count: 1 },
  { name: "HTTP/1.0 with Host and a body", raw: `${head("POST / HTTP/1.0", H, "Content-Length: 2")}hi`, method: "POST", target: "/", version: 10, count: 2, contentLength: 2 },
  { name: "the most headers allowed", raw: head("GET / HTTP/1.1", H, ...fillers(MAX_HEADERS - 1)), method: "GET", target: "/", version: 11, count: MAX_HEADERS },
  { name: "obs-text in a value", raw: head("GET / HTTP/1.1", H, "X-Name: caf\xe9 \x80\xff"), method: "GET", target: "/", version: 11, count: 2 },
  { name: "every VCHAR in a value", raw: head("GET / HTTP/1.1", H, `X-V: ${VCHAR}`), method: "GET", target: "/", version: 11, count: 2 },
  { name: "every tchar in a name", raw: head("GET / HTTP/1.1", H, "!#$%&'*+-.^_`|~09AZaz: v"), method: "GET", target: "/", version: 11, count: 2 },
  { name: "empty values", raw: head("GET / HTTP/1.1", H, "X-Empty:", "X-Blank: \t "), method: "GET", target: "/", version: 11, count: 3 },
  { name: "OWS around a value", raw: head("GET / HTTP/1.1", H, "X-A:\t b c \t"), method: "GET", target: "/", version: 11, count: 2 },
  { name: "a tab inside a value", raw: head("GET / HTTP/1.1", H, "X-A: b\tc"), method: "GET", target: "/", version: 11, count: 2 },
  { name: "Content-Length body", raw: `${head("POST /p HTTP/1.1", H, "Content-Length: 3")}abc`, method: "POST", target: "/p", version: 11, count: 2, contentLength: 3 },
  { name: "Content-Length 0", raw: head("POST / HTTP/1.1", H, "Content-Length: 0"), method: "POST", target: "/", version: 11, count: 2, contentLength: 0 },
  { name: "Content-Length with leading zeros", raw: `${head("POST / HTTP/1.1", H, "Content-Length: 003")}abc`, method: "POST", target: "/", version: 11, count: 2, contentLength: 3 },
  { name: "Content-Length with OWS", raw: `${head("POST / HTTP/1.1", H, "Content-Length:  3 ")}abc`, method: "POST", target: "/", version: 11, count: 2, contentLength: 3 },
  { name: "Content-Length of 15 digits", raw: head("POST / HTTP/1.1", H, "Content-Length: 999999999999999"), method: "POST", target: "/", version: 11, count: 2, contentLength: 999999999999999 },
  { name: "identical Content-Lengths", raw: `${head("POST / HTTP/1.1", H, "Content-Length: 3", "content-length: 3")}abc`, method: "POST", target: "/", version: 11, count: 3, contentLength: 3 },
  { name: "chunked body", raw: `${head("POST / HTTP/1.1", H, "Transfer-Encoding: chunked")}3\r\nabc\r\n0\r\n\r\n`, method: "POST", target: "/", version: 11, count: 2, chunked: true },
  { name: "chunked in upper case", raw: `${head("POST / HTTP/1.1", H, "transfer-encoding: CHUNKED")}3\r\nabc\r\n0\r\n\r\n`, method: "POST", target: "/", version: 11, count: 2, chunked: true },
  { name: "chunked with OWS", raw: `${head("POST / HTTP/1.1", H, "Transfer-Encoding:\t chunked  ")}0\r\n\r\n`, method: "POST", target: "/", version: 11, count: 2, chunked: true },
  { name: "chunked with extensions and trailers", raw: `${head("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", "Trailer: X-T")}3;a=b;c="d e"\r\nabc\r\nA\r\n0123456789\r\n0;last\r\nX-T: 1\r\nX-U:\r\n\r\n`, method: "POST", target: "/", version: 11, count: 3, chunked: true },
  { name: "Host with a port", raw: head("GET / HTTP/1.1", "Host: example.com:8080"), method: "GET", target: "/", version: 11, count: 1 },
  { name: "Host as an IPv6 literal", raw: head("GET / HTTP/1.1", "Host: [::1]:8080"), method: "GET", target: "/", version: 11, count: 1 },
  { name: "Connection: close", raw: head("GET / HTTP/1.1", H, "Connection: close"), method: "GET", target: "/", version: 11, count: 2 },
  { name: "hop-by-hop lines", raw: head("GET / HTTP/1.1", H, "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "TE: trailers", "Connection: keep-alive, TE"), method: "GET", target: "/", version: 11, count: 5 },
  { name: "Connection-listed header", raw: head("GET / HTTP/1.1", H, "Connection: X-Private, close", "X-Private: 1", "X-Public: 2"), method: "GET", target: "/", version: 11, count: 4 },
  { name: "websocket upgrade", raw: head("GET /ws HTTP/1.1", H, "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), method: "GET", target: "/ws", version: 11, count: 5 },
  { name: "Upgrade without Connection: upgrade", raw: head("GET / HTTP/1.1", H, "Upgrade: h2c"), method: "GET", target: "/", version: 11, count: 2 },
  { name: "client X-Forwarded lines", raw: head("GET / HTTP/1.1", H, "X-Forwarded-For: 1.1.1.1", "X-Forwarded-Proto: https", "X-Forwarded-Host: evil", "x-forwarded-for: 2.2.2.2, 3.3.3.3"), method: "GET", target: "/", version: 11, count: 5 },
  { name: "a long method", raw: head("MKCALENDAR / HTTP/1.1", H), method: "MKCALENDAR", target: "/", version: 11, count: 1 },
];

const P = "POST / HTTP/1.1";

export const REFUSED: RefusedCase[] = [
  // request line
  { name: "unknown method", raw: head("FOO / HTTP/1.1", H), code: HeadError.BAD_METHOD },
  { name: "lower-case method", raw: head("get / HTTP/1.1", H), code: HeadError.BAD_METHOD },
  { name: "CONNECT", raw: head("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"), code: HeadError.BAD_METHOD },
  { name: "PRI (HTTP/2 preface)", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", code: HeadError.BAD_METHOD },
  { name: "method with a non-tchar", raw: head("G@T / HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "method with NUL", raw: head("GE\0T / HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "empty method", raw: head(" / HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "method longer than 32", raw: head(`${"A".repeat(33)} / HTTP/1.1`, H), code: HeadError.BAD_REQUEST_LINE },
  { name: "empty line before the request line", raw: `\r\n${head("GET / HTTP/1.1", H)}`, code: HeadError.BAD_REQUEST_LINE },
  { name: "double space after the method", raw: head("GET  / HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "double space after the target", raw: head("GET /  HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "tabs in the request line", raw: head("GET\t/\tHTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "tab after the target", raw: head("GET /a\tb HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "obs-text in the target", raw: head("GET /caf\xe9 HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "DEL in the target", raw: head("GET /a\x7f HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "NUL in the target", raw: head("GET /a\0b HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "bare CR in the target", raw: head("GET /a\rb HTTP/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "target not starting with / or a scheme", raw: head("GET x HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "target starting with ?", raw: head("GET ?a HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "asterisk with more", raw: head("OPTIONS *x HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "scheme with a digit first", raw: head("GET 1http://a/ HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "scheme with + and .", raw: head("GET a+b.c://a/ HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "scheme with one slash", raw: head("GET http:/a/ HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "absolute-form with an empty authority", raw: head("GET http:///x HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "absolute-form with userinfo", raw: head("GET http://user@example.com/ HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "absolute-form with a fragment right after the authority", raw: head("GET http://a#x HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "absolute-form with a brace in the authority", raw: head("GET http://a{b/ HTTP/1.1", H), code: HeadError.BAD_TARGET },
  { name: "missing version", raw: head("GET /", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "HTTP/1.1 with a trailing space", raw: head("GET / HTTP/1.1 ", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "lower-case http/1.1", raw: head("GET / http/1.1", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "HTTP/1.10", raw: head("GET / HTTP/1.10", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "HTTP/2.0", raw: head("GET / HTTP/2.0", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "HTTP/0.9 style", raw: head("GET / HTTP/0.9", H), code: HeadError.BAD_REQUEST_LINE },
  { name: "HTTP/1.2", raw: head("GET / HTTP/1.2", H), code: HeadError.BAD_VERSION },
  { name: "HTTP/1.9", raw: head("GET / HTTP/1.9", H), code: HeadError.BAD_VERSION },
  // line endings
  { name: "bare LF everywhere", raw: "GET / HTTP/1.1\nHost: a\n\n", code: HeadError.BARE_LF },
  { name: "bare LF after a header", raw: `GET / HTTP/1.1\r\n${H}\nX-A: b\r\n\r\n`, code: HeadError.BARE_LF },
  { name: "bare LF ending the head", raw: `GET / HTTP/1.1\r\n${H}\r\n\n`, code: HeadError.BARE_LF },
  { name: "bare CR in a value", raw: head("GET / HTTP/1.1", H, "X-A: b\rc"), code: HeadError.BAD_HEADER_VALUE },
  { name: "bare CR ending a value", raw: head("GET / HTTP/1.1", H, "X-A: b\r"), code: HeadError.BAD_HEADER_VALUE },
  { name: "bare CR in a name", raw: head("GET / HTTP/1.1", H, "X\rA: b"), code: HeadError.BAD_HEADER_NAME },
  { name: "bare CR as a line", raw: `GET / HTTP/1.1\r\n${H}\r\n\r\r\n\r\n`, code: HeadError.BAD_HEADER_NAME },
  // header names
  { name: "obs-fold", raw: head("GET / HTTP/1.1", H, "X-A: b", " c"), code: HeadError.OBS_FOLD },
  { name: "obs-fold with a tab", raw: head("GET / HTTP/1.1", H, "X-A: b", "\tc"), code: HeadError.OBS_FOLD },
  { name: "folded first line", raw: head("GET / HTTP/1.1", ` ${H}`), code: HeadError.OBS_FOLD },
  { name: "space before the colon", raw: head("GET / HTTP/1.1", H, "X-A : b"), code: HeadError.BAD_HEADER_NAME },
  { name: "tab before the colon", raw: head("GET / HTTP/1.1", H, "X-A\t: b"), code: HeadError.BAD_HEADER_NAME },
  { name: "empty header name", raw: head("GET / HTTP/1.1", H, ": b"), code: HeadError.BAD_HEADER_NAME },
  { name: "header line without a colon", raw: head("GET / HTTP/1.1", H, "X-A b"), code: HeadError.BAD_HEADER_NAME },
  { name: "high byte in a name", raw: head("GET / HTTP/1.1", H, "X-\xe9: b"), code: HeadError.BAD_HEADER_NAME },
  { name: "NUL in a name", raw: head("GET / HTTP/1.1", H, "X-\0A: b"), code: HeadError.BAD_HEADER_NAME },
  { name: "too many headers", raw: head("GET / HTTP/1.1", H, ...fillers(MAX_HEADERS)), code: HeadError.TOO_MANY_HEADERS },
  // header values
  { name: "NUL in a value", raw: head("GET / HTTP/1.1", H, "X-A: a\0b"), code: HeadError.BAD_HEADER_VALUE },
  { name: "SOH in a value", raw: head("GET / HTTP/1.1", H, "X-A: a\x01b"), code: HeadError.BAD_HEADER_VALUE },
  { name: "VT in a value", raw: head("GET / HTTP/1.1", H, "X-A: \x0bb"), code: HeadError.BAD_HEADER_VALUE },
  { name: "ESC in a value", raw: head("GET / HTTP/1.1", H, "X-A: \x1b[0m"), code: HeadError.BAD_HEADER_VALUE },
  { name: "DEL in a value", raw: head("GET / HTTP/1.1", H, "X-A: a\x7f"), code: HeadError.BAD_HEADER_VALUE },
  { name: "malformed Connection", raw: head("GET / HTTP/1.1", H, "Connection: close;x"), code: HeadError.BAD_HEADER_VALUE },
  // framing
  { name: "Content-Length and Transfer-Encoding", raw: `${head(P, H, "Content-Length: 3", "Transfer-Encoding: chunked")}0\r\n\r\n`, code: HeadError.LENGTH_AND_CHUNKED },
  { name: "Transfer-Encoding and Content-Length", raw: `${head(P, H, "Transfer-Encoding: chunked", "Content-Length: 3")}0\r\n\r\n`, code: HeadError.LENGTH_AND_CHUNKED },
  { name: "two different Content-Lengths", raw: `${head(P, H, "Content-Length: 3", "Content-Length: 4")}abcd`, code: HeadError.CONFLICTING_LENGTH },
  { name: "Content-Length with a plus", raw: `${head(P, H, "Content-Length: +3")}abc`, code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Content-Length with a minus", raw: head(P, H, "Content-Length: -3"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Content-Length with inner space", raw: head(P, H, "Content-Length: 1 2"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Content-Length list", raw: `${head(P, H, "Content-Length: 3, 3")}abc`, code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Content-Length list without space", raw: `${head(P, H, "Content-Length: 3,3")}abc`, code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Content-Length of 16 digits", raw: head(P, H, "Content-Length: 1000000000000000"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Content-Length overflowing 64 bits", raw: head(P, H, "Content-Length: 99999999999999999999"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "empty Content-Length", raw: head(P, H, "Content-Length:"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "hex Content-Length", raw: head(P, H, "Content-Length: 0x3"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "decimal-point Content-Length", raw: head(P, H, "Content-Length: 3.0"), code: HeadError.BAD_CONTENT_LENGTH },
  { name: "Transfer-Encoding xchunked", raw: head(P, H, "Transfer-Encoding: xchunked"), code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding chunked, identity", raw: `${head(P, H, "Transfer-Encoding: chunked, identity")}0\r\n\r\n`, code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding gzip, chunked", raw: `${head(P, H, "Transfer-Encoding: gzip, chunked")}0\r\n\r\n`, code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding identity", raw: head(P, H, "Transfer-Encoding: identity"), code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding twice", raw: `${head(P, H, "Transfer-Encoding: chunked", "Transfer-Encoding: chunked")}0\r\n\r\n`, code: HeadError.UNSUPPORTED_CODING },
  { name: "empty Transfer-Encoding", raw: head(P, H, "Transfer-Encoding:"), code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding with a parameter", raw: `${head(P, H, "Transfer-Encoding: chunked;q=1")}0\r\n\r\n`, code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding chunked with a trailing tab", raw: `${head(P, H, "Transfer-Encoding: chunked\t")}0\r\n\r\n`, code: HeadError.UNSUPPORTED_CODING },
  { name: "Transfer-Encoding on HTTP/1.0", raw: `${head("POST / HTTP/1.0", H, "Transfer-Encoding: chunked")}0\r\n\r\n`, code: HeadError.UNSUPPORTED_CODING },
  // Host
  { name: "missing Host", raw: head("GET / HTTP/1.1", "X-A: b"), code: HeadError.BAD_HOST },
  { name: "two Hosts", raw: head("GET / HTTP/1.1", "Host: a", "Host: b"), code: HeadError.BAD_HOST },
  { name: "two identical Hosts", raw: head("GET / HTTP/1.1", "Host: a", "host: a"), code: HeadError.BAD_HOST },
  { name: "empty Host", raw: head("GET / HTTP/1.1", "Host:"), code: HeadError.BAD_HOST },
  { name: "Host with a space", raw: head("GET / HTTP/1.1", "Host: a b"), code: HeadError.BAD_HOST },
  { name: "Host with userinfo", raw: head("GET / HTTP/1.1", "Host: user@evil.com"), code: HeadError.BAD_HOST },
  { name: "Host list", raw: head("GET / HTTP/1.1", "Host: a,b"), code: HeadError.BAD_HOST },
  { name: "Host with a path", raw: head("GET / HTTP/1.1", "Host: a/b"), code: HeadError.BAD_HOST },
  { name: "Host with a backslash", raw: head("GET / HTTP/1.1", "Host: a\\b"), code: HeadError.BAD_HOST },
  { name: "Host with a query", raw: head("GET / HTTP/1.1", "Host: a?b"), code: HeadError.BAD_HOST },
  { name: "Host with obs-text", raw: head("GET / HTTP/1.1", "Host: caf\xe9"), code: HeadError.BAD_HOST },
  { name: "missing Host with absolute-form", raw: head("GET http://a/ HTTP/1.1"), code: HeadError.BAD_HOST },
  { name: "absolute-form whose Host differs", raw: head("GET http://a.example/x HTTP/1.1", "Host: b.example"), code: HeadError.HOST_MISMATCH },
  { name: "absolute-form whose Host differs by port", raw: head("GET http://a.example:8080/x HTTP/1.1", "Host: a.example"), code: HeadError.HOST_MISMATCH },
  { name: "asterisk-form with GET", raw: head("GET * HTTP/1.1", H), code: HeadError.BAD_TARGET },
  // upgrade
  { name: "Upgrade with a Content-Length body", raw: `${head("POST / HTTP/1.1", H, "Upgrade: websocket", "Connection: Upgrade", "Content-Length: 2")}hi`, code: HeadError.BAD_UPGRADE },
  { name: "Upgrade with a chunked body", raw: `${head("POST / HTTP/1.1", H, "Upgrade: websocket", "Connection: Upgrade", "Transfer-Encoding: chunked")}0\r\n\r\n`, code: HeadError.BAD_UPGRADE },
  { name: "Upgrade on HTTP/1.0", raw: head("GET / HTTP/1.0", "Upgrade: websocket", "Connection: upgrade"), code: HeadError.BAD_UPGRADE },
];

const TE = "Transfer-Encoding: chunked";
const GET2 = "GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n";
const chunkedWith = (sizeLine: string, data = "abcde"): string => `${head(P, H, TE)}${sizeLine}\r\n${data}\r\n0\r\n\r\n`;

/**
 * Known request-smuggling vectors and parser-differential tricks (PortSwigger's CL.TE,
 * TE.CL and TE.TE families, chunk-size and request-line oddities). Whole client
 * streams: some carry a second request that only a confused parser would see.
 */
export const SMUGGLING: RequestCase[] = [
  { name: "CL.TE", raw: `${head(P, H, "Content-Length: 13", TE)}0\r\n\r\nSMUGGLED` },
  { name: "TE.CL", raw: `${head(P, H, TE, "Content-Length: 3")}8\r\nSMUGGLED\r\n0\r\n\r\n` },
  { name: "TE xchunked with CL", raw: `${head(P, H, "Content-Length: 4", "Transfer-Encoding: xchunked")}5c\r\n` },
  { name: "TE space before colon", raw: `${head(P, H, "Transfer-Encoding : chunked")}0\r\n\r\n` },
  { name: "TE space before colon with CL", raw: `${head(P, H, "Content-Length: 5", "Transfer-Encoding : chunked")}0\r\n\r\n` },
  { name: "TE tab before the value", raw: `${head(P, H, "Transfer-Encoding:\tchunked")}0\r\n\r\n` },
  { name: "TE chunked, identity", raw: `${head(P, H, "Transfer-Encoding: chunked, identity")}0\r\n\r\n` },
  { name: "TE identity, chunked", raw: `${head(P, H, "Transfer-Encoding: identity, chunked")}0\r\n\r\n` },
  { name: "TE vertical tab", raw: `${head(P, H, "Transfer-Encoding:\x0bchunked")}0\r\n\r\n` },
  { name: "TE form feed", raw: `${head(P, H, "Transfer-Encoding: \x0cchunked")}0\r\n\r\n` },
  { name: "TE NUL after chunked", raw: `${head(P, H, "Transfer-Encoding: chunked\0")}0\r\n\r\n` },
  { name: "TE duplicated", raw: `${head(P, H, TE, TE)}0\r\n\r\n` },
  { name: "TE chunked then x", raw: `${head(P, H, TE, "Transfer-Encoding: x")}0\r\n\r\n` },
  { name: "TE x then chunked", raw: `${head(P, H, "Transfer-Encoding: x", TE)}0\r\n\r\n` },
  { name: "TE obs-folded", raw: `${head(P, H, "Transfer-Encoding:", " chunked")}0\r\n\r\n` },
  { name: "TE quoted", raw: `${head(P, H, 'Transfer-Encoding: "chunked"')}0\r\n\r\n` },
  { name: "TE chunked with trailing comma", raw: `${head(P, H, "Transfer-Encoding: chunked,")}0\r\n\r\n` },
  { name: "TE underscore name", raw: `${head(P, H, "Transfer_Encoding: chunked")}0\r\n\r\n` },
  { name: "TE with high byte in name", raw: `${head(P, H, "Transfer-Encoding\xff: chunked")}0\r\n\r\n` },
  { name: "TE on HTTP/1.0 with CL", raw: `${head("POST / HTTP/1.0", H, TE, "Content-Length: 5")}0\r\n\r\n` },
  { name: "CL leading zeros", raw: `${head(P, H, "Content-Length: 0005")}abcde` },
  { name: "CL plus", raw: `${head(P, H, "Content-Length: +5")}abcde` },
  { name: "CL leading space", raw: `${head(P, H, "Content-Length:    5")}abcde` },
  { name: "CL trailing tab", raw: `${head(P, H, "Content-Length: 5\t")}abcde` },
  { name: "CL negative", raw: `${head(P, H, "Content-Length: -1")}abcde` },
  { name: "CL huge", raw: `${head(P, H, "Content-Length: 18446744073709551616")}abcde` },
  { name: "CL comma list", raw: `${head(P, H, "Content-Length: 5, 5")}abcde` },
  { name: "CL different duplicates", raw: `${head(P, H, "Content-Length: 5", "Content-Length: 6")}abcde!` },
  { name: "CL 0 then a smuggled GET", raw: `${head("GET / HTTP/1.1", H, "Content-Length: 0")}${GET2}` },
  { name: "CL body holding a request", raw: `${head(P, H, `Content-Length: ${GET2.length}`)}${GET2}` },
  { name: "CL on GET with a short body", raw: `${head("GET / HTTP/1.1", H, "Content-Length: 2")}ab${GET2}` },
  { name: "CL obs-folded", raw: `${head(P, H, "Content-Length:", " 5")}abcde` },
  { name: "CL space before colon", raw: `${head(P, H, "Content-Length : 5")}abcde` },
  { name: "chunk size 0x5", raw: chunkedWith("0x5") },
  { name: "chunk size with extension", raw: chunkedWith("5;ext") },
  { name: "chunk size with ext value", raw: chunkedWith("5;a=b;c=d") },
  { name: "chunk size with quoted ext", raw: chunkedWith('5;a="b c"') },
  { name: "chunk size with quoted-pair ext", raw: chunkedWith('5;a="b\\"c"') },
  { name: "chunk size with unterminated quote", raw: chunkedWith('5;a="b') },
  { name: "chunk ext with space", raw: chunkedWith("5;a b") },
  { name: "chunk ext with space before ;", raw: chunkedWith("5 ;a") },
  { name: "chunk ext with space after ;", raw: chunkedWith("5; a") },
  { name: "chunk ext with empty name", raw: chunkedWith("5;") },
  { name: "chunk ext with empty value", raw: chunkedWith("5;a=") },
  { name: "chunk ext with high byte", raw: chunkedWith("5;a=\xe9") },
  { name: "chunk ext with bare LF", raw: chunkedWith("5;a\nb") },
  { name: "chunk size with leading spaces", raw: chunkedWith("  5") },
  { name: "chunk size with trailing space", raw: chunkedWith("5 ") },
  { name: "chunk size with trailing tab", raw: chunkedWith("5\t") },
  { name: "chunk size negative", raw: chunkedWith("-5") },
  { name: "chunk size with plus", raw: chunkedWith("+5") },
  { name: "chunk size huge", raw: chunkedWith("fffffffffffffffff") },
  { name: "chunk size of 13 digits", raw: `${head(P, H, TE)}0000000000005\r\nabcde\r\n0\r\n\r\n` },
  { name: "chunk size of 14 digits", raw: `${head(P, H, TE)}00000000000005\r\nabcde\r\n0\r\n\r\n` },
  { name: "chunk size upper-case hex", raw: chunkedWith("A", "abcdefghij") },
  { name: "chunk size LF only", raw: `${head(P, H, TE)}5\nabcde\r\n0\r\n\r\n` },
  { name: "chunk data LF only", raw: `${head(P, H, TE)}5\r\nabcde\n0\r\n\r\n` },
  { name: "chunk data too long", raw: `${head(P, H, TE)}5\r\nabcdefg\r\n0\r\n\r\n` },
  { name: "chunk data missing CRLF", raw: `${head(P, H, TE)}5\r\nabcde0\r\n\r\n` },
  { name: "last chunk LF only", raw: `${head(P, H, TE)}0\n\r\n` },
  { name: "final CRLF LF only", raw: `${head(P, H, TE)}0\r\n\n` },
  { name: "chunked then a smuggled GET", raw: `${head(P, H, TE)}0\r\n\r\n${GET2}` },
  { name: "trailer", raw: `${head(P, H, TE)}0\r\nX-T: 1\r\n\r\n` },
  { name: "trailer without colon", raw: `${head(P, H, TE)}0\r\nX-T\r\n\r\n` },
  { name: "trailer space before colon", raw: `${head(P, H, TE)}0\r\nX-T : 1\r\n\r\n` },
  { name: "trailer obs-fold", raw: `${head(P, H, TE)}0\r\nX-T: 1\r\n 2\r\n\r\n` },
  { name: "trailer with NUL", raw: `${head(P, H, TE)}0\r\nX-T: \0\r\n\r\n` },
  { name: "trailer holding Content-Length", raw: `${head(P, H, TE)}0\r\nContent-Length: 50\r\n\r\n` },
  { name: "header name with high bytes", raw: head("GET / HTTP/1.1", H, "X-\xff\xfe: a") },
  { name: "header name with DEL", raw: head("GET / HTTP/1.1", H, "X-\x7f: a") },
  { name: "request line with tabs", raw: head("GET\t/\tHTTP/1.1", H) },
  { name: "request line double spaces", raw: head("GET  /  HTTP/1.1", H) },
  { name: "request line missing version", raw: head("GET /", H) },
  { name: "request line trailing space", raw: head("GET / HTTP/1.1 ", H) },
  { name: "request line lower-case version", raw: head("GET / http/1.1", H) },
  { name: "request line HTTP/1.1 with CR only", raw: `GET / HTTP/1.1\r${H}\r\n\r\n` },
  { name: "NUL in the request line", raw: head("GET /\0 HTTP/1.1", H) },
  { name: "NUL after the head", raw: `${head("GET / HTTP/1.1", H)}\0` },
  { name: "NUL in a header value", raw: head("GET / HTTP/1.1", H, "X-A: \0") },
  { name: "Host with spaces", raw: head("GET / HTTP/1.1", "Host: a b") },
  { name: "Host with @", raw: head("GET / HTTP/1.1", "Host: a@b") },
  { name: "Host with comma", raw: head("GET / HTTP/1.1", "Host: a, b") },
  { name: "Host duplicated", raw: head("GET / HTTP/1.1", "Host: a", "Host: b") },
  { name: "Host leading OWS", raw: head("GET / HTTP/1.1", "Host:   a") },
  { name: "absolute-form with another Host", raw: head("GET http://internal/ HTTP/1.1", "Host: public") },
  { name: "h2c upgrade then a request (h2csmuggler)", raw: `${head("GET / HTTP/1.1", H, "Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA")}${GET2}` },
  { name: "Connection lists Content-Length", raw: `${head(P, H, `Content-Length: ${GET2.length}`, "Connection: Content-Length")}${GET2}` },
  { name: "Connection lists Transfer-Encoding", raw: `${head(P, H, TE, "Connection: transfer-encoding")}${(GET2.length).toString(16)}\r\n${GET2}\r\n0\r\n\r\n` },
  { name: "Connection lists Host", raw: head("GET / HTTP/1.1", H, "Connection: host") },
  { name: "Connection lists X-Forwarded-For", raw: head("GET / HTTP/1.1", H, "X-Forwarded-For: 10.0.0.1", "Connection: x-forwarded-for") },
  { name: "empty Upgrade with Connection: upgrade", raw: `${head("POST / HTTP/1.1", H, "Upgrade:", "Connection: upgrade", "Content-Length: 5")}abcde` },
  { name: "blank Upgrade then a real one", raw: head("GET / HTTP/1.1", H, "Upgrade:  ", "Upgrade: websocket", "Connection: upgrade") },
  { name: "Proxy-Connection: close then a GET", raw: `${head("GET / HTTP/1.1", H, "Proxy-Connection: close")}${GET2}` },
  { name: "Proxy-Connection: upgrade", raw: `${head("GET / HTTP/1.1", H, "Upgrade: websocket", "Proxy-Connection: upgrade")}TUNNEL` },
  { name: "HTTP/1.0 Proxy-Connection: keep-alive pipelined", raw: `${head("GET / HTTP/1.0", "Proxy-Connection: keep-alive")}${GET2}` },
  { name: "two Upgrade lines", raw: head("GET / HTTP/1.1", H, "Upgrade: a", "Upgrade: b") },
  { name: "Upgrade on HTTP/1.0 then a GET", raw: `${head("GET / HTTP/1.0", "Upgrade: websocket", "Connection: upgrade, keep-alive")}${GET2}` },
  { name: "Upgrade with a body", raw: `${head("POST / HTTP/1.1", H, "Upgrade: websocket", "Connection: upgrade", "Content-Length: 5")}abcdeTUNNEL` },
  { name: "Upgrade with Content-Length: 0", raw: `${head("GET / HTTP/1.1", H, "Upgrade: websocket", "Connection: upgrade", "Content-Length: 0")}TUNNEL` },
  { name: "CONNECT then a GET", raw: `${head("CONNECT a:443 HTTP/1.1", "Host: a:443")}${GET2}` },
  { name: "empty line before a request", raw: `\r\n${head("GET / HTTP/1.1", H)}` },
  { name: "pipelined after a chunked body", raw: `${head(P, H, TE)}3\r\nabc\r\n0\r\n\r\n${GET2}` },
  { name: "HTTP/1.0 keep-alive pipelined", raw: `${head("GET / HTTP/1.0", "Connection: keep-alive")}${GET2}` },
  { name: "Connection: close then a GET", raw: `${head("GET / HTTP/1.1", H, "Connection: close")}${GET2}` },
  { name: "HEAD with a Content-Length body", raw: `${head("HEAD / HTTP/1.1", H, "Content-Length: 5")}abcde${GET2}` },
  { name: "Connection: closed is not close", raw: `${head("GET / HTTP/1.1", H, "Connection: closed")}${GET2}` },
  { name: "Connection: keep-alive,close", raw: `${head("GET / HTTP/1.1", H, "Connection: keep-alive,close")}${GET2}` },
  { name: "Connection: close in a second line", raw: `${head("GET / HTTP/1.1", H, "Connection: keep-alive", "Connection: close")}${GET2}` },
  { name: "Keep-Alive header alone on HTTP/1.0", raw: `${head("GET / HTTP/1.0", "Keep-Alive: timeout=5")}${GET2}` },
  { name: "Expect 100-continue with body", raw: `${head(P, H, "Expect: 100-continue", "Content-Length: 5")}abcde` },
  { name: "incomplete Content-Length body", raw: `${head(P, H, "Content-Length: 10")}abc` },
  { name: "incomplete chunked body", raw: `${head(P, H, TE)}5\r\nab` },
  { name: "incomplete head", raw: `GET / HTTP/1.1\r\n${H}\r\n` },
];

const OK = "HTTP/1.1 200 OK";
const CH = "Transfer-Encoding: chunked";

/** Responses, as a back end could send them (the differential test reads them with Node's client). */
export const RESPONSES: RequestCase[] = [
  { name: "Content-Length", raw: `${head(OK, "Content-Type: text/plain", "Content-Length: 5")}hello` },
  { name: "missing reason phrase", raw: `${head("HTTP/1.1 200", "Content-Length: 2")}ok` },
  { name: "empty reason phrase", raw: `${head("HTTP/1.1 200 ", "Content-Length: 2")}ok` },
  { name: "obs-text reason phrase", raw: `${head("HTTP/1.1 200 \xc7a va", "Content-Length: 2")}ok` },
  { name: "404 HTTP/1.0 until close", raw: `${head("HTTP/1.0 404 Not Found")}gone` },
  { name: "no framing: until close", raw: `${head(OK, "X-A: 1")}until close` },
  { name: "chunked", raw: `${head(OK, CH)}5\r\nhello\r\n0\r\n\r\n` },
  { name: "chunked with extensions and trailers", raw: `${head(OK, CH)}5;a=b;c="d"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n` },
  { name: "gzip, chunked", raw: `${head(OK, "Transfer-Encoding: gzip, chunked")}2\r\nok\r\n0\r\n\r\n` },
  { name: "gzip,chunked", raw: `${head(OK, "Transfer-Encoding: gzip,chunked")}2\r\nok\r\n0\r\n\r\n` },
  { name: "gzip then chunked lines", raw: `${head(OK, "Transfer-Encoding: gzip", CH)}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked, gzip: until close", raw: `${head(OK, "Transfer-Encoding: chunked, gzip")}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked then gzip lines: until close", raw: `${head(OK, CH, "Transfer-Encoding: gzip")}2\r\nok\r\n0\r\n\r\n` },
  { name: "identity: until close", raw: `${head(OK, "Transfer-Encoding: identity")}ok` },
  { name: "chunked twice", raw: `${head(OK, CH, CH)}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked with trailing spaces", raw: `${head(OK, "Transfer-Encoding: chunked  ")}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked with a trailing tab", raw: `${head(OK, "Transfer-Encoding: chunked\t")}2\r\nok\r\n0\r\n\r\n` },
  { name: "empty Transfer-Encoding", raw: `${head(OK, "Transfer-Encoding:")}ok` },
  { name: "Transfer-Encoding of commas", raw: `${head(OK, "Transfer-Encoding: , ,")}ok` },
  { name: "Transfer-Encoding of spaces", raw: `${head(OK, "Transfer-Encoding:   ")}ok` },
  { name: "chunked with a trailing comma", raw: `${head(OK, "Transfer-Encoding: chunked,")}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked after a leading comma", raw: `${head(OK, "Transfer-Encoding: ,chunked")}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked with a parameter", raw: `${head(OK, "Transfer-Encoding: chunked;q=1")}2\r\nok\r\n0\r\n\r\n` },
  { name: "xchunked", raw: `${head(OK, "Transfer-Encoding: xchunked")}2\r\nok\r\n0\r\n\r\n` },
  { name: "chunked in HTTP/1.0", raw: `${head("HTTP/1.0 200 OK", CH)}2\r\nok\r\n0\r\n\r\n` },
  { name: "Content-Length and chunked", raw: `${head(OK, "Content-Length: 2", CH)}2\r\nok\r\n0\r\n\r\n` },
  { name: "gzip coding and Content-Length", raw: `${head(OK, "Transfer-Encoding: gzip", "Content-Length: 2")}ok` },
  { name: "identical Content-Lengths", raw: `${head(OK, "Content-Length: 2", "Content-Length: 2")}ok` },
  { name: "different Content-Lengths", raw: `${head(OK, "Content-Length: 2", "Content-Length: 3")}ok!` },
  { name: "Content-Length with a plus", raw: `${head(OK, "Content-Length: +2")}ok` },
  { name: "Content-Length list", raw: `${head(OK, "Content-Length: 2, 2")}ok` },
  { name: "Content-Length with leading zeros", raw: `${head(OK, "Content-Length: 002")}ok` },
  { name: "Content-Length with OWS", raw: `${head(OK, "Content-Length:\t2 ")}ok` },
  { name: "Content-Length too short for the bytes", raw: `${head(OK, "Content-Length: 5")}ab` },
  { name: "bad chunk size", raw: `${head(OK, CH)}zz\r\nok\r\n0\r\n\r\n` },
  { name: "chunk size with a space", raw: `${head(OK, CH)}2 \r\nok\r\n0\r\n\r\n` },
  { name: "Content-Length trailer", raw: `${head(OK, CH)}2\r\nok\r\n0\r\nContent-Length: 9\r\n\r\n` },
  { name: "204 with Content-Length", raw: head("HTTP/1.1 204 No Content", "Content-Length: 0") },
  { name: "304", raw: head("HTTP/1.1 304 Not Modified", "ETag: x") },
  { name: "100 Continue then 200", raw: `${head("HTTP/1.1 100 Continue")}${head(OK, "Content-Length: 2")}ok` },
  { name: "103 Early Hints then 200", raw: `${head("HTTP/1.1 103 Early Hints", "Link: </a>")}${head(OK, "Content-Length: 2")}ok` },
  { name: "103 closing the connection then 200", raw: `${head("HTTP/1.1 103 Early Hints", "Connection: close")}${head(OK, "Content-Length: 2")}ok` },
  { name: "HTTP/1.0 103 then 200", raw: `${head("HTTP/1.0 103 Early Hints")}${head(OK, "Content-Length: 2")}ok` },
  { name: "HTTP/1.0 100 keep-alive then 200", raw: `${head("HTTP/1.0 100 Continue", "Connection: keep-alive")}${head(OK, "Content-Length: 2")}ok` },
  { name: "100 with a body length then 200", raw: `${head("HTTP/1.1 100 Continue", "Content-Length: 5")}${head(OK, "Content-Length: 2")}ok` },
  { name: "status 599", raw: `${head("HTTP/1.1 599 x", "Content-Length: 2")}ok` },
  { name: "status 600", raw: `${head("HTTP/1.1 600 x", "Content-Length: 2")}ok` },
  { name: "status 099", raw: `${head("HTTP/1.1 099 x", "Content-Length: 2")}ok` },
  { name: "four-digit status", raw: `${head("HTTP/1.1 2000 x", "Content-Length: 2")}ok` },
  { name: "tab after the status", raw: `${head("HTTP/1.1 200\tOK", "Content-Length: 2")}ok` },
  { name: "CTL in the reason phrase", raw: `${head("HTTP/1.1 200 O\x01K", "Content-Length: 2")}ok` },
  { name: "HTTP/1.2", raw: `${head("HTTP/1.2 200 OK", "Content-Length: 2")}ok` },
  { name: "HTTP/2", raw: `${head("HTTP/2 200 OK", "Content-Length: 2")}ok` },
  { name: "lower-case version", raw: `${head("http/1.1 200 OK", "Content-Length: 2")}ok` },
  { name: "obs-fold", raw: `${head(OK, "X-A: 1", " 2", "Content-Length: 2")}ok` },
  { name: "space before the colon", raw: `${head(OK, "X-A : 1", "Content-Length: 2")}ok` },
  { name: "CTL in a value", raw: `${head(OK, "X-A: a\x01b", "Content-Length: 2")}ok` },
  { name: "bare LF", raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok" },
  { name: "hop-by-hop lines", raw: `${head(OK, "Connection: keep-alive, X-Hop", "Keep-Alive: timeout=5", "X-Hop: 1", "Content-Length: 2")}ok` },
  { name: "Connection lists Content-Length", raw: `${head(OK, "Content-Length: 2", "Connection: content-length")}ok` },
  { name: "Upgrade on a 200", raw: `${head(OK, "Upgrade: h2c", "Content-Length: 2")}ok` },
  { name: "duplicate Host and Set-Cookie", raw: `${head(OK, "Set-Cookie: a=1", "Set-Cookie: b=2", "Host: a", "Host: b", "Content-Length: 2")}ok` },
];
