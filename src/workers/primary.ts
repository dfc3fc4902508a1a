import cluster, { type Worker } from "node:cluster";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { startAdmin, type AdminServer } from "../admin/server.ts";
import { reloadSummary, type ReloadOutcome } from "../control/reload.ts";
import { formatIssue } from "../config/issues.ts";
import { loadConfigFile } from "../config/load.ts";
import type { BackendConfig, Config, ListenerConfig } from "../config/types.ts";
import { randomBytes } from "node:crypto";
import { ControlPlane } from "../control/plane.ts";
import { events, on } from "../gateway/diagnostics.ts";
import type { Logger } from "../log.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { applySnapshots, type Snapshot } from "./snapshot.ts";

/**
 * The primary of `workers: N` (DESIGN §2): the control plane without a data plane. It
 * validates the config, runs the active health checks and the admin server, and forks
 * N data-plane workers, to which it pushes health records and admin actions (it
 * subscribes to their events) and reloads. Workers report a snapshot every second; the
 * control plane's servers hold their sums, so the dashboard and `/metrics` show one
 * gateway. A worker that dies is replaced.
 *
 * @example
 * const p = await Primary.start(config, file, 2, log);
 * await p.reload(); await p.shutdown();
 */
export class Primary {
  readonly control: ControlPlane;
  #config: Config;
  readonly #file: string;
  readonly #log: Logger;
  readonly #workers = new Map<number, { worker: Worker; snapshot: Snapshot | undefined; ready: boolean }>();
  #stopping = false;
  #workerCount = 1;
  /** One secret for the TLS session tickets of every worker (a restarted worker gets the same). */
  readonly #ticketSecret = randomBytes(32).toString("hex");
  #timer: ReturnType<typeof setInterval> | undefined;
  #reloadWaiters = new Map<number, (r: { ok: boolean; message?: string }) => void>();
  #unsubscribe: (() => void)[] = [];

  private constructor(config: Config, file: string, log: Logger) {
    this.#config = config;
    this.#file = file;
    this.#log = log;
    this.control = new ControlPlane(config, log, null);
  }

