// Backends from YAML for the selector's and the reload update's tests: the real config
// loader, and a wheel whose clock the test owns.
import type { RequestView } from "../core/balance/hash-key.ts";
import { loadConfig } from "../config/load.ts";
import type { BackendConfig, Config } from "../config/types.ts";
import { diffConfig, type BackendChange } from "../core/plan/diff.ts";
import type { Logger } from "../log.ts";
import { Backend } from "./backend.ts";
import { TimerWheel } from "./timer-wheel.ts";

export const T0 = 1_000_000;

/**
 * Backend `b`'s config: `extra` lines, then `servers` by name (`x!` a backup). A server's
 * address follows from its name, so two configs with the same name have the same server.
 *
 * @example
 * backendConfig("balance: round-robin", ["a", "b", "x!"]);
 */
export function backendConfig(extra: string, servers = ["a", "b", "c"]): BackendConfig {
  const yaml = `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] }
backends:
  b:
${extra.split("\n").filter(Boolean).map((l) => `    ${l}`).join("\n")}
    servers:
${servers.map((s) => `      - { name: ${s.replace("!", "")}, address: 127.0.0.1:${9000 + s.charCodeAt(0)}${s.endsWith("!") ? ", backup: true" : ""} }`).join("\n")}
`;
  const r = loadConfig(yaml, { env: {}, baseDir: "/" });
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return r.config.backends.b!;
}

/**
 * A backend on a wheel stopped at {@link T0}.
 *
 * @example
 * const { b } = backend("maxConn: 1", ["a", "b"]);
 */
export function backend(extra: string, servers = ["a", "b", "c"], log?: Logger, share = 1): { b: Backend; wheel: TimerWheel } {
  const wheel = new TimerWheel(100, 256, () => T0);
  return { b: new Backend(backendConfig(extra, servers), wheel, log, share), wheel };
}

/**
 * A request as the selector reads it.
 *
 * @example
 * view("10.0.0.1", { "x-user": "alice" });
 */
export function view(source = "10.0.0.1", headers: Record<string, string> = {}, target = "/"): RequestView {
  return { source, target, header: (name) => headers[name] };
}

/**
 * What a reload from `before` to `after` changes in the backend (the real diff), or
 * undefined when nothing.
 *
 * @example
 * b.update(backendChange(b.config, backendConfig("", ["a", "b", "d"]))!, T0);
 */
export function backendChange(before: BackendConfig, after: BackendConfig): BackendChange | undefined {
  const of = (c: BackendConfig) => ({ listeners: [], backends: { b: c } }) as unknown as Config;
  return diffConfig(of(before), of(after)).backends.changed[0];
}
