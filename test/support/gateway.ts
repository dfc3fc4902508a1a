// An in-process gateway built from YAML through the real config loader.
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { on, type TypedChannel } from "../../src/gateway/diagnostics.ts";
import type { Logger } from "../../src/log.ts";

export interface TestGateway {
  readonly gw: Gateway;
  port(listener?: string): number;
  close(): Promise<void>;
  /**
   * `on(ch, fn)` (diagnostics.ts) for this gateway's messages only: the channels are
   * process-wide, and another test's gateway (one still closing, or one beside it in a
   * file whose tests run together) publishes on them too. Returns the unsubscribe.
   */
  on<T extends { readonly plane: object }>(ch: TypedChannel<T>, fn: (message: T) => void): () => void;
}

/**
 * Loads `yaml` with the real loader (failing the test with every issue) and starts it,
 * logging to `log` when given (none by default).
 */
export async function startGateway(yaml: string, log?: Logger): Promise<TestGateway> {
  const loaded = loadConfig(yaml, { env: {}, baseDir: process.cwd() });
  if (!loaded.ok) throw new Error(`test config invalid:\n${loaded.issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  const gw = new Gateway(loaded.config, log);
  await gw.start();
  return {
    gw,
    port: (listener = "web") => gw.address(listener).port,
    close: () => gw.stop(),
    on: (ch, fn) => on(ch, (m) => void (m.plane === gw.data && fn(m))),
  };
}

/** The usual single-backend YAML: one http listener on port 0 in front of `servers`. */
export function simpleConfig(servers: { name: string; port: number }[], backendExtra = "", listenerExtra = ""): string {
  return `
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    routes: [ { backend: b } ]
${listenerExtra}
backends:
  b:
${backendExtra}
    servers:
${servers.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;
}

