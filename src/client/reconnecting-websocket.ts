import { ABNORMAL, Reconnector, type ReconnectOptions, type StateInfo } from "./reconnector.ts";
import { systemTimers } from "./timers.ts";
import { Watchdog } from "./watchdog.ts";

/**
 * A drop-in for the browser `WebSocket` that reconnects (DESIGN §7), for apps that talk
 * to any WebSocket server rather than the hub: the same events (`open`, `message`,
 * `close`, `error`, and the `on*` properties), `send`, `close`, `readyState`,
 * `binaryType`, with the SDK's full-jitter backoff, `retry-after` hints (`1012`/`1013`
 * from the gateway), terminal codes (4500–4999 stop), a connect timeout and an optional
 * heartbeat watchdog.
 *
 * Differences from `WebSocket`, on purpose: `open` and `close` fire once per underlying
 * socket (each drop is a `close` event, and a reconnect another `open`); `readyState`
 * is `CONNECTING` while waiting to reconnect; `send()` before the socket is open
 * queues (up to `maxQueued`, in order) instead of throwing. Messages sent on a socket
 * that then drops are not re-sent: use `connect()` (the hub protocol) for delivery
 * guarantees.
 *
 * @example
 * const ws = new ReconnectingWebSocket("wss://example.com/feed", [], { heartbeat: { timeout: 40_000 } });
 * ws.onmessage = (e) => render(JSON.parse(e.data));
 * ws.addEventListener("close", (e) => console.log("dropped", e.code, e.reason));
 * ws.send("hello");   // queued until open
 * ws.close();         // final
 */

type Data = Parameters<WebSocket["send"]>[0];
type Handler<E extends Event> = ((this: ReconnectingWebSocket, ev: E) => unknown) | null;

export interface ReconnectingWebSocketOptions extends ReconnectOptions {
  /**
   * Reconnect after `timeout` ms with nothing received. With `interval` and `message`,
   * send `message` whenever nothing was received for `interval` ms (an application ping,
   * for servers that answer one).
   */
  heartbeat?: { timeout: number; interval?: number; message?: Data };
  /** Messages `send()` may queue while not open (default 1000); beyond, `send()` throws. */
  maxQueued?: number;
  /** The WebSocket class (default `globalThis.WebSocket`), e.g. `ws` on older Node. */
  WebSocket?: typeof WebSocket;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function closeEvent(code: number, reason: string, wasClean: boolean): CloseEvent {
  if (typeof CloseEvent === "function") return new CloseEvent("close", { code, reason, wasClean });
  return Object.assign(new Event("close"), { code, reason, wasClean }) as CloseEvent;
}

/**
 * A reconnecting drop-in for `WebSocket`; see the module comment.
 *
 * @example
 * const ws = new ReconnectingWebSocket("wss://example.com/feed");
 * ws.addEventListener("message", (e) => console.log(e.data));
 */
export class ReconnectingWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  onopen: Handler<Event> = null;
  onmessage: Handler<MessageEvent> = null;
  onclose: Handler<CloseEvent> = null;
  onerror: Handler<Event> = null;

  readonly #url: string | (() => string | Promise<string>);
  readonly #protocols: string | string[] | undefined;
  readonly #WS: typeof WebSocket;
  readonly #maxQueued: number;
  readonly #heartbeat: ReconnectingWebSocketOptions["heartbeat"];
  readonly #r: Reconnector;
  readonly #pinger: Watchdog | null;
  #ws: WebSocket | null = null;
  #binaryType: BinaryType = "blob";
  #queue: Data[] = [];
  #lastUrl = "";
  /** close() was called: the next close event of the socket is the final one. */
  #closing = false;
  #closeArgs: [number, string] = [1000, ""];

