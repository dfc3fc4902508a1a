/**
 * `Pools`: outbound HTTP keep-alive pools, one per origin, on undici, with statistics of
 * what really happened (DESIGN §8). See docs/pool.md.
 *
 * @example
 * const pools = new Pools({ connections: 32, keepAliveTimeout: 30_000, allowH2: true });
 * const res = await pools.request("https://api.example.com/v1/chat", { method: "POST", body: "{}" });
 * console.log(res.statusCode, await res.body.json());
 * pools.stats().reuseRate;
 * await pools.close();
 */
import type { ConnectionOptions } from "node:tls";
import type { Dispatcher } from "undici";
import type { Registry } from "prom-client";
import { Origin, type OriginSettings } from "./origin.ts";
import { isIdempotent, isReplayable, shouldRetry } from "./retry.ts";
import { snapshot, totals, type OriginStats, type PoolsStats } from "./stats.ts";
import { failedOn, release, retain } from "./tracking.ts";
import { originOf, splitUrl, splitUrlObject } from "./url.ts";
import { registerPools } from "./metrics.ts";

/**
 * TLS settings for every origin of a `Pools` (node:tls options: `ca`, `cert`, `key`,
 * `servername`, `rejectUnauthorized`, `minVersion`, ...).
 *
 * @example
 * const tls: PoolsTlsOptions = { ca: fs.readFileSync("ca.pem"), rejectUnauthorized: true };
 */
export type PoolsTlsOptions = Omit<ConnectionOptions, "host" | "port" | "path" | "socket" | "ALPNProtocols" | "timeout">;

/**
 * Options of {@link Pools}; every one has a default.
 *
 * @example
 * new Pools({ connections: 8, keepAliveTimeout: 10_000, connectTimeout: 2_000, allowH2: true, tls: { ca } });
 */
export interface PoolsOptions {
  /** Connections per origin at most (HTTP/1.1); default 32. An h2 origin uses one. */
  readonly connections?: number;
  /** Idle time before the pool closes a connection, ms; default 30 000. A shorter `Keep-Alive: timeout=` hint from the server wins. */
  readonly keepAliveTimeout?: number;
  /** DNS + TCP + TLS of one connection, ms; default 10 000. */
  readonly connectTimeout?: number;
  /** Offer HTTP/2 by ALPN on https origins; default false (undici's). */
  readonly allowH2?: boolean;
  readonly tls?: PoolsTlsOptions;
}

/**
 * undici's request options, less what the URL says. `method` defaults to GET;
 * `idempotent` overrides the method's idempotency for the stale-connection retry.
 *
 * @example
 * const o: PoolRequestOptions = { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" };
 */
export type PoolRequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path" | "method"> & {
  readonly method?: Dispatcher.HttpMethod;
};

/** Cap on cached spellings of origins (`HTTPS://Host:443` and `https://host` are one pool). */
const MAX_ALIASES = 1024;

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`holdfast/pool: ${name} must be a positive number, got ${String(v)}`);
  }
  return v;
}

/**
 * Keep-alive pools per origin with reuse statistics and Prometheus metrics.
 *
 * @example
 * const pools = new Pools({ allowH2: true });
 * const { statusCode, body } = await pools.request("https://api.example.com/health");
 * await body.dump();
 */
export class Pools {
  readonly #settings: OriginSettings;
  readonly #origins = new Map<string, Origin>();
  readonly #aliases = new Map<string, Origin>();
  /** The last URL string requested without options, its origin and its request options. */
  #lastUrl: string | undefined;
  #lastOrigin: Origin | undefined;
  #lastGet: Dispatcher.RequestOptions | undefined;
  #closed = false;

