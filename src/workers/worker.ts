import { Gateway } from "../control/gateway.ts";
import { createLogger } from "../log.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { takeSnapshot } from "./snapshot.ts";

/**
 * A data-plane worker: serves the listeners (each worker binds its own socket with
 * SO_REUSEPORT, so the kernel spreads connections), applies what the primary pushes
 * (health records, admin actions, reloads) and reports a snapshot every second.
 * Passive outlier detection, `maxConn` and the source sticky table stay per worker;
 * admission buckets get `rate/N` each.
 *
 * @example
 * // the primary forks it: cluster.fork() with HOLDFAST_WORKER=1
 * await runWorker();
 */
export async function runWorker(): Promise<void> {
  const log = createLogger(`worker-${process.env.HOLDFAST_WORKER_ID ?? "?"}`);
  const send = (m: FromWorker) => process.send?.(m);
  let gw: Gateway | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  // The primary handles signals for the whole group; a worker leaves only when told.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => {});
  process.on("SIGHUP", () => {});
  process.on("disconnect", () => process.exit(0));
  process.on("message", (m: ToWorker) => {
    void (async () => {
      switch (m.t) {
        case "start": {
          gw = new Gateway(m.config, log, { reusePort: true, activeChecks: false, share: 1 / m.workers, ticketSecret: Buffer.from(m.ticketSecret, "hex") });
          try {
            await gw.start();
            send({ t: "ready" });
            timer = setInterval(() => send({ t: "snapshot", data: takeSnapshot(gw!.data) }), 1000);
            timer.unref();
          } catch (err) {
            send({ t: "failed", message: (err as Error).message });
            process.exit(1);
          }
          break;
        }
        case "health":
          // Both clocks are performance.now(): shift by the difference of their origins.
          gw?.applyHealth(m.backend, m.server, m.record, performance.timeOrigin - m.timeOrigin);
          break;
        case "action":
          gw?.serverAction(m.backend, m.server, m.action, m.weight);
          break;
        case "reload":
          try {
            await gw?.reload(m.config);
            send({ t: "reloaded", ok: true });
          } catch (err) {
            send({ t: "reloaded", ok: false, message: (err as Error).message });
          }
          break;
        case "shutdown":
          if (timer !== undefined) clearInterval(timer);
          await gw?.shutdown();
          process.exit(0);
      }
    })();
  });
}
