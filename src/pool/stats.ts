/**
 * The pool's bookkeeping, PURE: per-origin counters fed by what undici reports (a
 * connection opened with its measured DNS/TCP/TLS time, a request's headers written on a
 * connection, a connection closed and why), and the snapshot `Pools.stats()` returns.
 * No I/O, no clock: times come in as numbers.
 *
 * "Reused" counts requests, not sockets: a request written on a connection that had
 * already carried one (HTTP/1.1 keep-alive, or another stream of an HTTP/2 session)
 * paid no handshake. The savings are counted only where they were real: a DNS lookup
 * saved only on connections that did look their host up (not for an IP literal), a TLS
 * handshake only on TLS connections.
 *
 * @example
 * const c = new OriginCounters();
 * const conn = c.opened({ dnsMs: 1, tcpMs: 0.5, tlsMs: 2, lookedUp: true, tls: true }, 0);
 * c.sent(conn); c.sent(conn);
 * c.closed(conn, "idleTimeout", 30_000);
 * snapshot(c, { protocol: "h1", idle: 0, pending: 0 }).handshakeMsSaved; // 3.5
 */

/**
 * Why a connection closed: `idleTimeout` (the pool closed it after `keepAliveTimeout`
 * without a request), `serverClosed` (the server ended it: FIN, `Connection: close`, a
 * too-short keep-alive hint, HTTP/2 GOAWAY), `error` (reset, timeout, protocol error),
 * `local` (the pool was closed, or a request asked for `reset`).
 *
 * @example
 * const r: CloseReason = "serverClosed";
 */
export type CloseReason = "idleTimeout" | "serverClosed" | "error" | "local";

/**
 * Every {@link CloseReason}, in report order (a bounded metrics label).
 *
 * @example
 * for (const r of CLOSE_REASONS) console.log(r, stats.origins[o].closeReasons[r]);
 */
export const CLOSE_REASONS: readonly CloseReason[] = ["idleTimeout", "serverClosed", "error", "local"];

/**
 * Upper bounds of the requests-per-connection histogram (the last bucket is +Inf).
 *
 * @example
 * REQUESTS_PER_CONNECTION_BUCKETS[0]; // 1: connections that carried a single request
 */
export const REQUESTS_PER_CONNECTION_BUCKETS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 10_000];

/**
 * Upper bounds of the connection-lifetime histogram, in seconds (the last is +Inf).
 *
 * @example
 * LIFETIME_BUCKETS_SECONDS.at(-1); // 3600
 */
export const LIFETIME_BUCKETS_SECONDS: readonly number[] = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600];

/**
 * Upper bounds of the handshake-time histogram (DNS + TCP + TLS of one connection), seconds.
 *
 * @example
 * HANDSHAKE_BUCKETS_SECONDS[0]; // 0.001
 */
export const HANDSHAKE_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * What opening one connection cost, measured on its socket: `dnsMs` from the connect
 * call to the `lookup` event (0 and `lookedUp: false` for an IP literal), `tcpMs` to
 * `connect`, `tlsMs` to `secureConnect` (0 for plain HTTP).
 *
 * @example
 * const t: ConnectTiming = { dnsMs: 0, tcpMs: 0.3, tlsMs: 1.9, lookedUp: false, tls: true };
 */
export interface ConnectTiming {
  readonly dnsMs: number;
  readonly tcpMs: number;
  readonly tlsMs: number;
  readonly lookedUp: boolean;
  readonly tls: boolean;
}

/**
 * One open connection's own numbers.
 *
 * @example
 * const conn: Conn = counters.opened(timing, now);
 * conn.requests; // 0 until its first request is written
 */
export interface Conn {
  /** Its rank among the origin's connections (1 = the first opened). */
  readonly seq: number;
  readonly openedAt: number;
  readonly timing: ConnectTiming;
  requests: number;
}

/**
 * A histogram kept as non-cumulative counts, `bounds.length + 1` of them (last = +Inf).
 *
 * @example
 * const h: HistogramSnapshot = { bounds: [1, 2], counts: [3, 0, 1], sum: 9, count: 4 };
 */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/**
 * Counts `value` into `counts` (non-cumulative, last = +Inf) for the given bounds.
 *
 * @example
 * const counts = [0, 0, 0];
 * observe([1, 2], counts, 1.5); // counts = [0, 1, 0]
 */
export function observe(bounds: readonly number[], counts: number[], value: number): void {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  counts[i]!++;
}

/**
 * The counters of one origin. Every method is O(1) and allocation-free but `opened`
 * (one small object per connection).
 *
 * @example
 * const c = new OriginCounters();
 * c.connectFailed();
 * c.connectErrors; // 1
 */
