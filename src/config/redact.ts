import type { PathIssue, PathSegment } from "./issues.ts";
import { describe } from "./parse-result.ts";

/**
 * Keeps secrets out of config error messages, which go to stderr, to the gateway's log
 * when a reload is refused, and to `POST /api/reload` answers. A message about a secret
 * field (`admin.token`, any key named like token, secret or password) shows
 * `"<redacted>"` instead of the value; a Redis URL keeps its host and loses its
 * password (`redis://user:<redacted>@host:6379`).
 *
 * @example
 * redactIssues([{ path: ["admin", "token"], message: "expected a string, got 12345" }], { admin: { token: 12345 } });
 * // [{ path: ["admin", "token"], message: "expected a string, got <redacted>" }]
 */
export function redactIssues(issues: readonly PathIssue[], raw: unknown): PathIssue[] {
  return issues.map((issue) => {
    const value = valueAt(raw, issue.path);
    if (value === undefined || value === null || typeof value === "object") return issue;
    const last = issue.path[issue.path.length - 1];
    const isRedis = issue.path.length === 2 && issue.path[0] === "cluster" && last === "redis";
    if (!isRedis && !(typeof last === "string" && /token|secret|passw/i.test(last))) return issue;
    const shown = describe(value);
    if (shown.length === 0 || !issue.message.includes(shown)) return issue;
    const replacement = isRedis && typeof value === "string" ? JSON.stringify(withoutPassword(value)) : typeof value === "string" ? '"<redacted>"' : "<redacted>";
    return { path: issue.path, message: issue.message.split(shown).join(replacement) };
  });
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** The URL with its password (or, unparsable, everything before "@") replaced. */
function withoutPassword(url: string): string {
  const at = url.lastIndexOf("@");
  if (at < 0) return url;
  if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.password === "") return url;
    const scheme = url.slice(0, url.indexOf("//") + 2);
    return `${scheme}${u.username}:<redacted>@${url.slice(at + 1)}`;
  }
  return `<redacted>@${url.slice(at + 1)}`;
}