  constructor(opts: PoolsOptions = {}) {
    const connections = positive("connections", opts.connections, 32);
    if (!Number.isInteger(connections)) throw new RangeError(`holdfast/pool: connections must be an integer, got ${connections}`);
    this.#settings = {
      connections,
      keepAliveTimeout: positive("keepAliveTimeout", opts.keepAliveTimeout, 30_000),
      connectTimeout: positive("connectTimeout", opts.connectTimeout, 10_000),
      allowH2: opts.allowH2 ?? false,
      tls: opts.tls ?? {},
    };
    retain();
  }

  /**
   * Sends one request on the origin's pool and resolves to undici's response (read or
   * dump its `body`, or the connection stays busy). An idempotent request whose pooled
   * connection closed before any response byte is sent once more.
   *
   * @example
   * const res = await pools.request("https://api.example.com/v1/items?limit=10", { headers: { accept: "application/json" } });
   * const items = await res.body.json();
   */
  request(url: string | URL, opts?: PoolRequestOptions): Promise<Dispatcher.ResponseData> {
    let origin: Origin;
    let o: Dispatcher.RequestOptions;
    try {
      if (this.#closed) throw new Error("holdfast/pool: request() after close()");
      if (opts === undefined && url === this.#lastUrl) {
        // The same URL again with no options (polling, one API endpoint): its split and
        // its request options are reused as they are (undici does not modify them).
        origin = this.#lastOrigin!;
        o = this.#lastGet!;
      } else {
        const { prefix, path } = typeof url === "string" ? splitUrl(url) : splitUrlObject(url);
        origin = this.#aliases.get(prefix) ?? this.#originFor(prefix);
        if (opts === undefined) {
          o = { path, method: "GET" };
          if (typeof url === "string") {
            this.#lastUrl = url;
            this.#lastOrigin = origin;
            this.#lastGet = o;
          }
        } else {
          o = { ...opts, path, method: opts.method ?? "GET" } as Dispatcher.RequestOptions;
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // Connections opened so far: one that fails us with a rank up to this was pooled.
    const opened = origin.counters.connectionsCreated;
    const d = origin.ready;
    if (d === undefined) return this.#firstRequest(origin, o, opts, opened);
    // No async layer on the way: the caller awaits undici's own promise; only a failure
    // goes through the retry decision.
    return d.request(o).catch((err: unknown) => this.#afterFailure(err, origin, o, opts, opened));
  }

  /** `request` while the origin's protocol is not known yet (the first connection's handshake). */
  async #firstRequest(origin: Origin, o: Dispatcher.RequestOptions, opts: PoolRequestOptions | undefined, opened: number): Promise<Dispatcher.ResponseData> {
    try {
      return await (await origin.dispatcher()).request(o);
    } catch (err) {
      return this.#afterFailure(err, origin, o, opts, opened);
    }
  }

  /** Sends a failed request once more when it is the stale-connection case, else rethrows. */
  async #afterFailure(err: unknown, origin: Origin, o: Dispatcher.RequestOptions, opts: PoolRequestOptions | undefined, opened: number): Promise<Dispatcher.ResponseData> {
    const conn = failedOn(err);
    const signal = opts?.signal as { aborted?: unknown } | null | undefined;
    const retry = shouldRetry({
      attempt: 1,
      errorCode: (err as { code?: string } | null)?.code,
      pooled: conn !== undefined && conn.seq <= opened,
      idempotent: isIdempotent(o.method, opts?.idempotent),
      replayable: isReplayable(opts?.body),
      aborted: signal?.aborted === true,
    });
    if (!retry || this.#closed) throw err;
    origin.counters.retries++;
    return (origin.ready ?? (await origin.dispatcher())).request(o);
  }

  /**
   * The statistics: totals and per origin (see docs/pool.md for how each is measured).
   *
   * @example
   * const s = pools.stats();
   * s.origins["https://api.example.com"]?.closeReasons.serverClosed;
   */
  stats(): PoolsStats {
    const origins: Record<string, OriginStats> = {};
    for (const [key, o] of this.#origins) origins[key] = snapshot(o.counters, o.live());
    return totals(origins);
  }

  /**
   * Exports `holdfast_pool_*` into a prom-client registry (labels: `origin`, and
   * `reason` on the closed-connections counter). Several `Pools` may share a registry:
   * their series add up per origin.
   *
   * @example
   * const registry = new Registry();
   * pools.register(registry);
   * await registry.metrics(); // "# HELP holdfast_pool_requests_total ..."
   */
  register(registry: Registry): void {
    registerPools(registry, this);
  }

  /**
   * Lets in-flight requests finish, closes every connection and stops tracking. Later
   * `request()` calls reject. Statistics stay readable.
   *
   * @example
   * process.once("SIGTERM", () => void pools.close());
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await Promise.all([...this.#origins.values()].map((o) => o.close()));
    } finally {
      release();
    }
  }

  #originFor(prefix: string): Origin {
    const key = originOf(prefix);
    let o = this.#origins.get(key);
    if (o === undefined) {
      o = new Origin(key, this.#settings);
      this.#origins.set(key, o);
    }
    if (this.#aliases.size >= MAX_ALIASES) this.#aliases.clear();
    this.#aliases.set(prefix, o);
    return o;
  }
}
