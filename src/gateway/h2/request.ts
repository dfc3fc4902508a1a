import { randomBytes } from "node:crypto";

/**
 * An HTTP/2 request made into an HTTP/1.1 request head, for a server that speaks
 * HTTP/1.1 (RFC 9113 §8.3 mapped onto RFC 9112). The downgrade is where request
 * smuggling lives (a header value with CR/LF becomes two headers, a `Transfer-Encoding`
 * or a length that disagrees with the DATA frames reframes the request for the server),
 * so anything HTTP/2 itself forbids is refused here, before the head is built, and the
 * head is then read again by the same strict HTTP/1.1 scanner as any client's:
 *
 * - connection-specific fields (`connection`, `keep-alive`, `proxy-connection`,
 *   `transfer-encoding`, `upgrade`; RFC 9113 §8.2.2), `te` other than `trailers`;
 * - a NUL, CR or LF anywhere in a name or value (§8.2.1), an upper-case name;
 * - unknown or repeated pseudo-headers, a `:path` that is not origin- or asterisk-form,
 *   `:authority` and `host` that disagree (§8.3.1);
 * - several or malformed `content-length`, or one with a request that has no body;
 * - `CONNECT` except the extended CONNECT of WebSocket (RFC 8441), which becomes an
 *   HTTP/1.1 upgrade with a `Sec-WebSocket-Key` of the gateway's own.
 *
 * A request body without `content-length` is sent chunked. `cookie` crumbs are joined
 * with `; ` (§8.2.3).
 *
 * @example
 * const r = new H1Request();
 * const error = toH1Request([":method", "GET", ":scheme", "https", ":authority", "a.example", ":path", "/x"], true, r);
 * if (error === null) send(r.head); // "GET /x HTTP/1.1\r\nhost: a.example\r\n...\r\n"
 */
export class H1Request {
  /** The HTTP/1.1 request head (ends with CRLFCRLF). */
  head: Buffer = EMPTY;
  /** Declared body length, -1 when none was declared. */
  contentLength = -1;
  /** The body is sent chunked (HTTP/2 had no content-length). */
  chunked = false;
  /** An extended CONNECT for WebSocket (RFC 8441). */
  websocket = false;
  /** The Sec-WebSocket-Key sent to the server (WebSocket only). */
  wsKey = "";
}

const EMPTY = Buffer.alloc(0);

/** Fields HTTP/2 forbids (connection-specific), lower case. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

// A lower-case token (RFC 9110 §5.6.2): HTTP/2 names are lower case (RFC 9113 §8.2.1).
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// What no value may hold in HTTP/2 (RFC 9113 §8.2.1): NUL, CR, LF.
const BAD_VALUE = /[\0\r\n]/;

/**
 * Fills `out` from the raw header list of an HTTP/2 request (`[name, value, ...]`, as
 * Node's `stream` event gives it) and whether HEADERS ended the stream. Returns why the
 * request is malformed (answered 400), or null.
 */
export function toH1Request(raw: readonly string[], endStream: boolean, out: H1Request): string | null {
  let method: string | undefined, scheme: string | undefined, authority: string | undefined, path: string | undefined, protocol: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  let lines = "";
  let regular = false;
  let contentLength = -1;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (BAD_VALUE.test(value)) return `a NUL, CR or LF in the value of ${name}`;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      switch (name) {
        case ":method":
          if (method !== undefined) return "repeated :method";
          method = value;
          break;
        case ":scheme":
          if (scheme !== undefined) return "repeated :scheme";
          scheme = value;
          break;
        case ":authority":
          if (authority !== undefined) return "repeated :authority";
          authority = value;
          break;
        case ":path":
          if (path !== undefined) return "repeated :path";
          path = value;
          break;
        case ":protocol":
          if (protocol !== undefined) return "repeated :protocol";
          protocol = value;
          break;
        default:
          return `unknown pseudo-header ${name}`;
      }
      continue;
    }
    regular = true;
    if (!NAME.test(name)) return `malformed field name ${JSON.stringify(name)}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name} in an HTTP/2 request`;
    switch (name) {
      case "te":
        if (value !== "trailers") return `te: ${value} (only "trailers" in HTTP/2)`;
        continue; // hop-by-hop: not forwarded
      case "host":
        if (host !== undefined) return "repeated host";
        host = value;
        continue;
      case "cookie":
        cookie = cookie === undefined ? value : `${cookie}; ${value}`;
        continue;
      case "content-length":
        if (contentLength >= 0) return "repeated content-length";
        if (!/^\d{1,15}$/.test(value)) return `malformed content-length ${JSON.stringify(value)}`;
        contentLength = Number(value);
        break;
    }
    lines += `${name}: ${value}\r\n`;
  }
  if (method === undefined) return "no :method";
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) return ":authority and host differ";
  const target = authority ?? host;
  if (target === undefined || target === "") return "no :authority or host";
  out.websocket = false;
  out.wsKey = "";
  out.chunked = false;
  out.contentLength = contentLength;
  let start: string;
  if (method === "CONNECT") {
    if (protocol !== "websocket") return protocol === undefined ? "CONNECT is not supported" : `extended CONNECT for ${protocol} is not supported`;
    if (path === undefined || path.charCodeAt(0) !== 0x2f) return "malformed :path";
    if (endStream) return "a WebSocket CONNECT that ends its stream";
    if (contentLength >= 0) return "content-length on a WebSocket CONNECT";
    out.websocket = true;
    out.wsKey = randomBytes(16).toString("base64");
    start = `GET ${path} HTTP/1.1\r\nhost: ${target}\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: ${out.wsKey}\r\n`;
  } else {
    if (protocol !== undefined) return ":protocol without CONNECT";
    if (scheme === undefined) return "no :scheme";
    if (path === undefined || !(path.charCodeAt(0) === 0x2f || (path === "*" && method === "OPTIONS"))) return "malformed :path";
    start = `${method} ${path} HTTP/1.1\r\nhost: ${target}\r\n`;
    if (endStream) {
      if (contentLength > 0) return "content-length with no DATA";
    } else if (contentLength < 0) {
      out.chunked = true;
      lines += "transfer-encoding: chunked\r\n";
    }
  }
  if (cookie !== undefined) lines += `cookie: ${cookie}\r\n`;
  out.head = Buffer.from(`${start}${lines}\r\n`, "latin1");
  return null;
}