  static async start(config: Config, file: string, count: number, log: Logger): Promise<Primary> {
    const p = new Primary(await resolvePorts(config, undefined), file, log);
    const control = p.control;
    control.start();
    p.#unsubscribe = [
      on(events.healthChecked, ({ backend: b, server: s }) => {
        if (control.backends.get(b.name) === b) p.#broadcast({ t: "health", backend: b.name, server: s.name, record: s.health, timeOrigin: performance.timeOrigin });
      }),
      on(events.adminAction, (m) => {
        if (m.control === control) p.#broadcast({ t: "action", backend: m.backend, server: m.server, action: m.action, weight: m.weight });
      }),
    ];
    p.#workerCount = count;
    const entry = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./entry.ts" : "./entry.js", import.meta.url));
    // Same young-generation cap as bin/holdfast.js's shebang (memory per idle tunnel).
    const execArgv = process.execArgv.some((a) => a.startsWith("--max-semi-space-size")) ? process.execArgv : [...process.execArgv, "--max-semi-space-size=2"];
    cluster.setupPrimary({ exec: entry, args: [], silent: false, execArgv });
    await Promise.all(Array.from({ length: count }, (_, i) => p.#fork(i)));
    p.#timer = setInterval(() => applySnapshots(p.control, [...p.#workers.values()].flatMap((w) => (w.snapshot === undefined ? [] : [w.snapshot]))), 1000);
    p.#timer.unref();
    return p;
  }

  get config(): Config {
    return this.#config;
  }

  #fork(id: number): Promise<void> {
    const worker = cluster.fork({ HOLDFAST_WORKER_ID: String(id) });
    const entry = { worker, snapshot: undefined as Snapshot | undefined, ready: false };
    this.#workers.set(id, entry);
    return new Promise((resolve, reject) => {
      worker.on("message", (m: FromWorker) => {
        if (m.t === "ready") {
          entry.ready = true;
          resolve();
        } else if (m.t === "failed") reject(new Error(`worker ${id}: ${m.message}`));
        else if (m.t === "snapshot") entry.snapshot = m.data;
        else if (m.t === "reloaded") this.#reloadWaiters.get(id)?.(m);
      });
      worker.on("exit", (code, signal) => {
        this.#workers.delete(id);
        if (!entry.ready) return reject(new Error(`worker ${id} exited while starting (${signal ?? code})`));
        if (this.#stopping) return;
        this.#log.error({ worker: id, code, signal }, "worker died: starting a new one");
        setTimeout(() => void this.#fork(id).catch((err) => this.#log.error({ err: (err as Error).message }, "worker restart failed")), 500).unref();
      });
      worker.send({ t: "start", config: this.#config, workers: this.#workerCount, ticketSecret: this.#ticketSecret } satisfies ToWorker);
    });
  }

  #broadcast(m: ToWorker): void {
    for (const w of this.#workers.values()) if (w.ready && w.worker.isConnected()) w.worker.send(m);
  }

  /** Re-reads the file; validates; applies to the model, then to every worker. */
  async reload(): Promise<ReloadOutcome> {
    if (this.#stopping) {
      this.#log.warn({ file: this.#file }, "reload ignored: the gateway is stopping");
      return { ok: false, errors: ["the gateway is stopping; the reload was not applied"] };
    }
    const loaded = loadConfigFile(this.#file);
    if (!loaded.ok) {
      this.control.counters.reloadFailures++;
      const errors = loaded.issues.map((i) => formatIssue(i));
      this.#log.error({ file: this.#file, errors }, "reload refused: the new config is invalid; the old one keeps serving");
      return { ok: false, errors };
    }
    const next = await resolvePorts(loaded.config, this.#config);
    const report = await this.control.reload(next);
    if (!report.changed) return { ok: true, summary: "no changes" };
    this.#config = next;
    const results = await Promise.all(
      [...this.#workers.entries()].map(([id, w]) =>
        new Promise<{ ok: boolean; message?: string }>((resolve) => {
          const t = setTimeout(() => resolve({ ok: false, message: `worker ${id} did not answer` }), 10_000);
          this.#reloadWaiters.set(id, (r) => {
            clearTimeout(t);
            this.#reloadWaiters.delete(id);
            resolve(r);
          });
          w.worker.send({ t: "reload", config: next } satisfies ToWorker);
        })),
    );
    const failed = results.filter((r) => !r.ok).map((r) => r.message ?? "failed");
    if (failed.length > 0) {
      this.control.counters.reloadFailures++;
      return { ok: false, errors: failed };
    }
    return { ok: true, summary: `${reloadSummary(report)} (applied by ${results.length} workers)` };
  }

  /** Graceful stop of every worker (each runs the gateway's graceful stop); resolves when all exited. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    this.control.stopping = true;
    for (const off of this.#unsubscribe) off();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const exits = [...this.#workers.values()].map((w) => new Promise<void>((r) => (w.worker.isDead() ? r() : w.worker.once("exit", () => r()))));
    this.#broadcast({ t: "shutdown" });
    const deadline = this.#config.shutdown.timeout + 5000;
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, deadline).unref())]);
    for (const w of this.#workers.values()) w.worker.kill("SIGKILL");
    await this.control.stop();
  }

  /** Second signal: no more waiting. */
  kill(): void {
    for (const w of this.#workers.values()) w.worker.kill("SIGKILL");
  }
}

/**
 * Every worker must bind the same port: a listener on port 0 gets a concrete free port
 * here (kept across reloads for a listener that keeps its name).
 */
/**
 * Cookie stickiness signs with `sticky.secret`; without one each process would draw
 * its own key and refuse the others' cookies. The primary draws one per backend, kept
 * across reloads, and hands it to every worker.
 */
const drawnSecrets = new Map<string, string>();
function withStickySecrets(config: Config): Config {
  const backends: Record<string, BackendConfig> = {};
  for (const [name, b] of Object.entries(config.backends)) {
    if (b.sticky?.kind === "cookie" && b.sticky.secret === undefined) {
      let secret = drawnSecrets.get(name);
      if (secret === undefined) drawnSecrets.set(name, (secret = randomBytes(32).toString("base64url")));
      backends[name] = { ...b, sticky: { ...b.sticky, secret } };
    } else backends[name] = b;
  }
  return { ...config, backends };
}

async function resolvePorts(config: Config, previous: Config | undefined): Promise<Config> {
  config = withStickySecrets(config);
  const listeners: ListenerConfig[] = [];
  for (const l of config.listeners) {
    if (l.listen.port !== 0) {
      listeners.push(l);
      continue;
    }
    const old = previous?.listeners.find((p) => p.name === l.name && p.listen.host === l.listen.host);
    const port = old !== undefined ? old.listen.port : await freePort(l.listen.host);
    listeners.push({ ...l, listen: { host: l.listen.host, port } });
  }
  return { ...config, listeners };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen({ host, port: 0 }, () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the admin server on the primary's control plane (same API and dashboard as a single process). */
export function startPrimaryAdmin(p: Primary, log: Logger): Promise<AdminServer> {
  const { listen, token } = p.config.admin;
  return startAdmin(p.control, { listen, token, reload: () => p.reload() }, log);
}
