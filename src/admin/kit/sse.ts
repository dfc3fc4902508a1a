import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The `/api/events` stream: server-sent events, one JSON overview per tick. The
 * payload is serialized once per tick and the same string written to every client, so
 * ten open dashboards cost what one does. Clients are capped, and one that does not
 * read (its socket buffer keeps growing) is dropped rather than buffered for.
 *
 * @example
 * const hub = new SseHub(32);
 * hub.open(req, res, JSON.stringify(overview)); // false (and a 503 sent) when full
 * hub.broadcast(JSON.stringify(overview));      // on every tick
 */
export class SseHub {
  readonly #clients = new Set<ServerResponse>();
  readonly #max: number;
  readonly #maxBuffered: number;

  /**
   * @param max concurrent streams
   * @param maxBuffered bytes a client may leave unread before it is dropped
   */
  constructor(max: number, maxBuffered = 1 << 20) {
    this.#max = max;
    this.#maxBuffered = maxBuffered;
  }

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /** True when another stream would exceed the cap. */
  get full(): boolean {
    return this.#clients.size >= this.#max;
  }

  /** Starts a stream with `first` as its first event. */
  open(req: IncomingMessage, res: ServerResponse, first: string): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // Proxies in front of the admin port (nginx) must not buffer the stream.
      "x-accel-buffering": "no",
    });
    res.socket?.setNoDelay(true);
    // Reconnect quickly after a gateway restart; EventSource does it by itself.
    res.write(`retry: 2000\n\n`);
    res.write(frame(first));
    this.#clients.add(res);
    const drop = () => this.#clients.delete(res);
    req.on("close", drop);
    res.on("close", drop);
  }

  /** Writes one event to every client. */
  broadcast(json: string): void {
    const data = frame(json);
    for (const res of this.#clients) {
      if (res.writableLength > this.#maxBuffered) {
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(data);
    }
  }

  /** Ends every stream (server closing). */
  closeAll(): void {
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}

function frame(json: string): string {
  // JSON.stringify never emits a raw newline, so one data: line carries the event.
  return `data: ${json}\n\n`;
}
