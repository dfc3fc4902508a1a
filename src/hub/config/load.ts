import { dirname, isAbsolute, resolve } from "node:path";
import type { Env } from "../../config/interpolate.ts";
import type { ConfigIssue } from "../../config/types.ts";
import { loadYaml, readConfigText, type LoadOptions } from "../../config/load.ts";
import { hubCrossCheck } from "./checks.ts";
import { hubConfigSchema } from "./schema.ts";
import type { HubConfig } from "./types.ts";

/**
 * A loaded hub config, or every problem found (each with its path).
 *
 * @example
 * const r: HubLoadResult = loadHubConfig("auth: { anonymous: true }\n", { env: {}, baseDir: "." });
 */
export type HubLoadResult =
  | { readonly ok: true; readonly config: HubConfig }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[]; readonly unreadable?: true };

/**
 * Loads `hub.yaml` text with the gateway's pipeline (YAML, `${ENV}`, strict schema,
 * cross-field checks; every error with its path, in file order). A relative
 * `auth.jwt.publicKey` is resolved from `baseDir`.
 *
 * @example
 * const r = loadHubConfig(text, { env: process.env, baseDir: "/etc/holdfast" });
 * if (!r.ok) for (const i of r.issues) console.error(formatIssue(i));
 */
export function loadHubConfig(text: string, options: LoadOptions): HubLoadResult {
  const r = loadYaml(text, options, { schema: hubConfigSchema, crossCheck: hubCrossCheck });
  if (!r.ok) return r;
  const jwt = r.config.auth.jwt;
  if (jwt?.kind !== "publicKey" || isAbsolute(jwt.publicKey)) return r;
  return { ok: true, config: { ...r.config, auth: { ...r.config.auth, jwt: { ...jwt, publicKey: resolve(options.baseDir, jwt.publicKey) } } } };
}

/**
 * Reads and loads a hub config file (see {@link loadHubConfig}).
 *
 * @example
 * const r = loadHubConfigFile("hub.yaml");
 * if (!r.ok) process.exitCode = r.unreadable ? 2 : 1;
 */
export function loadHubConfigFile(path: string, env: Env = process.env): HubLoadResult {
  const text = readConfigText(path);
  if (typeof text !== "string") return text;
  return loadHubConfig(text, { env, baseDir: dirname(resolve(path)) });
}
