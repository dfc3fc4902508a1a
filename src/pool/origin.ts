/**
 * One origin's dispatcher: an undici `Pool` of up to `connections` HTTP/1.1 connections,
 * or, when TLS's ALPN picks `h2`, a single undici `Client` whose one session carries
 * every concurrent request as a stream. With `allowH2` over TLS the protocol is unknown
 * until the first connection: its request goes to a `Client` at once, requests arriving
 * meanwhile wait for the handshake (bounded by `connectTimeout`), then go to that
 * `Client` (h2) or to a `Pool` whose first connection is that same `Client` (h1), so no
 * burst of sockets is opened for an HTTP/2 server and no handshake is wasted for an
 * HTTP/1.1 one.
 *
 * @example
 * const o = new Origin("https://api.example.com", settings);
 * const d = o.ready ?? (await o.dispatcher());
 * const res = await d.request({ path: "/v1", method: "GET" });
 */
import type { ConnectionOptions } from "node:tls";
import { Client, Pool, type Dispatcher } from "undici";
import { timedConnector } from "./connector.ts";
import { OriginCounters, type LiveView } from "./stats.ts";
import type { Owner } from "./tracking.ts";

/** Concurrent streams on an origin's HTTP/2 session (undici's default `maxConcurrentStreams`; a lower SETTINGS from the server wins). */
const H2_STREAMS = 100;

/**
 * The settings every origin of a `Pools` shares (defaults already applied).
 *
 * @example
 * const s: OriginSettings = { connections: 32, keepAliveTimeout: 30_000, connectTimeout: 10_000, allowH2: true, tls: {} };
 */
export interface OriginSettings {
  readonly connections: number;
  readonly keepAliveTimeout: number;
  readonly connectTimeout: number;
  readonly allowH2: boolean;
  readonly tls: ConnectionOptions;
}

/**
 * The pool of one origin; see the file's note.
 *
 * @example
 * new Origin("http://127.0.0.1:8080", settings).ready; // a Pool at once: no TLS, no ALPN
 */
export class Origin implements Owner {
  readonly key: string;
  readonly counters = new OriginCounters();
  closing = false;
  /** The dispatcher, once the protocol is known. */
  ready: Dispatcher | undefined;
  #mode: "h1" | "h2" | undefined;
  #pool: Pool | undefined;
  /** The first connection's `Client`; it stays the whole dispatcher in h2 mode. */
  #client: Client | undefined;
  /** Resolved when the first connection's handshake ends (either way). */
  #decided: { promise: Promise<void>; resolve: () => void } | undefined;
  #waiting = 0;
  readonly #options: Client.Options;
  readonly #connections: number;

  constructor(key: string, s: OriginSettings) {
    this.key = key;
    const tls = key.startsWith("https:");
    const h2 = tls && s.allowH2;
    this.#connections = s.connections;
    this.#options = {
      connect: timedConnector({ ...s.tls, allowH2: h2, timeout: s.connectTimeout }, this),
      keepAliveTimeout: s.keepAliveTimeout,
      // A server's Keep-Alive hint may shorten the idle time, never lengthen it.
      keepAliveMaxTimeout: s.keepAliveTimeout,
      allowH2: h2,
    };
    if (!h2) {
      this.#mode = "h1";
      this.ready = this.#makePool(undefined);
    }
  }

  /** Slow path of `ready`: the protocol is not known yet. */
  async dispatcher(): Promise<Dispatcher> {
    if (this.ready !== undefined) return this.ready;
    if (this.#decided === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#decided = { promise, resolve };
      this.#client ??= new Client(this.key, this.#options);
      return this.#client;
    }
    this.#waiting++;
    try {
      await this.#decided.promise;
    } finally {
      this.#waiting--;
    }
    return this.ready ?? this.#client ?? (await this.dispatcher());
  }

  connected(alpn: string | false | null | undefined): void {
    if (this.#mode === undefined) {
      if (alpn === "h2" && this.#client !== undefined) {
        this.#mode = "h2";
        // undici's Client runs `pipelining` requests at once, 1 by default, HTTP/2
        // included: without this the session would carry one stream at a time.
        this.#client.pipelining = H2_STREAMS;
        this.ready = this.#client;
      } else {
        this.#toH1();
      }
      this.#settle();
    } else if (this.#mode === "h2" && alpn !== "h2") {
      // The server stopped offering h2 (a new connection of the one Client said
      // http/1.1): one connection would serialise every request, so pool them again.
      this.#toH1();
    }
  }

  connectFailed(): void {
    this.counters.connectFailed();
    if (this.#mode === undefined) this.#settle();
  }

  /** undici's live view: idle connections and waiting requests. */
  live(): LiveView {
    if (this.#pool !== undefined) {
      const s = this.#pool.stats;
      return { protocol: "h1", idle: s.free, pending: s.pending };
    }
    const c = this.#client;
    if (c === undefined) return { protocol: "unknown", idle: 0, pending: this.#waiting };
    const s = c.stats;
    const idle = s.connected && s.running === 0 && s.pending === 0 ? 1 : 0;
    return { protocol: this.#mode ?? "unknown", idle, pending: s.pending + this.#waiting };
  }

  /** Waits for in-flight requests, then closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.#settle();
    await Promise.all([this.#pool?.close(), this.#client?.close()]);
  }

  #toH1(): void {
    const first = this.#client;
    if (first !== undefined) first.pipelining = 1;
    this.#client = undefined;
    this.#mode = "h1";
    this.ready = this.#makePool(first);
  }

  #makePool(first: Client | undefined): Pool {
    let handOver = first;
    this.#pool = new Pool(this.key, {
      ...this.#options,
      connections: this.#connections,
      factory: (origin, opts) => {
        const c = handOver ?? new Client(origin, opts);
        handOver = undefined;
        return c;
      },
    });
    return this.#pool;
  }

  #settle(): void {
    const d = this.#decided;
    this.#decided = undefined;
    d?.resolve();
  }
}
