import type { HashKey } from "../../config/types.ts";
import { readCookie } from "../sticky/cookie.ts";

/**
 * Hash-key extraction for the hash policies (DESIGN §3 `hashKey`, §4 "Stickiness"). PURE:
 * no `node:*`. The proxy engines build a {@link RequestView} over whatever they parsed and
 * put the result in `PickContext.key`; `undefined` there means "fall back to round-robin".
 * The spec itself is parsed by the config loader (`config/hash-key.ts`).
 *
 * @example
 * const key = extractHashKey({ kind: "header", name: "x-user" }, req); // "alice", or undefined when absent
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