export class OriginCounters {
  requests = 0;
  reused = 0;
  connectionsCreated = 0;
  connectErrors = 0;
  retries = 0;
  dnsLookupsSaved = 0;
  tlsHandshakesSaved = 0;
  /** Sums over the connections opened, in ms. */
  dnsMs = 0;
  tcpMs = 0;
  tlsMs = 0;
  open = 0;
  h2Connections = 0;
  readonly closeReasons: Record<CloseReason, number> = { idleTimeout: 0, serverClosed: 0, error: 0, local: 0 };
  readonly perConnection = new Array<number>(REQUESTS_PER_CONNECTION_BUCKETS.length + 1).fill(0);
  perConnectionSum = 0;
  readonly lifetime = new Array<number>(LIFETIME_BUCKETS_SECONDS.length + 1).fill(0);
  lifetimeSum = 0;
  readonly handshake = new Array<number>(HANDSHAKE_BUCKETS_SECONDS.length + 1).fill(0);

  /** A connection was established (`h2`: ALPN chose HTTP/2). */
  opened(timing: ConnectTiming, now: number, h2 = false): Conn {
    this.connectionsCreated++;
    this.open++;
    if (h2) this.h2Connections++;
    this.dnsMs += timing.dnsMs;
    this.tcpMs += timing.tcpMs;
    this.tlsMs += timing.tlsMs;
    observe(HANDSHAKE_BUCKETS_SECONDS, this.handshake, (timing.dnsMs + timing.tcpMs + timing.tlsMs) / 1000);
    return { seq: this.connectionsCreated, openedAt: now, timing, requests: 0 };
  }

  /** A request's headers were written on `conn`. */
  sent(conn: Conn): void {
    this.requests++;
    if (conn.requests++ === 0) return;
    this.reused++;
    if (conn.timing.lookedUp) this.dnsLookupsSaved++;
    if (conn.timing.tls) this.tlsHandshakesSaved++;
  }

  /** `conn` closed at `now` for `reason`. */
  closed(conn: Conn, reason: CloseReason, now: number): void {
    this.open--;
    this.closeReasons[reason]++;
    observe(REQUESTS_PER_CONNECTION_BUCKETS, this.perConnection, conn.requests);
    this.perConnectionSum += conn.requests;
    const seconds = Math.max(0, now - conn.openedAt) / 1000;
    observe(LIFETIME_BUCKETS_SECONDS, this.lifetime, seconds);
    this.lifetimeSum += seconds;
  }

  /** A connection attempt failed (refused, timed out, TLS rejected). */
  connectFailed(): void {
    this.connectErrors++;
  }

  /** Mean DNS + TCP + TLS time of the connections opened, ms (0 before the first). */
  meanHandshakeMs(): number {
    return this.connectionsCreated === 0 ? 0 : (this.dnsMs + this.tcpMs + this.tlsMs) / this.connectionsCreated;
  }
}

/**
 * What a closing socket showed, for {@link classifyClose}.
 *
 * @example
 * const seen: CloseSeen = { closing: false, sawEnd: true, errorCode: "UND_ERR_SOCKET", errorMessage: "other side closed", resetAsked: false };
 */
export interface CloseSeen {
  /** The pool was being closed. */
  readonly closing: boolean;
  /** The server's FIN arrived (the socket's `end`). */
  readonly sawEnd: boolean;
  /** The error the socket was destroyed with, if any. */
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  /** A request on this connection asked undici for `reset` (Connection: close). */
  readonly resetAsked: boolean;
}

/**
 * Why a connection closed, from what its socket showed. undici destroys an idle socket
 * after `keepAliveTimeout` with the informational error "socket idle timeout", and one
 * the server said it would close (`Connection: close`, a keep-alive hint shorter than
 * undici's threshold) with "reset".
 *
 * @example
 * classifyClose({ closing: false, sawEnd: false, errorCode: "UND_ERR_INFO", errorMessage: "socket idle timeout", resetAsked: false });
 * // "idleTimeout"
 */
export function classifyClose(s: CloseSeen): CloseReason {
  if (s.closing) return "local";
  if (s.errorCode === "UND_ERR_INFO") {
    if (s.errorMessage === "socket idle timeout") return "idleTimeout";
    if (s.errorMessage === "reset") return s.resetAsked ? "local" : "serverClosed";
  }
  if (s.sawEnd) return "serverClosed";
  if (s.errorCode === undefined) return "local";
  // undici's "other side closed" is the FIN seen by its own listener first.
  if (s.errorCode === "UND_ERR_SOCKET" && s.errorMessage === "other side closed") return "serverClosed";
  return "error";
}

/**
 * The reuse numbers, per origin and in total.
 *
 * @example
 * const r: ReuseStats = pools.stats();
 * r.connectionsReused / r.requests === r.reuseRate;
 */
export interface ReuseStats {
  /** Requests whose headers were written on a connection. */
  readonly requests: number;
  readonly connectionsCreated: number;
  /** Requests written on a connection that had already carried one. */
  readonly connectionsReused: number;
  /** connectionsReused ÷ requests (0 before any request). */
  readonly reuseRate: number;
  readonly dnsLookupsSaved: number;
  readonly tlsHandshakesSaved: number;
  /** Mean measured handshake ms of the origin's connections × its reused requests (summed over origins in the totals). */
  readonly handshakeMsSaved: number;
  readonly connectErrors: number;
  /** Idempotent requests sent again after their pooled connection closed under them. */
  readonly retries: number;
}

