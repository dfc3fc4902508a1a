import { loadConfigFile } from "../config/load.ts";
import { Gateway } from "../gateway/gateway.ts";
import { createLogger } from "../log.ts";
import { untilSignal } from "./signals.ts";

/**
 * `holdfast gateway -c FILE`: validates the whole config first (a config that fails
 * validation never starts a half-configured gateway), then binds every listener.
 */
export async function runGateway(file: string): Promise<number> {
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    for (const i of loaded.issues) process.stderr.write(`${file}: ${i.path}: ${i.message}\n`);
    process.stderr.write(`holdfast: the config has ${loaded.issues.length} error(s); nothing was started\n`);
    return 1;
  }
  const log = createLogger("gateway");
  const gw = new Gateway(loaded.config, log);
  try {
    await gw.start();
  } catch (err) {
    process.stderr.write(`holdfast: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  for (const l of loaded.config.listeners) {
    const a = gw.address(l.name);
    process.stdout.write(`holdfast: listener ${l.name} (${l.mode}) listening on ${a.address}:${a.port}\n`);
  }
  const sig = await untilSignal();
  log.info({ signal: sig }, "stopping");
  await gw.stop();
  return 0;
}
