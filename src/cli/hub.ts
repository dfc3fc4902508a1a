import { formatIssue } from "../config/issues.ts";
import { Hub } from "../hub/hub.ts";
import { loadHubConfigFile } from "../hub/config/load.ts";
import { createLogger } from "../log.ts";
import { stopSignals } from "./signals.ts";

/**
 * `holdfast hub -c hub.yaml`: validates the whole config (nothing starts on an invalid
 * one), starts the broker, binds `listen` and `admin.listen`, and runs until SIGTERM or
 * SIGINT: then the graceful stop (`/healthz` 503, clients closed with `1012` +
 * `retry-after` spread over `shutdown.spread`); a second signal exits at once.
 *
 * @example
 * process.exitCode = await runHub("hub.yaml");
 */
export async function runHub(file: string): Promise<number> {
  const stop = stopSignals("holdfast hub");

  const loaded = loadHubConfigFile(file);
  if (!loaded.ok) {
    for (const i of loaded.issues) process.stderr.write(`${file}: ${formatIssue(i)}\n`);
    process.stderr.write(`holdfast hub: the config has ${loaded.issues.length} error(s); nothing was started\n`);
    return loaded.unreadable ? 2 : 1;
  }
  const hub = new Hub(loaded.config, { log: createLogger("hub") });
  try {
    await hub.start();
  } catch (err) {
    process.stderr.write(`holdfast hub: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  const c = loaded.config;
  const ws = hub.url.replace(/^http/, "ws");
  process.stdout.write(`holdfast hub: node ${hub.name} listening on ${hub.url} (WebSocket ${ws}/connect, SSE ${hub.url}/sse, API ${hub.url}/api/*), ${c.broker.type} broker\n`);
  if (hub.adminUrl !== undefined) process.stdout.write(`holdfast hub: admin on ${hub.adminUrl} (dashboard, /metrics, /healthz)\n`);
  const sig = await stop.stopped;
  hub.log.info({ signal: sig, spread: c.shutdown.spread }, "stopping gracefully");
  await hub.stop();
  return 0;
}