/**
 * One origin in `Pools.stats()`.
 *
 * @example
 * const o: OriginStats = pools.stats().origins["https://api.example.com"];
 * o.reuseRate; // 0.998
 */
export interface OriginStats extends ReuseStats {
  /** What the origin's connections speak: `h2` (one multiplexed session), `h1`, or `unknown` before the first connection. */
  readonly protocol: "h1" | "h2" | "unknown";
  /** Connections open now (measured: opened minus closed). */
  readonly open: number;
  /** Open connections with no request in flight (undici's live view). */
  readonly idle: number;
  /** Requests waiting for a connection or a stream (undici's live view). */
  readonly pending: number;
  /** Mean measured cost of opening one connection, ms, and its parts. */
  readonly handshakeMs: { readonly mean: number; readonly dns: number; readonly tcp: number; readonly tls: number };
  /** Connections that negotiated HTTP/2. */
  readonly h2Connections: number;
  /** Requests carried by each closed connection. */
  readonly requestsPerConnection: HistogramSnapshot;
  /** Lifetime of each closed connection, seconds. */
  readonly connectionLifetimeSeconds: HistogramSnapshot;
  /** DNS + TCP + TLS time of each connection opened, seconds. */
  readonly handshakeSeconds: HistogramSnapshot;
  readonly closeReasons: Readonly<Record<CloseReason, number>>;
}

/**
 * The totals of `Pools.stats()`, and every origin.
 *
 * @example
 * const s: PoolsStats = pools.stats();
 * console.log(`${s.connectionsReused} of ${s.requests} requests reused a connection, ~${s.handshakeMsSaved} ms saved`);
 */
export interface PoolsStats extends ReuseStats {
  readonly origins: Readonly<Record<string, OriginStats>>;
}

/**
 * undici's live view of an origin's dispatcher at snapshot time.
 *
 * @example
 * const live: LiveView = { protocol: "h1", idle: pool.stats.free, pending: pool.stats.pending };
 */
export interface LiveView {
  readonly protocol: OriginStats["protocol"];
  readonly idle: number;
  readonly pending: number;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const mean = (sum: number, n: number): number => (n === 0 ? 0 : sum / n);

function histogram(bounds: readonly number[], counts: readonly number[], sum: number): HistogramSnapshot {
  let count = 0;
  for (const c of counts) count += c;
  return { bounds, counts: [...counts], sum, count };
}

/**
 * The snapshot of one origin.
 *
 * @example
 * snapshot(counters, { protocol: "h2", idle: 0, pending: 3 }).pending; // 3
 */
export function snapshot(c: OriginCounters, live: LiveView): OriginStats {
  const n = c.connectionsCreated;
  return {
    protocol: live.protocol,
    open: c.open,
    idle: live.idle,
    pending: live.pending,
    requests: c.requests,
    connectionsCreated: n,
    connectionsReused: c.reused,
    reuseRate: ratio(c.reused, c.requests),
    dnsLookupsSaved: c.dnsLookupsSaved,
    tlsHandshakesSaved: c.tlsHandshakesSaved,
    handshakeMsSaved: c.meanHandshakeMs() * c.reused,
    handshakeMs: { mean: c.meanHandshakeMs(), dns: mean(c.dnsMs, n), tcp: mean(c.tcpMs, n), tls: mean(c.tlsMs, n) },
    connectErrors: c.connectErrors,
    retries: c.retries,
    h2Connections: c.h2Connections,
    requestsPerConnection: histogram(REQUESTS_PER_CONNECTION_BUCKETS, c.perConnection, c.perConnectionSum),
    connectionLifetimeSeconds: histogram(LIFETIME_BUCKETS_SECONDS, c.lifetime, c.lifetimeSum),
    handshakeSeconds: histogram(HANDSHAKE_BUCKETS_SECONDS, c.handshake, (c.dnsMs + c.tcpMs + c.tlsMs) / 1000),
    closeReasons: { ...c.closeReasons },
  };
}

/**
 * The totals over origins (each origin's saving uses its own mean handshake time).
 *
 * @example
 * totals({ "https://a": snapshot(a, liveA) }).requests;
 */
export function totals(origins: Readonly<Record<string, OriginStats>>): PoolsStats {
  let requests = 0, created = 0, reused = 0, dns = 0, tls = 0, ms = 0, errors = 0, retries = 0;
  for (const o of Object.values(origins)) {
    requests += o.requests;
    created += o.connectionsCreated;
    reused += o.connectionsReused;
    dns += o.dnsLookupsSaved;
    tls += o.tlsHandshakesSaved;
    ms += o.handshakeMsSaved;
    errors += o.connectErrors;
    retries += o.retries;
  }
  return {
    requests, connectionsCreated: created, connectionsReused: reused, reuseRate: ratio(reused, requests),
    dnsLookupsSaved: dns, tlsHandshakesSaved: tls, handshakeMsSaved: ms, connectErrors: errors, retries, origins,
  };
}