  /**
   * `url` may be a function (sync or async) called before every attempt, e.g. to put a
   * fresh token in the query string.
   */
  constructor(url: string | URL | (() => string | Promise<string>), protocols?: string | string[], options: ReconnectingWebSocketOptions = {}) {
    super();
    const WS = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WS !== "function") throw new TypeError("no WebSocket class: pass options.WebSocket (Node < 22 has no global WebSocket)");
    this.#url = typeof url === "function" ? url : String(url);
    this.#lastUrl = typeof url === "function" ? "" : String(url);
    this.#protocols = protocols;
    this.#WS = WS;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#heartbeat = options.heartbeat;
    const timers = systemTimers();
    const hb = options.heartbeat;
    if (hb !== undefined && !(hb.timeout > 0)) throw new RangeError(`heartbeat.timeout must be a positive number of ms, got ${hb.timeout}`);
    this.#pinger = hb?.interval !== undefined && hb.message !== undefined
      ? new Watchdog(timers, () => {
          if (this.#ws?.readyState === OPEN) this.#ws.send(hb.message!);
          this.#pinger?.start(hb.interval as number);
        })
      : null;
    this.#r = new Reconnector(options, {
      dial: () => void this.#dial(),
      hangUp: (code, reason) => this.#hangUp(code, reason),
      state: (s, info) => this.#onState(s, info),
    }, { timers, random: Math.random });
    this.#r.start();
  }

  get url(): string {
    return this.#lastUrl;
  }

  get readyState(): number {
    if (this.#r.state === "closed") return this.#ws !== null ? CLOSING : CLOSED;
    if (this.#closing) return CLOSING;
    return this.#r.state === "open" && this.#ws !== null ? OPEN : CONNECTING;
  }

  get protocol(): string {
    return this.#ws?.protocol ?? "";
  }

  get extensions(): string {
    return this.#ws?.extensions ?? "";
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(t: BinaryType) {
    this.#binaryType = t;
    if (this.#ws !== null) this.#ws.binaryType = t;
  }

  /** Consecutive failed attempts (0 once a connection stayed up `minUptime`). */
  get retryCount(): number {
    return this.#r.attempt;
  }

  /** Sends now when open; otherwise queues, in order, until the next open. */
  send(data: Data): void {
    if (this.#r.state === "closed" || this.#closing) throw new DOMException("send() after close(): the socket is closed for good", "InvalidStateError");
    if (this.#r.state === "open" && this.#ws !== null) return this.#ws.send(data);
    if (this.#queue.length >= this.#maxQueued) throw new DOMException(`send() while not open and ${this.#maxQueued} messages already queued (maxQueued)`, "InvalidStateError");
    this.#queue.push(data);
  }

  /** Closes for good (no reconnect); queued messages are discarded. */
  close(code = 1000, reason = ""): void {
    if (this.#closing || this.#r.state === "closed") return;
    this.#closing = true;
    this.#queue = [];
    this.#closeArgs = [code, reason];
    this.#r.close(code, reason); // stops every timer, then #hangUp() below
  }

  async #dial(): Promise<void> {
    let url: string;
    try {
      url = typeof this.#url === "function" ? await this.#url() : this.#url;
    } catch (e) {
      this.#emit(new Event("error"));
      return this.#r.dropped(ABNORMAL, `url provider failed: ${(e as Error)?.message ?? String(e)}`);
    }
    if (this.#r.state !== "connecting") return;
    this.#lastUrl = url;
    let ws: WebSocket;
    try {
      ws = new this.#WS(url, this.#protocols);
    } catch (e) {
      // A bad URL is the app's bug: say so and stop instead of retrying forever.
      this.#emit(new Event("error"));
      this.#closing = true;
      this.#r.close(ABNORMAL, `cannot open ${url}: ${(e as Error)?.message ?? String(e)}`);
      return;
    }
    this.#ws = ws;
    ws.binaryType = this.#binaryType;
    ws.onopen = () => this.#r.opened();
    ws.onmessage = (e) => {
      this.#r.alive();
      this.#pinger?.seen();
      this.#emit(new MessageEvent("message", { data: e.data, origin: e.origin, lastEventId: e.lastEventId }));
    };
    ws.onerror = () => this.#emit(new Event("error"));
    ws.onclose = (e) => {
      this.#detach(ws);
      this.#r.dropped(e.code, e.reason); // first, so readyState is right in the handlers
      this.#emit(closeEvent(e.code, e.reason, e.wasClean));
    };
  }

  #hangUp(code: number, reason: string): void {
    const ws = this.#ws;
    if (this.#closing) {
      this.#pinger?.stop();
      if (ws === null || ws.readyState === CLOSED) {
        this.#ws = null;
        queueMicrotask(() => this.#emit(closeEvent(code, reason, true)));
        return;
      }
      // The final close: let the socket's own close event (wasClean, the server's answer) end it.
      ws.onclose = (e) => {
        this.#ws = null;
        this.#emit(closeEvent(e.code, e.reason, e.wasClean));
      };
      ws.close(...this.#closeArgs);
      return;
    }
    if (ws === null) return;
    this.#detach(ws);
    try {
      ws.close();
    } catch {
      // already closing
    }
    this.#emit(closeEvent(code, reason, false));
  }

  #detach(ws: WebSocket): void {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    if (this.#ws === ws) this.#ws = null;
    this.#pinger?.stop();
  }

  #onState(state: string, _info: StateInfo): void {
    if (state !== "open") return;
    const hb = this.#heartbeat;
    if (hb !== undefined) this.#r.heartbeat(hb.timeout);
    if (hb?.interval !== undefined) this.#pinger?.start(hb.interval);
    // Queued messages first: they were sent before anything the open handlers send.
    const ws = this.#ws;
    for (const m of this.#queue.splice(0)) ws?.send(m);
    this.#emit(new Event("open"));
  }

  #emit(ev: Event): void {
    this.dispatchEvent(ev);
    const h = (this as unknown as Record<string, unknown>)[`on${ev.type}`];
    if (typeof h !== "function") return;
    try {
      h.call(this, ev);
    } catch (e) {
      // Like an event listener's exception: reported, never thrown into the socket's state.
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}
