import type { HashKey } from "./types.ts";
import { describe, fail, ok, type Parsed } from "./parse-result.ts";

// RFC 9110 §5.6.2: token = 1*tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * True when `text` is an RFC 9110 token: the grammar of header, cookie and method names.
 *
 * @example
 * isToken("X-User"); // true
 * isToken("X User"); // false
 */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

// Kept in this folder on purpose: the config core must not depend on src/core/balance
// (the dependency rule runs the other way), so this small parser is the config's own.
/**
 * Parses a backend's `hashKey`: `source | path | header:NAME | cookie:NAME | query:NAME`,
 * NAME an RFC 9110 token. Header names are lower-cased (HTTP header names are
 * case-insensitive); cookie and query names are kept as written (they are not).
 *
 * @example
 * parseHashKey("header:X-User"); // { ok: true, value: { kind: "header", name: "x-user" } }
 * parseHashKey("source");        // { ok: true, value: { kind: "source" } }
 * parseHashKey("ip");            // { ok: false, message: 'expected source, path, header:NAME, ...' }
 */
export function parseHashKey(input: unknown): Parsed<HashKey> {
  const bad = () =>
    fail<HashKey>(`expected source, path, header:NAME, cookie:NAME or query:NAME, got ${describe(input)}`);
  if (input === "source" || input === "path") return ok({ kind: input });
  if (typeof input !== "string") return bad();
  const colon = input.indexOf(":");
  const kind = input.slice(0, colon);
  const name = input.slice(colon + 1);
  if (colon < 0 || !isToken(name)) return bad();
  if (kind === "header") return ok({ kind, name: name.toLowerCase() });
  if (kind === "cookie" || kind === "query") return ok({ kind, name });
  return bad();
}
