import type { z } from "zod";
import type { ConfigIssue } from "./types.ts";
import { describe, didYouMean } from "./parse-result.ts";

/**
 * One step of a path into the config: a key or a list index.
 *
 * @example
 * const path: PathSegment[] = ["listeners", 0, "listen"];
 */
export type PathSegment = string | number;

/**
 * An issue before its path is formatted (kept as segments to sort by document position).
 *
 * @example
 * const issue: PathIssue = { path: ["workers"], message: 'expected "auto" or an integer >= 1, got 0' };
 */
export interface PathIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/**
 * Formats a path the way a reader looks things up: dots between keys, brackets for list
 * indices, and quotes for keys that are not plain words.
 *
 * @example
 * formatPath(["listeners", 0, "listen"]);            // "listeners[0].listen"
 * formatPath(["backends", "api", "health", "interval"]); // "backends.api.health.interval"
 * formatPath(["backends", "a b"]);                   // 'backends["a b"]'
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * Turns path issues into {@link ConfigIssue}s, dropping exact duplicates (a schema
 * transform and a cross-field check may both see a route with neither backend nor split).
 *
 * @example
 * toConfigIssues([{ path: ["workers"], message: "expected ..." }]); // [{ path: "workers", message: "expected ..." }]
 */
export function toConfigIssues(issues: readonly PathIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const i of issues) {
    const path = formatPath(i.path);
    const key = `${path}\n${i.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: i.message });
  }
  return out;
}

/**
 * One line per issue, `path: message` (just the message for the document root).
 *
 * @example
 * formatIssue({ path: "workers", message: "expected ..." }); // "workers: expected ..."
 */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

const segments = (path: readonly PropertyKey[]): PathSegment[] =>
  path.map((p) => (typeof p === "symbol" ? String(p) : p));

const noun = (expected: string): string =>
  expected === "object" || expected === "record"
    ? "a mapping"
    : expected === "array"
      ? "a list"
      : /^[aeiou]/.test(expected)
        ? `an ${expected}`
        : `a ${expected}`;

/**
 * Collects zod's issues as {@link PathIssue}s with our wording. Zod messages are only
 * needed for what zod itself checks (mapping vs list, unknown keys, the listener
 * `mode`); leaves carry their own messages from the parsers.
 *
 * @example
 * const collector = zodIssues();
 * const r = schema.safeParse(raw, { error: collector.errorMap });
 * if (!r.success) issues.push(...collector.collect(r.error.issues));
 */
export function zodIssues() {
  // Known keys of every strict object that met an unknown key, by path: zod gives the
  // schema to the error map only, and the suggestion needs it.
  const known = new Map<string, readonly string[]>();
  const errorMap = (iss: z.core.$ZodRawIssue): string | undefined => {
    const input: unknown = iss.input;
    switch (iss.code) {
      case "invalid_type":
        return input === undefined ? "required" : `expected ${noun(iss.expected)}, got ${describe(input)}`;
      case "unrecognized_keys": {
        const shape = (iss.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
        known.set(formatPath(segments(iss.path ?? [])), shape ? Object.keys(shape) : []);
        return "unknown key";
      }
      case "invalid_union": {
        if (!("discriminator" in iss) || typeof iss.discriminator !== "string") return undefined;
        const value = input !== null && typeof input === "object" ? (input as Record<string, unknown>)[iss.discriminator] : input;
        const options = (Array.isArray(iss.options) ? iss.options : []).map(String);
        if (value === undefined) return `required: ${options.join(" | ")}`;
        return `expected one of ${options.join(" | ")}, got ${describe(value)}${typeof value === "string" ? didYouMean(value, options) : ""}`;
      }
      case "invalid_key":
        return iss.issues[0]?.message;
      case "too_small":
        return `needs at least ${iss.minimum}`;
      default:
        return undefined;
    }
  };
  const collect = (issues: readonly z.core.$ZodIssue[]): PathIssue[] =>
    issues.flatMap((i): PathIssue[] => {
      const path = segments(i.path);
      if (i.code !== "unrecognized_keys") return [{ path, message: i.message }];
      const keys = known.get(formatPath(path)) ?? [];
      return i.keys.map((k) => ({ path: [...path, k], message: `unknown key${didYouMean(k, keys)}` }));
    });
  return { errorMap, collect };
}
