import { startAdmin } from "../admin/server.ts";
import { loadConfigFile } from "../config/load.ts";
import { Gateway } from "../gateway/gateway.ts";
import { createLogger } from "../log.ts";
import { untilSignal } from "./signals.ts";

/**
 * `holdfast gateway -c FILE`: validates the whole config first (a config that fails
 * validation never starts a half-configured gateway), then binds every listener, then
 * the admin server (dashboard, /metrics, /healthz, API) on `admin.listen`. An admin
 * address that cannot be bound stops the gateway: running without its health endpoint
 * and controls would be worse than not starting.
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
  const { listen, token } = loaded.config.admin;
  let admin;
  try {
    admin = await startAdmin(gw, { listen, token }, log);
  } catch (err) {
    process.stderr.write(`holdfast: cannot start the admin server on ${listen.host}:${listen.port} (admin.listen): ${(err as Error).message}\n`);
    await gw.stop();
    return 1;
  }
  process.stdout.write(`holdfast: admin on ${admin.url} (dashboard, /metrics, /healthz, /api${token === undefined ? "; read-only: set admin.token to enable actions" : ""})\n`);
  const sig = await untilSignal();
  log.info({ signal: sig }, "stopping");
  admin.setStopping();
  await gw.stop();
  await admin.close();
  return 0;
}
