import { isMap, isScalar, isSeq, parse, type Document } from "yaml";
import type { PathIssue, PathSegment } from "./issues.ts";

/**
 * Environment variables, as in `process.env`.
 *
 * @example
 * const env: Env = { HOLDFAST_ADMIN_TOKEN: "s3cret" };
 */
export type Env = Readonly<Record<string, string | undefined>>;

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Expands `${VAR}` and `${VAR:-default}` (the default when VAR is unset or empty, as in
 * the shell) in one string; `$${` is a literal `${`. A default runs to the first `}` and
 * is not expanded itself, nor is a variable's value. `errors` lists every unset variable
 * and bad reference.
 * `whole` is true when the text was exactly one reference (see {@link interpolate}).
 *
 * @example
 * expand("redis://${HOST:-127.0.0.1}:6379", {}); // { value: "redis://127.0.0.1:6379", errors: [], whole: false }
 * expand("${TOKEN}", {});                        // { errors: ["environment variable TOKEN is not set"], ... }
 * expand("$${LITERAL}", {});                     // { value: "${LITERAL}", errors: [], whole: false }
 */
export function expand(text: string, env: Env): { value: string; errors: string[]; whole: boolean } {
  let value = "";
  const errors: string[] = [];
  let references = 0;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      value += "${";
      i += 3;
    } else if (text.startsWith("${", i)) {
      const close = text.indexOf("}", i + 2);
      if (close < 0) {
        errors.push('"${" without a closing "}" (write $${ for a literal ${)');
        break;
      }
      const inner = text.slice(i + 2, close);
      const m = REFERENCE.exec(inner);
      if (!m) {
        errors.push(`bad variable reference "\${${inner}}" (expected \${NAME} or \${NAME:-default})`);
      } else {
        const [, name, fallback] = m as unknown as [string, string, string | undefined];
        const set = env[name];
        if (fallback !== undefined) value += set === undefined || set === "" ? fallback : set;
        else if (set !== undefined) value += set;
        else errors.push(`environment variable ${name} is not set`);
      }
      references++;
      i = close + 1;
    } else {
      value += text[i];
      i++;
    }
  }
  const whole = references === 1 && /^\$\{[^}]*\}$/.test(text);
  return { value, errors, whole };
}

/**
 * Expands environment variables in every string value of a parsed YAML document, in
 * place, and reports problems with the path of the value. Keys are not expanded.
 *
 * A plain (unquoted) value that is exactly one reference is read again as YAML, so
 * `workers: ${WORKERS}` gives a number and `backup: ${BACKUP}` a boolean; quote it
 * (`"${WORKERS}"`) to keep a string. Only numbers and booleans come out of that
 * re-reading: a variable cannot inject structure into the config. A document that is a
 * single scalar is not expanded (it is not a config, whatever its variables hold).
 *
 * @example
 * const doc = parseDocument("admin:\n  token: ${TOKEN}\n");
 * interpolate(doc, {}); // { issues: [{ path: ["admin", "token"], message: "environment variable TOKEN is not set" }], failed: [["admin", "token"]] }
 */
export function interpolate(doc: Document, env: Env): { issues: PathIssue[]; failed: PathSegment[][] } {
  const issues: PathIssue[] = [];
  const failed: PathSegment[][] = [];
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        // A merge key (<<) adds its mapping's keys to this one: same path.
        walk(pair.value, typeof key === "symbol" ? path : [...path, String(key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("$")) {
      const r = expand(node.value, env);
      if (r.errors.length > 0) {
        for (const message of r.errors) issues.push({ path, message });
        failed.push(path);
        return;
      }
      node.value = r.whole && node.type === "PLAIN" ? retype(r.value) : r.value;
    }
    // Aliases are skipped: their anchor is expanded where it stands.
  };
  // A document that is one scalar is no config at all: left as written, so the loader
  // says "expected a mapping" instead of an error about a variable with no path.
  if (isMap(doc.contents) || isSeq(doc.contents)) walk(doc.contents, []);
  return { issues, failed };
}

function retype(text: string): unknown {
  try {
    const v: unknown = parse(text);
    return typeof v === "number" || typeof v === "boolean" ? v : text;
  } catch {
    return text;
  }
}
