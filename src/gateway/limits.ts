import type { Socket } from "node:net";
import type { ListenerLimits } from "../config/types.ts";

/** {@link ConnectionLimits.accept} and {@link ConnectionLimits.client}: the connection is counted. */
export const LIMIT_OK = 0;
/** Refused: the listener has `limits.maxConnections` open in this process. */
export const LIMIT_LISTENER = 1;
/** Refused: the client's address has `limits.maxConnectionsPerClient` open in this process. */
export const LIMIT_CLIENT = 2;

type Counted = Socket & { hfLimitIp?: string };

/**
 * The open connections of one listener in this process, in total and by client address,
 * for `listeners[].limits` (and the refusals, for `/metrics`). Counted on the accept path
 * only: a connection is counted when accepted and uncounted when its socket closes (one
 * shared `close` listener, no closure per connection); nothing runs per request. The
 * counts survive a reload of the listener, so a limit set by a reload applies at once to
 * the connections already open.
 *
 * @example
 * const limits = new ConnectionLimits();
 * if (limits.accept(socket, cfg.limits) !== LIMIT_OK) return refuse(socket);
 * if (limits.client(socket, clientIp(socket), cfg.limits) !== LIMIT_OK) return refuse(socket);
 */
export class ConnectionLimits {
  /** Connections open on the listener (including those still in a TLS handshake or PROXY header). */
  open = 0;
  /** Connections refused since start by `maxConnections`. */
  refusedListener = 0;
  /** Connections refused since start by `maxConnectionsPerClient`. */
  refusedClient = 0;
  readonly #byClient = new Map<string, number>();
  readonly #release: (this: Counted) => void;

  constructor() {
    const byClient = this.#byClient;
    const release = (ip: string | undefined): void => {
      this.open--;
      if (ip === undefined) return;
      const n = (byClient.get(ip) ?? 1) - 1;
      if (n === 0) byClient.delete(ip);
      else byClient.set(ip, n);
    };
    this.#release = function (this: Counted) {
      release(this.hfLimitIp);
    };
  }

  /** A connection just accepted: counted until it closes, or refused ({@link LIMIT_LISTENER}) when the listener is full. */
  accept(socket: Socket, limits: ListenerLimits): number {
    if (limits.maxConnections > 0 && this.open >= limits.maxConnections) {
      this.refusedListener++;
      return LIMIT_LISTENER;
    }
    this.open++;
    socket.on("close", this.#release);
    return LIMIT_OK;
  }

  /**
   * The client's address is known — the socket's peer at accept, or a PROXY header's —
   * for a connection {@link accept} counted: counted for `ip` too, or refused
   * ({@link LIMIT_CLIENT}).
   */
  client(socket: Socket, ip: string, limits: ListenerLimits): number {
    const n = this.#byClient.get(ip) ?? 0;
    if (limits.maxConnectionsPerClient > 0 && n >= limits.maxConnectionsPerClient) {
      this.refusedClient++;
      return LIMIT_CLIENT;
    }
    this.#byClient.set(ip, n + 1);
    (socket as Counted).hfLimitIp = ip;
    return LIMIT_OK;
  }

  /** Open connections from `ip` (tests, diagnostics). */
  openFrom(ip: string): number {
    return this.#byClient.get(ip) ?? 0;
  }
}

/**
 * The address a limit counts: IPv4-mapped IPv6 (`::ffff:10.0.0.7`, on a `[::]`
 * listener) as IPv4, so one client is one key whichever way it came.
 *
 * @example
 * clientKey("::ffff:10.0.0.7"); // "10.0.0.7"
 */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined) return "";
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/**
 * What a refused client is told (the body of the `503`, and the access log's `reason`).
 *
 * @example
 * limitReason(LIMIT_CLIENT, "10.0.0.7"); // "too many connections from 10.0.0.7"
 */
export function limitReason(limit: number, ip: string): string {
  return limit === LIMIT_CLIENT ? `too many connections from ${ip}` : "the listener has too many connections";
}
