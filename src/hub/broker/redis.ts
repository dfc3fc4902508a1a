/**
 * The Redis broker (`broker: { type: redis, url }`): many hub nodes share channels,
 * history and presence through one Redis. Built on node-redis (the `redis` package,
 * Redis's own maintained client) with two connections per node: one for commands, one
 * for pub/sub.
 *
 * - **Publish** is one Lua script (`redis-lua.ts`): idempotency check, epoch created if
 *   the metadata is gone, offset = last + 1, `XADD` with the offset as the entry id and
 *   an exact `MAXLEN`, `PEXPIRE` of stream and metadata, the idempotency key's result,
 *   `PUBLISH` with offset and epoch. Everything or nothing is applied, so all nodes agree.
 * - **History** is one script too (metadata + `XRANGE`), so position and entries agree.
 * - **Presence**: a sorted set (score = expiry, from Redis `TIME`) and a hash per
 *   channel; live nodes `touch` their entries; each join/touch/list sweeps the expired
 *   ones and announces their leave.
 * - **Failing fast**: commands are rejected while disconnected (no offline queue) and
 *   time out after `commandTimeoutMs`; every such failure is a `BrokerUnavailableError`.
 *   A rejected publish was not acknowledged; it may still have been applied if it
 *   reached Redis, which is why clients retry with the same idempotency key.
 * - **Health**: when the pub/sub connection has been quiet for `probeIntervalMs`, the
 *   node publishes to its own probe channel; if that does not come back within
 *   `probeTimeoutMs` (or either connection drops), the broker reports
 *   `state(false, reason)`, replaces the pub/sub connection, re-subscribes every
 *   channel, proves it with a probe, then reports `state(true)`.
 *
 * @example
 * const broker = new RedisBroker({ url: "redis://127.0.0.1:6379", prefix: "holdfast", node: "hub-1" });
 * await broker.start(events); // rejects with BrokerUnavailableError when Redis cannot be reached
 */
import { randomBytes } from "node:crypto";
import { createClient, ErrorReply } from "redis";
import type { ClientInfo } from "../../protocol/hub.ts";
import { channelKeys, decodeEntries, idempotencyKey, SCRIPTS, type ScriptName } from "./redis-lua.ts";
import {
  BrokerUnavailableError,
  IDEMPOTENCY_TTL_MS,
  type Broker,
  type BrokerEvents,
  type HistoryQuery,
  type HistoryResult,
  type PublishOptions,
  type PublishResult,
} from "./types.ts";
import { RedisPubSub } from "./redis-pubsub.ts";

export interface RedisBrokerOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Every key and pub/sub channel starts with `<prefix>:` (default `holdfast`). */
  prefix?: string;
  /** This node's name, for the probe channel and `CLIENT SETNAME` (default random). */
  node?: string;
  /** A command without a reply after this long rejects (default 2000 ms). */
  commandTimeoutMs?: number;
  /** Probe the pub/sub connection after this much silence (default 1000 ms). */
  probeIntervalMs?: number;
  /** The probe must come back within this long (default 2000 ms). */
  probeTimeoutMs?: number;
  /** `start` gives up after this long (default 5000 ms). */
  startTimeoutMs?: number;
}

type Client = ReturnType<typeof createClient>;

/** Redis error replies that mean "not now" rather than "a bug". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|NOTREADY)\b/;

/**
 * One hub node's connection to the shared Redis.
 *
 * @example
 * const b = new RedisBroker({ url: process.env.REDIS_URL! });
 */
export class RedisBroker implements Broker {
  readonly type = "redis";
  readonly prefix: string;
  readonly node: string;
  readonly #opts: Required<Omit<RedisBrokerOptions, "node" | "prefix">>;
  readonly #cmd: Client;
  #pubsub: RedisPubSub | undefined;
  #events: BrokerEvents | undefined;
  #closed = false;
  readonly #shas = new Map<ScriptName, string>();
  readonly #epochPrefix = randomBytes(6).toString("base64url");
  #epochCount = 0;

