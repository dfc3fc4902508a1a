import type { HashKey } from "../../config/types.ts";

/**
 * Hash-key extraction for the hash policies (DESIGN §3 `hashKey`, §4 "Stickiness"). PURE:
 * no `node:*`. The proxy engines build a {@link RequestView} over whatever they parsed and
 * put the result in `PickContext.key`; `undefined` there means "fall back to round-robin".
 *
 * `readCookie` lives here rather than in `sticky/` because `balance` is the bottom layer
 * (`sticky → balance`, never the reverse); `sticky/cookie.ts` re-exports it.
 *
 * @example
 * const spec = parseHashKey("header:X-User"); // { kind: "header", name: "x-user" }
 * if (typeof spec === "string") throw new Error(spec);
 * const key = extractHashKey(spec, req); // "alice", or undefined when absent
 */

/**
 * The few request facts a hash key can read. L4 fills only `source` (and an empty
 * `target`, `header` always `undefined`); L7 fills all three.
 *
 * @example
 * const req: RequestView = {
 *   source: "203.0.113.7",
 *   target: "/chat?room=42",
 *   header: (name) => headers[name], // name arrives lower-cased
 * };
 */
export interface RequestView {
  /** Client address, as used for `source` stickiness (no port). */
  readonly source: string;
  /** Raw request-target: path and query (`/a/b?x=1`); absolute-form is tolerated. */
  readonly target: string;
  /**
   * The field value for a lower-cased header name, `undefined` when absent. Repeated
   * fields arrive joined the HTTP way (`, `), except `cookie`, which HTTP/2 may split into
   * several fields (RFC 9113 §8.2.3) and must be joined with `; `.
   */
  header(name: string): string | undefined;
}

const SIMPLE = {
  source: { kind: "source" },
  path: { kind: "path" },
} as const satisfies Record<string, HashKey>;

const EXPECTED = "expected source, path, header:NAME, cookie:NAME or query:NAME";

/**
 * True when `s` is a non-empty RFC 9110 §5.6.2 token (`tchar`s only). Header names and
 * RFC 6265 cookie names share this grammar.
 *
 * @example
 * isToken("X-User"); // true
 * isToken("bad name"); // false
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTchar(s.charCodeAt(i))) return false;
  }
  return true;
}

function isTchar(c: number): boolean {
  // ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x2a:
    case 0x2b: case 0x2d: case 0x2e: case 0x5e: case 0x5f: case 0x60: case 0x7c: case 0x7e:
      return true;
    default:
      return false;
  }
}

/**
 * Parses a `hashKey` spec from the config. Returns the {@link HashKey} or, for a malformed
 * spec, an error message for the loader to attach to the field's path. Header names are
 * lower-cased; cookie names stay as written (they are case-sensitive).
 *
 * @example
 * parseHashKey("cookie:session"); // { kind: "cookie", name: "session" }
 * parseHashKey("header:");        // 'header:NAME needs a name, e.g. "header:X-User"'
 */
export function parseHashKey(text: string): HashKey | string {
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const name = colon < 0 ? undefined : text.slice(colon + 1);
  switch (kind) {
    case "source":
    case "path":
      return name === undefined ? SIMPLE[kind] : `${kind} takes no name, got "${text}"`;
    case "header":
    case "cookie":
      if (name === undefined || name === "") return `${kind}:NAME needs a name, e.g. "${kind}:${kind === "header" ? "X-User" : "session"}"`;
      if (!isToken(name)) return `${kind}:NAME: "${name}" is not a valid ${kind} name (letters, digits and !#$%&'*+-.^_\`|~ only)`;
      return kind === "header" ? { kind, name: name.toLowerCase() } : { kind, name };
    case "query":
      if (name === undefined || name === "") return 'query:NAME needs a name, e.g. "query:user"';
      if (!isQueryName(name)) return `query:NAME: "${name}" is not a valid query parameter name (printable ASCII without &, =, # or spaces; percent-encode the rest)`;
      return { kind, name };
    default:
      return `${EXPECTED}, got "${text}"`;
  }
}

// The name is compared with the raw (still percent-encoded) query, so only characters
// that can appear there literally are accepted.
function isQueryName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x26 /* & */ || c === 0x3d /* = */ || c === 0x23 /* # */) return false;
  }
  return true;
}

