import { parse } from "yaml";
import type { Env } from "../../config/interpolate.ts";
import { formatIssue } from "../../config/issues.ts";
import { loadHubConfigFile } from "./load.ts";

// Keys only a hub config has; a gateway config always has `listeners`.
const HUB_KEYS = ["listen", "node", "broker", "auth", "api", "allowedOrigins", "channels", "ping", "sendQueue", "limits", "presence"];

/**
 * Whether a config text is a hub's rather than a gateway's: a mapping without
 * `listeners` and with at least one key only the hub has. Text that does not parse is
 * not a hub's (the gateway loader reports the syntax error the same way).
 *
 * @example
 * isHubConfigText("auth: { anonymous: true }\n");   // true
 * isHubConfigText("listeners: []\nbackends: {}\n"); // false
 */
export function isHubConfigText(text: string): boolean {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: false, maxAliasCount: 100, logLevel: "silent" });
  } catch {
    return false;
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return false;
  const keys = Object.keys(doc);
  return !keys.includes("listeners") && keys.some((k) => HUB_KEYS.includes(k));
}

/**
 * `holdfast check -c hub.yaml`: a one-line summary on `out` (exit 0), or every problem
 * on `err`, one `path: message` per line (exit 1; 2 when the file cannot be read).
 *
 * @example
 * process.exitCode = runHubCheck("hub.yaml", process.stdout, process.stderr);
 * // ok: hub on 0.0.0.0:7000, memory broker, 2 channel rules, auth: jwt (secret)
 */
export function runHubCheck(file: string, out: { write(s: string): unknown }, err: { write(s: string): unknown }, env: Env = process.env): number {
  const r = loadHubConfigFile(file, env);
  if (!r.ok) {
    for (const issue of r.issues) err.write(`${formatIssue(issue)}\n`);
    return r.unreadable ? 2 : 1;
  }
  const c = r.config;
  const n = c.channels.length;
  const auth = [c.auth.jwt && `jwt (${c.auth.jwt.kind})`, c.auth.anonymous && "anonymous"].filter(Boolean).join(" + ");
  const host = c.listen.host.includes(":") ? `[${c.listen.host}]` : c.listen.host;
  out.write(`ok: hub on ${host}:${c.listen.port}, ${c.broker.type} broker, ${n} channel rule${n === 1 ? "" : "s"}, auth: ${auth}\n`);
  return 0;
}
