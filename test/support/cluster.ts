import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { assertOwnAdmin, fixedPort } from "./ports.ts";
import { PROCESS_START_MS } from "./wait.ts";

/**
 * The end-to-end cluster of issue 11 (part 9): a real `holdfast gateway` process in
 * front of hub nodes (`holdfast hub` processes) on one Redis, every one a child process
 * a test or the bench can SIGKILL, SIGTERM, restart, drain (through the gateway's admin
 * API) or start later (a scale-out). Loopback only; `stop()` kills whatever is left.
 *
 * @example
 * const c = await Cluster.start({ hubs: ["hub-a", "hub-b"], redisUrl, prefix });
 * c.url;                         // ws://127.0.0.1:PORT/connect, through the gateway
 * await c.kill("hub-a", "SIGKILL");
 * await c.startHub("hub-a");
 * await c.stop();
 */

const BIN = new URL("../../bin/holdfast.js", import.meta.url).pathname;
export const E2E_SECRET = "e2e-secret-e2e-secret-e2e-secret-0123456";
export const E2E_API_TOKEN = "e2e-api-token";
export const E2E_ADMIN_TOKEN = "e2e-admin-token";

export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
}

/** Starts `holdfast <args> -c <yaml in a temp file>` and waits until its output matches every `ready` pattern. */
export async function spawnHoldfast(args: string[], yaml: string, ready: RegExp[], timeoutMs = PROCESS_START_MS): Promise<Proc & { matches: RegExpExecArray[] }> {
  assertOwnAdmin(yaml);
  const dir = mkdtempSync(join(tmpdir(), "holdfast-e2e-"));
  const file = join(dir, "config.yaml");
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, ["--max-semi-space-size=2", BIN, ...args, "-c", file], {
    env: { ...process.env, HOLDFAST_LOG: process.env.HOLDFAST_TEST_LOG ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let running = true;
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      running = false;
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const matches = ready.map((r) => r.exec(out));
    if (matches.every((m) => m !== null)) {
      return { child, output: () => out, exited, matches: matches as RegExpExecArray[], get running() { return running; } };
    }
    if (!running || performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`holdfast ${args.join(" ")} did not start within ${timeoutMs} ms:\n${out}`);
    }
    await sleep(25);
  }
}

export interface ClusterOptions {
  /** Hub node names; each gets a fixed port so it can restart in place. */
  hubs: string[];
  /** Hubs not started at first (configured in the gateway, down until `startHub`). */
  later?: string[];
  redisUrl: string;
  /** Redis key prefix, unique per run. */
  prefix: string;
  /** Gateway backend keys (YAML lines, indented 4) beyond the defaults below. */
  backendExtra?: string;
  /** Hub keys (YAML) beyond the defaults. */
  hubExtra?: string;
}

export class Cluster {
  readonly #o: ClusterOptions;
  readonly ports = new Map<string, number>();
  readonly #hubs = new Map<string, Proc>();
  #gateway: (Proc & { matches: RegExpExecArray[] }) | null = null;

  private constructor(o: ClusterOptions) {
    this.#o = o;
  }

  static async start(o: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(o);
    try {
      for (const h of o.hubs) c.ports.set(h, await fixedPort());
      await Promise.all(o.hubs.filter((h) => !(o.later ?? []).includes(h)).map((h) => c.startHub(h)));
      c.#gateway = await spawnHoldfast(["gateway"], c.#gatewayYaml(), [/listener web \(http\) listening on [\d.]+:(\d+)/, /admin on (http:\/\/[\d.]+:\d+)/]);
      for (const h of o.hubs) if (!(o.later ?? []).includes(h)) await c.waitServer(h, "up");
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** The hub's WebSocket endpoint through the gateway. */
  get url(): string {
    return `ws://127.0.0.1:${this.#gateway!.matches[0]![1]}/connect`;
  }

  /** The gateway's HTTP base (the hubs' server API through it). */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.#gateway!.matches[0]![1]}`;
  }

  get adminUrl(): string {
    return this.#gateway!.matches[1]![1]!;
  }

  hubRunning(name: string): boolean {
    return this.#hubs.get(name)?.running === true;
  }

  #hubYaml(name: string): string {
    return `listen: 127.0.0.1:${this.ports.get(name)}
node: ${name}
admin: { listen: 127.0.0.1:0 }
broker: { type: redis, url: "${this.#o.redisUrl}", prefix: "${this.#o.prefix}" }
auth: { jwt: { secret: "${E2E_SECRET}" }, anonymous: true }
api: { token: ${E2E_API_TOKEN} }
ping: { interval: 5s, timeout: 5s }
presence: { ttl: 2s }
${(this.#o.hubExtra ?? "").includes("shutdown:") ? "" : "shutdown: { spread: 2s }"}
channels:
  - { match: "e2e:*", history: { size: 100000, ttl: 10m }, anonymous: true, clientPublish: true }
${this.#o.hubExtra ?? ""}`;
  }

