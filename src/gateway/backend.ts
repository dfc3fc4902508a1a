import { extractHashKey, type RequestView } from "../core/balance/hash-key.ts";
import type { Balancer, PickContext } from "../core/balance/types.ts";
import { balancers } from "../core/balance/registry.ts";
import type { BackendConfig } from "../config/types.ts";
import type { BackendChange } from "../core/plan/diff.ts";
import { TokenBucket } from "../core/plan/token-bucket.ts";
import { drain } from "../core/health/state.ts";
import { recordFailure, recordSuccess } from "../core/health/state.ts";
import type { Logger } from "../log.ts";
import { createCookieCodec, readCookie } from "../core/sticky/cookie.ts";
import { MemoryStickyStore } from "../core/sticky/store.ts";
import { CookieSticky, SourceSticky, type StickyDecision } from "../core/sticky/sticky.ts";
import type { TimerWheel } from "./timer-wheel.ts";
import { hmacSha256, stickyKey } from "./sticky-mac.ts";
import { UpstreamServer, type PoolOptions, type UpstreamTls } from "./upstream.ts";
import { events } from "./diagnostics.ts";

/** Reused per backend so a pick allocates no context object. */
class MutablePickContext implements PickContext {
  key: string | undefined = undefined;
  now = 0;
  random: () => number = Math.random;
}

/**
 * Backups take over only when no primary is up (DESIGN §4), not when the primaries are
 * merely full: requests then queue for them (maxConn). On a retry, `list` leaves out the
 * primaries already tried (`skip`), so a dead primary not yet marked down hands over at once.
 */
function anyUp(list: readonly UpstreamServer[]): boolean {
  for (const p of list) if (p.up && !p.skip) return true;
  return false;
}

function poolOptions(config: BackendConfig): PoolOptions {
  const tls = config.tls === undefined ? null : { ca: config.tls.caPem, rejectUnauthorized: config.tls.verify, servername: config.tls.servername };
  return { maxIdle: config.keepAlive.maxIdle, idleTimeout: config.keepAlive.idleTimeout, connectTimeout: config.timeouts.connect, tls };
}

function sameTls(a: UpstreamTls | null, b: UpstreamTls | null): boolean {
  return a === b || (a !== null && b !== null && a.ca === b.ca && a.rejectUnauthorized === b.rejectUnauthorized && a.servername === b.servername);
}

function newBalancer(config: BackendConfig): Balancer {
  const factory = (balancers as Record<string, ((o: object) => Balancer) | undefined>)[config.balance];
  if (factory === undefined) throw new Error(`balancing policy ${config.balance} is not available`);
  return factory({ hashBalanceFactor: config.hashBalanceFactor });
}

/** Something waiting in a backend's `maxConn` queue. */
export interface QueueWaiter {
  /** A slot may be free: pick again (the waiter is already out of the queue). */
  onQueueReady(): void;
}

/**
 * Live state of a backend: its servers (primaries and backups), its balancing policy,
 * stickiness, passive outlier detection and `maxConn` queue. A backend *has a* balancer;
 * the policy never sees sockets.
 *
 * @example
 * const server = backend.select(view, false, wheel.now); // undefined when none is available
 * backend.setCookie; // the Set-Cookie to add to the response, if stickiness re-issued one
 */
export class Backend {
  readonly name: string;
  config: BackendConfig;
  servers: UpstreamServer[];
  primaries: UpstreamServer[];
  backups: UpstreamServer[];
  balancer: Balancer;
  /** Set by `select`: the sticky cookie to send with the response, or undefined. */
  setCookie: string | undefined = undefined;
  readonly queue: QueueWaiter[] = [];
  /** Per-server admission buckets (new connections and upgrades), when `admission` is set. */
  readonly #admission = new Map<UpstreamServer, TokenBucket>();
  /** Servers removed by a reload that still carry requests or tunnels (draining). */
  retired: UpstreamServer[] = [];
  readonly #ctx = new MutablePickContext();
  #cookie: { plain: CookieSticky; secure: CookieSticky } | undefined;
  #source: SourceSticky | undefined;
  readonly #log: Logger | undefined;
  readonly #wheel: TimerWheel;

  /** This process's share of per-server limits (1/N with N workers). */
  readonly #share: number;
  /** The cookie HMAC key: from `sticky.secret`, else generated once and kept across reloads. */
  #stickyKey: Uint8Array | undefined;
  #stickySecret: string | undefined;

  /** The data plane's logger (its tunnels log a fallback to blind mode with it). */
  get log(): Logger | undefined {
    return this.#log;
  }

