import { availableParallelism } from "node:os";
import { startAdmin, type AdminServer } from "../admin/server.ts";
import { formatIssue } from "../config/issues.ts";
import { loadConfigFile } from "../config/load.ts";
import { Gateway } from "../control/gateway.ts";
import { createLogger } from "../log.ts";
import { Primary, startPrimaryAdmin } from "../workers/primary.ts";
import { workerCount } from "../workers/protocol.ts";
import { reloadFromFile, type ReloadOutcome } from "../control/reload.ts";
import { stopSignals } from "./signals.ts";
import { ConfigWatch, defaultPidFile, tlsFiles, writePidFile } from "./lifecycle.ts";

export interface GatewayOptions {
  readonly pidFile?: string;
  readonly watch?: boolean;
}

/**
 * `holdfast gateway -c FILE`: validates the whole config first (a config that fails
 * validation never starts a half-configured gateway), then binds every listener, then
 * the admin server (dashboard, /metrics, /healthz, API) on `admin.listen`. An admin
 * address that cannot be bound stops the gateway: running without its health endpoint
 * and controls would be worse than not starting.
 *
 * Signals: SIGHUP reloads the file; SIGTERM/SIGINT stop gracefully (healthz 503 at once,
 * listeners close after `shutdown.delay`, requests finish, tunnels close with 1001
 * spread over the window, exit at `shutdown.timeout` at the latest); a second one exits
 * at once. A signal that arrives while starting stops the gateway as soon as it is up.
 */
export async function runGateway(file: string, opts: GatewayOptions = {}): Promise<number> {
  const stop = stopSignals("holdfast");
  let reloadRequested = false;
  const hup: { run: (() => void) | undefined } = { run: undefined };
  const hupHandler = () => {
    reloadRequested = true;
    hup.run?.();
  };
  process.on("SIGHUP", hupHandler);

  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    for (const i of loaded.issues) process.stderr.write(`${file}: ${formatIssue(i)}\n`);
    process.stderr.write(`holdfast: the config has ${loaded.issues.length} error(s); nothing was started\n`);
    return "unreadable" in loaded ? 2 : 1;
  }
  const log = createLogger("gateway");
  const workers = workerCount(loaded.config.workers, availableParallelism());
  let reload: () => Promise<ReloadOutcome>;
  let shutdown: () => Promise<void>;
  let admin: AdminServer;
  let listeners: { name: string; mode: string; address: string }[];
  if (workers > 1) {
    let primary: Primary;
    try {
      primary = await Primary.start(loaded.config, file, workers, log);
    } catch (err) {
      process.stderr.write(`holdfast: cannot start: ${(err as Error).message}\n`);
      return 1;
    }
    reload = () => primary.reload();
    shutdown = () => primary.shutdown();
    stop.force = () => primary.kill();
    listeners = primary.config.listeners.map((l) => ({ name: l.name, mode: l.mode, address: `${l.listen.host}:${l.listen.port}` }));
    try {
      admin = await startPrimaryAdmin(primary, log);
    } catch (err) {
      process.stderr.write(`holdfast: cannot start the admin server (admin.listen): ${(err as Error).message}\n`);
      await primary.shutdown();
      return 1;
    }
  } else {
    const gw = new Gateway(loaded.config, log);
    try {
      await gw.start();
    } catch (err) {
      process.stderr.write(`holdfast: cannot start: ${(err as Error).message}\n`);
      return 1;
    }
    listeners = loaded.config.listeners.map((l) => {
      const a = gw.address(l.name);
      return { name: l.name, mode: l.mode, address: `${a.address}:${a.port}` };
    });
    reload = () => reloadFromFile(gw, file, log);
    shutdown = () => gw.shutdown();
    const { listen, token } = loaded.config.admin;
    try {
      admin = await startAdmin(gw, { listen, token, reload }, log);
    } catch (err) {
      process.stderr.write(`holdfast: cannot start the admin server on ${listen.host}:${listen.port} (admin.listen): ${(err as Error).message}\n`);
      await gw.stop();
      return 1;
    }
  }
  // stdout on a full disk or a closed pipe (the access log goes there too) must not stop
  // the gateway: the stream's error is the end of these lines, not of the process.
  process.stdout.on("error", () => {});
  for (const l of listeners) process.stdout.write(`holdfast: listener ${l.name} (${l.mode}) listening on ${l.address}\n`);
  const token = loaded.config.admin.token;
  process.stdout.write(`holdfast: admin on ${admin.url} (dashboard, /metrics, /healthz, /api${token === undefined ? "; read-only: set admin.token to enable actions" : ""})\n`);
  if (workers > 1) process.stdout.write(`holdfast: ${workers} workers serve the listeners; this process is the control plane\n`);
  let watcher: ConfigWatch | undefined;
  const doReload = async () => {
    const r = await reload();
    if (r.ok) log.info({ summary: r.summary }, "reload");
    // --watch follows the TLS files of the config now serving.
    if (r.ok && watcher !== undefined) {
      const now = loadConfigFile(file);
      if (now.ok) watcher.also(tlsFiles(now.config));
    }
    return r;
  };
  const pidFile = opts.pidFile ?? defaultPidFile(file);
  const removePid = writePidFile(pidFile);
  process.stdout.write(`holdfast: pid ${process.pid} in ${pidFile} (holdfast reload -c ${file})\n`);
  hup.run = () => void doReload();
  if (reloadRequested) hup.run();
  if (opts.watch === true) {
    watcher = new ConfigWatch(file, () => void doReload());
    watcher.also(tlsFiles(loaded.config));
  }

  const sig = await stop.stopped;
  log.info({ signal: sig }, "stopping gracefully");
  watcher?.close();
  admin.setStopping();
  await shutdown();
  await admin.close();
  removePid();
  process.off("SIGHUP", hupHandler);
  return 0;
}