  #gatewayYaml(): string {
    const servers = this.#o.hubs.map((h) => `      - { name: ${h}, address: 127.0.0.1:${this.ports.get(h)} }`).join("\n");
    // /sse and /send go to a sticky twin of the backend: a send must reach the node that
    // holds its stream (docs/client.md, "Transports"); WebSockets stay unsticky so
    // rebalance can move them.
    return `admin: { listen: 127.0.0.1:0, token: ${E2E_ADMIN_TOKEN} }
workers: 1
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /sse }, backend: hub-sse }
      - { match: { pathPrefix: /send }, backend: hub-sse }
      - { backend: hub }
backends:
  hub:
    balance: least-conn
    health: { type: http, path: /healthz, interval: 500ms, timeout: 400ms, rise: 1, fall: 2 }
    timeouts: { tunnel: 1h }
${this.#o.backendExtra ?? ""}
    servers:
${servers}
  hub-sse:
    balance: least-conn
    sticky: { cookie: HF_HUB, ttl: 1h }
    health: { type: http, path: /healthz, interval: 500ms, timeout: 400ms, rise: 1, fall: 2 }
    timeouts: { server: 1h }
${this.#o.backendExtra ?? ""}
    servers:
${servers}
`;
  }

  /** Starts (or restarts, on its port) a hub node. */
  async startHub(name: string): Promise<void> {
    if (this.hubRunning(name)) throw new Error(`${name} is already running`);
    this.#hubs.set(name, await spawnHoldfast(["hub"], this.#hubYaml(name), [/listening on http:\/\//]));
  }

  /** Sends `signal` to a hub node and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals): Promise<void> {
    const p = this.#hubs.get(name);
    if (p === undefined || !p.running) throw new Error(`${name} is not running`);
    p.child.kill(signal);
    const deadline = setTimeout(() => p.child.kill("SIGKILL"), 30_000);
    await p.exited;
    clearTimeout(deadline);
  }

  /** Calls the gateway's admin API (drain | enable | maintenance) for the node in both backends. */
  async serverAction(name: string, action: "drain" | "enable" | "maintenance"): Promise<void> {
    for (const backend of ["hub", "hub-sse"]) {
      const res = await fetch(`${this.adminUrl}/api/backends/${backend}/servers/${name}/${action}`, { method: "POST", headers: { authorization: `Bearer ${E2E_ADMIN_TOKEN}` } });
      if (res.status !== 200) throw new Error(`admin ${action} ${name} in ${backend}: HTTP ${res.status} ${await res.text()}`);
    }
  }

  /** The gateway's view of a hub node: its state and open tunnels. */
  async server(name: string): Promise<{ state: string; tunnels: number }> {
    const res = await fetch(`${this.adminUrl}/api/backends/hub`);
    const body = (await res.json()) as { servers: { name: string; state: string; tunnels: number }[] };
    const s = body.servers.find((x) => x.name === name);
    if (s === undefined) throw new Error(`the gateway does not know ${name}: ${JSON.stringify(body)}`);
    return { state: s.state, tunnels: s.tunnels };
  }

  /** Waits until the gateway sees `name` in `state`. */
  async waitServer(name: string, state: string, timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const s = await this.server(name).catch(() => null);
      if (s?.state === state) return;
      if (performance.now() > deadline) throw new Error(`the gateway did not see ${name} ${state} within ${timeoutMs} ms (last: ${JSON.stringify(s)})`);
      await sleep(50);
    }
  }

  /** Kills everything still running. */
  async stop(): Promise<void> {
    const all = [...this.#hubs.values(), ...(this.#gateway ? [this.#gateway] : [])].filter((p) => p.running);
    for (const p of all) p.child.kill("SIGKILL");
    await Promise.all(all.map((p) => p.exited));
  }
}