/**
 * Extracts the hash key named by `spec` from a request. Missing or empty → `undefined`
 * (the caller falls back to round-robin and logs at debug: an empty key would send every
 * such client to one server).
 *
 * - `source`: the client address.
 * - `path`: the request-target without its query (absolute-form `http://h/p` gives `/p`).
 * - `query:NAME`: the first `NAME=` parameter's value. Decoded (`+` → space, then
 *   percent-escapes) only when it contains `+` or `%`, so the common case is one slice and
 *   `a%20b`, `a+b` hash alike; a malformed escape keeps the raw value rather than failing.
 * - `cookie:NAME`: via {@link readCookie} over the `cookie` header, value unquoted.
 * - `header:NAME`: the field value as given.
 *
 * @example
 * extractHashKey({ kind: "query", name: "room" }, { source: "::1", target: "/ws?room=42", header: () => undefined }); // "42"
 */
export function extractHashKey(spec: HashKey, req: RequestView): string | undefined {
  let v: string | undefined;
  switch (spec.kind) {
    case "source":
      v = req.source;
      break;
    case "path":
      v = pathOf(req.target);
      break;
    case "query":
      v = queryParam(req.target, spec.name);
      break;
    case "header":
      v = req.header(spec.name);
      break;
    case "cookie": {
      const h = req.header("cookie");
      v = h === undefined ? undefined : readCookie(h, spec.name);
      break;
    }
  }
  return v === "" ? undefined : v;
}

function pathOf(target: string): string {
  let start = 0;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    // absolute-form (RFC 9112 §3.2.2): skip scheme and authority
    const scheme = target.indexOf("://");
    if (scheme > 0) {
      const slash = target.indexOf("/", scheme + 3);
      if (slash < 0) return "/";
      start = slash;
    }
  }
  const q = target.indexOf("?", start);
  if (q < 0) return start === 0 ? target : target.slice(start);
  return target.slice(start, q);
}

function queryParam(target: string, name: string): string | undefined {
  const q = target.indexOf("?");
  if (q < 0) return undefined;
  const n = target.length;
  let i = q + 1;
  while (i <= n) {
    let end = target.indexOf("&", i);
    if (end < 0) end = n;
    if (target.startsWith(name, i)) {
      const after = i + name.length;
      if (after === end) return ""; // `?name&...`: present, no value
      if (target.charCodeAt(after) === 0x3d /* = */) return decodeQueryValue(target.slice(after + 1, end));
    }
    i = end + 1;
  }
  return undefined;
}

function decodeQueryValue(raw: string): string {
  if (raw.indexOf("%") < 0 && raw.indexOf("+") < 0) return raw;
  try {
    return decodeURIComponent(raw.replaceAll("+", " "));
  } catch {
    return raw; // malformed escape: a stable raw key beats no key
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Finds one cookie in a raw `Cookie:` header value (RFC 6265 §4.2: `a=1; b=2`) without
 * building a map. Tolerates missing or extra spaces around `;` and `=`, strips one pair of
 * double quotes, skips pairs without `=`. First occurrence wins (browsers send the
 * most specific path first). Linear in the header length whatever its shape. Returns `""`
 * for a present, empty cookie and `undefined` when absent. Names are case-sensitive.
 *
 * @example
 * readCookie('theme=dark; HF_SRV="AbC"', "HF_SRV"); // "AbC"
 * readCookie("theme=dark", "HF_SRV");               // undefined
 */
export function readCookie(cookieHeader: string, name: string): string | undefined {
  const n = cookieHeader.length;
  const len = name.length;
  if (len === 0) return undefined;
  let i = 0;
  // `eq` only moves forward so that pairs without `=` cannot make the scan quadratic.
  let eq = -1;
  while (i < n) {
    while (i < n && isWs(cookieHeader.charCodeAt(i))) i++;
    let end = cookieHeader.indexOf(";", i);
    if (end < 0) end = n;
    if (eq < i) {
      eq = cookieHeader.indexOf("=", i);
      if (eq < 0) return undefined; // no `=` anywhere after here: no more pairs
    }
    if (eq < end && cookieHeader.startsWith(name, i)) {
      let ne = i + len;
      while (ne < eq && isWs(cookieHeader.charCodeAt(ne))) ne++;
      if (ne === eq) {
        let vs = eq + 1;
        let ve = end;
        while (vs < ve && isWs(cookieHeader.charCodeAt(vs))) vs++;
        while (ve > vs && isWs(cookieHeader.charCodeAt(ve - 1))) ve--;
        if (ve - vs >= 2 && cookieHeader.charCodeAt(vs) === 0x22 && cookieHeader.charCodeAt(ve - 1) === 0x22) {
          vs++;
          ve--;
        }
        return cookieHeader.slice(vs, ve);
      }
    }
    i = end + 1;
  }
  return undefined;
}
