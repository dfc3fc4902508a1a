/**
 * One client connection, whatever its transport: its state in the protocol (waiting
 * for `connect`, open, closing), its identity and subscriptions, its heartbeat and
 * token deadlines (read by the node's one sweep timer, never a timer per connection),
 * and its bounded send queue.
 *
 * The send queue is measured on the transport's own buffer (the socket's unsent
 * bytes), so nothing is copied while a client keeps up. When a message would take it
 * past `sendQueue.maxBytes`:
 * - `close`: the connection is closed with `1013` and a `retry-after` hint;
 * - `drop-oldest`: messages wait in a queue of their own (bounded by the same size)
 *   until the socket drains, and the oldest droppable ones go first. A dropped
 *   publication on a channel with history ends that subscription with an `unsubscribe`
 *   push (`resubscribe: true`) in its place, and the channel's later publications are
 *   dropped from the queue too: the client resubscribes from its last offset and
 *   recovers exactly what it missed.
 *
 * @example
 * const conn = new Connection(id, transport, host, now);
 * conn.send(new Outgoing('{"type":"ping"}'));
 */
import type { StreamPosition } from "../../protocol/hub.ts";
import type { Identity } from "../core/permissions.ts";
import type { BrokerPublication } from "../broker/types.ts";
import { Outgoing } from "./frames.ts";

/** How a connection's bytes leave: a WebSocket or an SSE stream. */
export interface Transport {
  readonly kind: "websocket" | "sse";
  /** Bytes written but not yet handed to the kernel. */
  buffered(): number;
  write(out: Outgoing): void;
  /** Calls `cb` once, when everything written so far has left the process's buffer. */
  onDrain(cb: () => void): void;
  /** A close frame (WebSocket) or a `disconnect` push and the end of the stream (SSE). */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
}

/** What a connection needs from its node. */
export interface ConnectionHost {
  readonly maxQueueBytes: number;
  readonly onOverflow: "close" | "drop-oldest";
  /** Where messages dropped by drop-oldest are counted. */
  readonly stats: { dropped: number };
  /** The queue overflowed: count it; with `close`, the connection is closed by the caller. */
  overflowed(conn: Connection): void;
  /** drop-oldest dropped a publication of `channel`: end that subscription (returns the push to queue in its place). */
  dropForQueue(conn: Connection, channel: string): Outgoing | undefined;
}

/** One channel a connection is subscribed to (or subscribing: `buffer` is set until the decision). */
export interface Subscription {
  readonly conn: Connection;
  readonly channel: string;
  /** Live publications held while the subscribe is pending; null once active. */
  buffer: BrokerPublication[] | null;
  /** Publications at or below this offset were already given to this client. */
  after: number;
  /** The position at subscribe (for the admin page). */
  position: StreamPosition | undefined;
}

export type ConnectionState = "connecting" | "open" | "closing" | "closed";

/**
 * A client connection.
 *
 * @example
 * if (conn.state === "open") conn.send(out);
 */
export class Connection {
  readonly id: string;
  readonly transport: Transport;
  readonly openedAt: number;
  state: ConnectionState = "connecting";
  identity: Identity | undefined;
  /** `name` from the connect command (client library), for the admin page. */
  clientName = "";
  readonly subs = new Map<string, Subscription>();
  /** The last publish in flight per channel: the next one waits for it (order kept). */
  readonly publishing = new Map<string, Promise<void>>();
  /** Last message received (ms). */
  lastSeen: number;
  /** When the last `ping` was sent; 0 when answered. */
  pingSentAt = 0;
  /** When the next `ping` is due. */
  nextPingAt: number;
  /** When the `expired` push was sent (0: not sent): the refresh deadline starts there. */
  expiredAt = 0;
  /** When a close started (0: not closing); the sweep terminates a close that hangs. */
  closingAt = 0;
  /** Messages sent, and dropped by drop-oldest (admin page). */
  sent = 0;
  dropped = 0;
  readonly #host: ConnectionHost;
  #queue: Outgoing[] | null = null;
  #queuedBytes = 0;

  constructor(id: string, transport: Transport, host: ConnectionHost, now: number, pingInterval: number) {
    this.id = id;
    this.transport = transport;
    this.#host = host;
    this.openedAt = now;
    this.lastSeen = now;
    this.nextPingAt = now + pingInterval;
  }

  /** Bytes waiting: the transport's buffer and drop-oldest's own queue. */
  get queuedBytes(): number {
    return this.transport.buffered() + this.#queuedBytes;
  }

  /**
   * Sends one message, within the send queue's bound (see the module comment).
   *
   * @example
   * conn.send(new Outgoing(JSON.stringify(reply), undefined, 0, false));
   */
  send(out: Outgoing): void {
    if (this.state === "closing" || this.state === "closed") return;
    const t = this.transport;
    if (this.#queue === null) {
      if (t.buffered() + out.bytes <= this.#host.maxQueueBytes || t.buffered() === 0) {
        t.write(out);
        this.sent++;
        return;
      }
      this.#host.overflowed(this);
      if (this.#host.onOverflow === "close") return;
      this.#queue = [];
      t.onDrain(() => this.#flush());
    }
    this.#enqueue(out);
  }

  #enqueue(out: Outgoing): void {
    const queue = this.#queue!;
    queue.push(out);
    this.#queuedBytes += out.bytes;
    const max = this.#host.maxQueueBytes;
    for (let i = 0; this.#queuedBytes > max && i < queue.length; ) {
      const victim = queue[i]!;
      if (!victim.droppable) {
        i++;
        continue;
      }
      this.#removeAt(i);
      if (victim.channel !== undefined && victim.offset > 0 && this.subs.has(victim.channel)) {
        // The rest of this channel's stream is useless to the client past the hole.
        for (let j = queue.length - 1; j >= i; j--) if (queue[j]!.channel === victim.channel) this.#removeAt(j);
        const push = this.#host.dropForQueue(this, victim.channel);
        if (push !== undefined) {
          queue.push(push);
          this.#queuedBytes += push.bytes;
        }
      }
    }
  }

  #removeAt(i: number): void {
    const [gone] = this.#queue!.splice(i, 1);
    this.#queuedBytes -= gone!.bytes;
    this.dropped++;
    this.#host.stats.dropped++;
  }

  #flush(): void {
    const queue = this.#queue;
    if (queue === null || this.state === "closed") return;
    const t = this.transport;
    let i = 0;
    while (i < queue.length && t.buffered() < this.#host.maxQueueBytes) {
      const out = queue[i++]!;
      this.#queuedBytes -= out.bytes;
      t.write(out);
      this.sent++;
    }
    queue.splice(0, i);
    if (queue.length === 0) {
      this.#queue = null;
      this.#queuedBytes = 0;
    } else {
      t.onDrain(() => this.#flush());
    }
  }
}