  constructor(opts: RedisBrokerOptions) {
    this.prefix = opts.prefix ?? "holdfast";
    this.node = opts.node ?? randomBytes(6).toString("base64url");
    this.#opts = {
      url: opts.url,
      commandTimeoutMs: opts.commandTimeoutMs ?? 2000,
      probeIntervalMs: opts.probeIntervalMs ?? 1000,
      probeTimeoutMs: opts.probeTimeoutMs ?? 2000,
      startTimeoutMs: opts.startTimeoutMs ?? 5000,
    };
    this.#cmd = createClient({
      url: opts.url,
      RESP: 2,
      name: `holdfast-hub:${this.node}`,
      // fail fast: nothing waits for a connection that may never come back
      disableOfflineQueue: true,
      commandOptions: { timeout: this.#opts.commandTimeoutMs, rejectInFlight: true },
      socket: { connectTimeout: this.#opts.commandTimeoutMs, reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, 2000) },
    });
    this.#cmd.on("error", (e: Error) => this.#pubsub?.commandDown(`redis connection: ${e.message}`));
    this.#cmd.on("ready", () => this.#pubsub?.commandUp());
  }

  /** True while commands and pub/sub both work (the last probe came back). */
  get up(): boolean {
    return !this.#closed && this.#cmd.isReady && this.#pubsub?.up === true;
  }

  async start(events: BrokerEvents): Promise<void> {
    if (this.#events !== undefined) throw new Error("redis broker: already started");
    this.#events = events;
    const deadline = AbortSignal.timeout(this.#opts.startTimeoutMs);
    try {
      await Promise.race([
        this.#cmd.connect(),
        new Promise((_, reject) => deadline.addEventListener("abort", () => reject(new Error(`no connection within ${this.#opts.startTimeoutMs} ms`)))),
      ]);
      await this.#loadScripts();
      this.#pubsub = new RedisPubSub({
        cmd: this.#cmd,
        events,
        prefix: this.prefix,
        node: this.node,
        probeIntervalMs: this.#opts.probeIntervalMs,
        probeTimeoutMs: this.#opts.probeTimeoutMs,
        connectTimeoutMs: this.#opts.commandTimeoutMs,
      });
      await this.#pubsub.start(deadline);
    } catch (e) {
      await this.close();
      throw new BrokerUnavailableError(`redis broker: cannot start on ${redactUrl(this.#opts.url)}: ${(e as Error).message}`, { cause: e });
    }
  }

  async subscribe(channel: string): Promise<void> {
    this.#check();
    await this.#pubsub!.subscribe(channel, channelKeys(this.prefix, channel).pubsub);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#check();
    await this.#pubsub!.unsubscribe(channel, channelKeys(this.prefix, channel).pubsub);
  }

  async publish(channel: string, opts: PublishOptions): Promise<PublishResult> {
    this.#check();
    const k = channelKeys(this.prefix, channel);
    const idem = opts.idempotencyKey === undefined ? k.meta : idempotencyKey(this.prefix, channel, opts.idempotencyKey);
    const h = opts.history;
    const reply = (await this.#run("publish", [k.meta, k.stream, idem], [
      opts.data,
      opts.info === undefined ? "" : JSON.stringify(opts.info),
      h === null ? "" : String(h.size),
      h === null ? "" : String(h.ttlMs),
      opts.idempotencyKey === undefined ? "" : String(opts.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS),
      this.#newEpoch(),
      k.pubsub,
    ])) as [number, string];
    const nl = reply[1].indexOf("\n");
    const result: PublishResult = { duplicate: reply[0] === 1 };
    if (nl > 0) {
      result.offset = Number(reply[1].slice(0, nl));
      result.epoch = reply[1].slice(nl + 1);
    }
    return result;
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    this.#check();
    const k = channelKeys(this.prefix, channel);
    const since = Math.max(0, Math.floor(query.since ?? 0));
    const limit = query.limit === undefined ? "" : String(Math.max(0, Math.floor(query.limit)));
    const [epoch, offset, entries] = (await this.#run("history", [k.meta, k.stream], [String(since), limit, String(query.history.ttlMs), this.#newEpoch()])) as [
      string,
      number,
      unknown,
    ];
    return { publications: decodeEntries(entries, epoch), position: { offset, epoch } };
  }

  async join(channel: string, who: ClientInfo, ttlMs: number): Promise<void> {
    await this.touch(channel, [who], ttlMs);
  }

  async leave(channel: string, who: ClientInfo): Promise<void> {
    this.#check();
    const k = channelKeys(this.prefix, channel);
    await this.#run("presenceRemove", [k.presenceZ, k.presenceH], [k.pubsub, who.client]);
  }

  async touch(channel: string, clients: readonly ClientInfo[], ttlMs: number): Promise<void> {
    this.#check();
    const k = channelKeys(this.prefix, channel);
    const args = [k.pubsub, String(ttlMs)];
    for (const who of clients) args.push(who.client, JSON.stringify(who));
    await this.#run("presenceAdd", [k.presenceZ, k.presenceH], args);
  }

  async presence(channel: string): Promise<ClientInfo[]> {
    this.#check();
    const k = channelKeys(this.prefix, channel);
    const list = (await this.#run("presenceList", [k.presenceZ, k.presenceH], [k.pubsub])) as string[];
    return list.map((w) => JSON.parse(w) as ClientInfo);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pubsub?.close();
    if (this.#cmd.isOpen) await this.#cmd.close().catch(() => this.#cmd.destroy());
  }

  #check(): void {
    if (this.#closed) throw new BrokerUnavailableError("redis broker is closed");
    if (this.#pubsub === undefined) throw new Error("redis broker: call start() first");
  }

  #newEpoch(): string {
    return `${this.#epochPrefix}${(this.#epochCount++).toString(36)}`;
  }

  async #loadScripts(): Promise<void> {
    for (const [name, source] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
      this.#shas.set(name, await this.#cmd.scriptLoad(source));
    }
  }

  /** Runs a script by SHA; after a Redis restart (NOSCRIPT) by source, which reloads it. */
  async #run(name: ScriptName, keys: string[], args: string[]): Promise<unknown> {
    try {
      try {
        return await this.#cmd.evalSha(this.#shas.get(name)!, { keys, arguments: args });
      } catch (e) {
        if (!(e instanceof ErrorReply && e.message.startsWith("NOSCRIPT"))) throw e;
        return await this.#cmd.eval(SCRIPTS[name], { keys, arguments: args });
      }
    } catch (e) {
      throw toBrokerError(e, name);
    }
  }
}

/**
 * What a failed command means for the hub: `BrokerUnavailableError` for connection
 * loss, timeouts and Redis's transient replies; the error itself otherwise (a bug).
 *
 * @example
 * try { ... } catch (e) { throw toBrokerError(e, "publish"); }
 */
export function toBrokerError(e: unknown, what: string): Error {
  if (e instanceof BrokerUnavailableError) return e;
  if (e instanceof ErrorReply && !TRANSIENT_REPLY.test(e.message)) return e;
  return new BrokerUnavailableError(`redis ${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/**
 * The URL without its password, for messages and logs.
 *
 * @example
 * redactUrl("redis://:secret@h:6379"); // "redis://:***@h:6379"
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(invalid url)";
  }
}

