/**
 * What really happened on the wire, from undici's own `node:diagnostics_channel` events
 * (`undici:client:connected`, `undici:client:sendHeaders`) and each connection's socket
 * (`end`, `error`, `close`), routed to the origin that owns the socket. One process-wide
 * subscription, held while at least one `Pools` is open: the channels are shared by
 * every undici in the process (Node's own `fetch` included), so events on sockets no
 * pool opened are looked up and dropped.
 *
 * @example
 * retain();                         // a Pools opens
 * claim(socket, origin, timing);    // its connector opened `socket`
 * // undici publishes connected / sendHeaders; the counters move
 * failedOn(err)?.openedAt;          // which connection an error came from
 * release();                        // the Pools closed
 */
import diagnostics from "node:diagnostics_channel";
import type { Socket } from "node:net";
import { classifyClose, type Conn, type ConnectTiming, type OriginCounters } from "./stats.ts";

/**
 * The side of an origin that tracking reports to.
 *
 * @example
 * const owner: Owner = { counters, closing: false, connected: (alpn) => {}, connectFailed: () => {} };
 */
export interface Owner {
  readonly counters: OriginCounters;
  /** The pool is closing: connections closing now close for reason `local`. */
  readonly closing: boolean;
  /** A connection was established; `alpn` is what TLS negotiated (`false` without TLS). */
  connected(alpn: string | false | null | undefined): void;
  /** A connection attempt failed. */
  connectFailed(): void;
}

interface Tracked {
  readonly owner: Owner;
  readonly conn: Conn;
  sawEnd: boolean;
  error: (Error & { code?: string }) | undefined;
  resetAsked: boolean;
}

/** Sockets our connectors opened, until undici says it took them. */
const claimed = new WeakMap<object, { owner: Owner; timing: ConnectTiming }>();
/** Established connections. */
const tracked = new WeakMap<object, Tracked>();
/** Errors a tracked socket was destroyed with (undici hands the same object to the request). */
const errors = new WeakMap<object, Conn>();

/**
 * Marks `socket` as opened by `owner`'s connector, with what opening it cost.
 *
 * @example
 * claim(socket, origin, { dnsMs: 0.4, tcpMs: 0.2, tlsMs: 1.8, lookedUp: true, tls: true });
 */
export function claim(socket: Socket, owner: Owner, timing: ConnectTiming): void {
  claimed.set(socket, { owner, timing });
}

/**
 * The connection an error was raised on, if a pool's connection was destroyed with it.
 *
 * @example
 * const conn = failedOn(err);
 * const pooled = conn !== undefined && conn.seq <= openedBeforeTheRequest;
 */
export function failedOn(err: unknown): Conn | undefined {
  return typeof err === "object" && err !== null ? errors.get(err) : undefined;
}

interface ConnectedMessage {
  readonly socket: Socket & { alpnProtocol?: string | false | null };
}

function onConnected(message: unknown): void {
  const socket = (message as ConnectedMessage).socket;
  const c = claimed.get(socket);
  if (c === undefined) return;
  claimed.delete(socket);
  const alpn = socket.alpnProtocol;
  const t: Tracked = {
    owner: c.owner,
    conn: c.owner.counters.opened(c.timing, performance.now(), alpn === "h2"),
    sawEnd: false,
    error: undefined,
    resetAsked: false,
  };
  tracked.set(socket, t);
  // Listeners per connection, not per request. undici's own listeners were added first.
  socket.once("end", () => (t.sawEnd = true));
  socket.on("error", (err: Error & { code?: string }) => {
    t.error ??= err;
    errors.set(err, t.conn);
  });
  socket.once("close", () => {
    const reason = classifyClose({
      closing: t.owner.closing, sawEnd: t.sawEnd, errorCode: t.error?.code, errorMessage: t.error?.message, resetAsked: t.resetAsked,
    });
    t.owner.counters.closed(t.conn, reason, performance.now());
  });
  c.owner.connected(alpn);
}

interface SendHeadersMessage {
  readonly socket: object;
  readonly request: { readonly reset?: boolean | null };
}

function onSendHeaders(message: unknown): void {
  const m = message as SendHeadersMessage;
  const t = tracked.get(m.socket);
  if (t === undefined) return;
  if (m.request.reset === true) t.resetAsked = true;
  t.owner.counters.sent(t.conn);
}

let users = 0;

/**
 * Subscribes to undici's channels (the first user does).
 *
 * @example
 * retain(); // in the Pools constructor
 */
export function retain(): void {
  if (users++ > 0) return;
  diagnostics.subscribe("undici:client:connected", onConnected);
  diagnostics.subscribe("undici:client:sendHeaders", onSendHeaders);
}

/**
 * Unsubscribes when the last user is gone, so undici publishes nothing for nobody.
 *
 * @example
 * release(); // after Pools.close()
 */
export function release(): void {
  if (users === 0 || --users > 0) return;
  diagnostics.unsubscribe("undici:client:connected", onConnected);
  diagnostics.unsubscribe("undici:client:sendHeaders", onSendHeaders);
}