  constructor(config: BackendConfig, wheel: TimerWheel, log?: Logger, share = 1) {
    this.name = config.name;
    this.config = config;
    this.#log = log;
    this.#share = share;
    this.#wheel = wheel;
    const pool = poolOptions(config);
    this.servers = config.servers.map((s, i) => {
      const server = new UpstreamServer(i, s, pool, wheel);
      server.maxConn = config.maxConn;
      return server;
    });
    this.primaries = this.servers.filter((s) => !s.backup);
    this.backups = this.servers.filter((s) => s.backup);
    this.balancer = newBalancer(config);
    this.#setupSticky();
  }

  #setupSticky(): void {
    const config = this.config;
    this.#cookie = undefined;
    this.#source = undefined;
    const sticky = config.sticky;
    if (sticky?.kind === "cookie") {
      if (this.#stickyKey === undefined || sticky.secret !== this.#stickySecret) {
        this.#stickyKey = stickyKey(sticky.secret);
        this.#stickySecret = sticky.secret;
      }
      const codec = createCookieCodec({ key: this.#stickyKey, mac: hmacSha256 });
      const opts = { backend: config.name, cookie: sticky.cookie, ttlMs: sticky.ttl, codec, fallback: this.balancer };
      this.#cookie = { plain: new CookieSticky({ ...opts, secure: false }), secure: new CookieSticky({ ...opts, secure: true }) };
    } else if (sticky?.kind === "source") {
      const store = new MemoryStickyStore({ ttlMs: sticky.ttl, maxEntries: sticky.maxEntries });
      this.#source = new SourceSticky({ store, fallback: this.balancer });
    }
  }

  /**
   * Applies a reload's changes in place. Kept servers keep their live state (health,
   * counters, pooled connections); added servers slow-start; removed servers are drained
   * and retired (returned, so the caller closes their tunnels on the drain schedule).
   */
  update(change: BackendChange, now: number): UpstreamServer[] {
    const after = change.after;
    this.config = after;
    const pool = poolOptions(after);
    const byName = new Map(this.servers.map((s) => [s.name, s]));
    const removed: UpstreamServer[] = [];
    for (const r of change.servers.removed) {
      const s = byName.get(r.name);
      if (s === undefined) continue;
      byName.delete(r.name);
      drain(s.health, now);
      s.refresh(now, after.slowStart);
      s.closeIdle();
      removed.push(s);
    }
    this.servers = after.servers.map((cfg, i) => {
      let s = byName.get(cfg.name);
      if (s === undefined) {
        s = new UpstreamServer(i, cfg, pool, this.#wheel, false);
      } else {
        s.index = i;
        s.configWeight = cfg.weight;
        s.backup = cfg.backup;
        if (!sameTls(s.pool.tls, pool.tls)) {
          // Other trust or name: pooled connections and saved sessions were made under the old one.
          s.tlsSession = undefined;
          s.closeIdle();
        }
        s.pool = pool;
      }
      s.maxConn = after.maxConn;
      s.refresh(now, after.slowStart);
      return s;
    });
    this.primaries = this.servers.filter((s) => !s.backup);
    this.backups = this.servers.filter((s) => s.backup);
    // A new policy instance for any change of policy or server set: policies keep
    // per-server state (rings, tables, latency estimates) keyed by the old set.
    if (change.fields.length > 0 || change.servers.added.length > 0 || removed.length > 0) {
      this.balancer = newBalancer(after);
      this.#setupSticky();
    }
    this.retired.push(...removed);
    return removed;
  }

  /** Drains every server (the backend was removed from the config). */
  retireAll(now: number): UpstreamServer[] {
    for (const s of this.servers) {
      drain(s.health, now);
      s.refresh(now, this.config.slowStart);
      s.closeIdle();
    }
    this.retired.push(...this.servers);
    const all = this.servers;
    this.servers = [];
    this.primaries = [];
    this.backups = [];
    return all;
  }

  /**
   * Picks a server for a request (`req` set) or a TCP connection (`req.target` empty):
   * stickiness first, then the policy with the request's hash key. Backups serve only
   * while no primary is available. `exclude` (servers this request already tried) is
   * only passed on the retry path, so the common path allocates nothing.
   */
  select(req: RequestView, secure: boolean, now: number, exclude?: readonly UpstreamServer[]): UpstreamServer | undefined {
    if (exclude === undefined || exclude.length === 0) return this.#select(req, secure, now);
    // A retry: the servers already tried are unavailable for this one pick. The policy
    // still sees the same list, so its position (round-robin), rings and tables are not
    // disturbed by a shorter list.
    for (const s of exclude) s.skip = true;
    try {
      return this.#select(req, secure, now);
    } finally {
      for (const s of exclude) s.skip = false;
    }
  }

  #select(req: RequestView, secure: boolean, now: number): UpstreamServer | undefined {
    this.setCookie = undefined;
    const ctx = this.#ctx;
    ctx.now = now;
    const primaries = this.primaries;
    const backups = this.backups;
    if (this.#cookie !== undefined || this.#source !== undefined) {
      ctx.key = undefined;
      let d = this.#sticky(primaries, req, secure);
      if (d.server === undefined && backups.length > 0 && !anyUp(primaries)) d = this.#sticky(backups, req, secure);
      this.setCookie = d.setCookie;
      return d.server as UpstreamServer | undefined;
    }
    const spec = this.config.hashKey;
    if (spec !== undefined) {
      ctx.key = extractHashKey(spec, req);
      if (ctx.key === undefined) this.#log?.debug({ backend: this.name, hashKey: spec }, "no hash key in the request: round-robin for this one");
    } else ctx.key = undefined;
    let s = this.balancer.pick(primaries, ctx) as UpstreamServer | undefined;
    if (s === undefined && backups.length > 0 && !anyUp(primaries)) s = this.balancer.pick(backups, ctx) as UpstreamServer | undefined;
    return s;
  }

  #sticky(list: readonly UpstreamServer[], req: RequestView, secure: boolean): StickyDecision {
    if (this.#cookie !== undefined) {
      const c = secure ? this.#cookie.secure : this.#cookie.plain;
      const header = req.header("cookie");
      return c.pick(list, header === undefined ? undefined : readCookie(header, c.cookieName), this.#ctx);
    }
    // The memory store answers synchronously; an asynchronous store (Redis, with
    // cluster mode) will need an asynchronous pick path.
    return this.#source!.pick(list, req.source, this.#ctx) as StickyDecision;
  }

  /**
   * Takes an admission token for a new connection or upgrade to `s`. Returns 0 when
   * admitted, else the time in ms until the next token (the Retry-After hint).
   */
  admit(s: UpstreamServer, now: number): number {
    const a = this.config.admission;
    if (a === undefined) return 0;
    let bucket = this.#admission.get(s);
    // With N workers each takes 1/N of the rate (the kernel spreads connections evenly).
    const rate = a.rate * this.#share;
    const burst = Math.max(1, Math.round(a.burst * this.#share));
    if (bucket === undefined || bucket.rate !== rate || bucket.burst !== burst) {
      bucket = new TokenBucket(rate, burst, now);
      this.#admission.set(s, bucket);
    }
    return bucket.take(now) ? 0 : Math.max(1, bucket.retryAfterMs(now));
  }

  /** True when some server is up but at `maxConn`: a request may queue for it. */
  get saturated(): boolean {
    if (this.config.maxConn === 0) return false;
    for (const s of this.servers) if (s.up && s.active >= s.maxConn) return true;
    return false;
  }

  /** Reports the start of a request or tunnel on `s` (counts it as active). */
  begin(s: UpstreamServer): void {
    s.active++;
    s.stats.requests++;
    this.balancer.onStart?.(s, this.#ctx);
  }

  /** Reports its end; `latencyMs` is the time to the response head. */
  end(s: UpstreamServer, latencyMs: number, ok: boolean, now: number): void {
    s.active--;
    if (s.active === 0 && this.retired.length > 0) this.retired = this.retired.filter((r) => r.active > 0);
    this.balancer.onEnd?.(s, latencyMs, ok, now);
    if (this.queue.length > 0 && s.available) this.queue.shift()!.onQueueReady();
  }

  /** Real traffic succeeded on `s` (passive outlier detection). */
  passiveSuccess(s: UpstreamServer): void {
    if (s.health.failures !== 0) recordSuccess(s.health);
  }

  /** Real traffic failed on `s`: connect failure, timeout, or (with `on5xx`) a 5xx. */
  passiveFailure(s: UpstreamServer, now: number, why: string): void {
    const passive = this.config.passive;
    if (passive === undefined) return;
    const records = this.servers.map((x) => x.health);
    if (recordFailure(records, s.health, passive, now)) {
      s.stats.ejections++;
      s.refresh(now, this.config.slowStart);
      const forMs = s.health.ejectedUntil - now;
      this.#log?.warn({ backend: this.name, server: s.name, reason: why, until: forMs }, "server ejected");
      if (events.serverEjected.hasSubscribers) events.serverEjected.publish({ backend: this, server: s, reason: why, forMs });
    }
  }

  /** Refreshes every server's verdict and weight (ejection expiry, slow start ramp). */
  refresh(now: number): void {
    for (const s of this.servers) s.refresh(now, this.config.slowStart);
    // Capacity may have appeared (a server came back): let queued requests try again.
    // Each waiter gets one try per refresh (a waiter that finds nothing queues again).
    for (let n = this.queue.length; n > 0 && this.queue.length > 0 && this.servers.some((s) => s.available); n--) {
      this.queue.shift()!.onQueueReady();
    }
  }
}
