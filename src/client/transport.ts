import { PROTOCOL, type HubMessage } from "../protocol/hub.ts";

/**
 * How the client carries `holdfast.v1` messages (`docs/protocol.md`): a WebSocket, or
 * SSE down + `POST /send` up. A transport reports `open` once it can send, every
 * message from the hub, and exactly one `close`; after `close()` (the client abandoning
 * it) it reports nothing more.
 *
 * @example
 * const t = openWebSocket("wss://example.com/connect", { open() {}, message(m) {}, close(code, reason) {} }, WebSocket);
 * t.send('{"id":1,"type":"connect"}');
 * t.close();
 */

/** The transports, by the names used in the `transports` option. */
export type TransportName = "websocket" | "sse";

export interface TransportHandlers {
  /** Ready to send. */
  open(): void;
  /** One message from the hub. */
  message(m: HubMessage): void;
  /** The transport ended, with a close code and reason (1006 when lost). Called once. */
  close(code: number, reason: string): void;
}

export interface Transport {
  readonly name: TransportName;
  /** Sends one JSON-encoded client message. */
  send(json: string): void;
  /** Abandons the transport: no handler is called after this. */
  close(): void;
}

/**
 * Parses one frame from the hub; null (after telling `close`) when it is not a JSON
 * object with a string `type`.
 *
 * @example
 * parseHubMessage('{"type":"ping"}'); // { type: "ping" }
 */
export function parseHubMessage(text: string): HubMessage | null {
  try {
    const m = JSON.parse(text) as unknown;
    if (typeof m === "object" && m !== null && typeof (m as { type?: unknown }).type === "string") return m as HubMessage;
  } catch {
    // fall through
  }
  return null;
}

/**
 * A WebSocket transport offering the `holdfast.v1` subprotocol.
 *
 * @example
 * openWebSocket(url, handlers, globalThis.WebSocket);
 */
export function openWebSocket(url: string, h: TransportHandlers, WS: typeof WebSocket): Transport {
  let done = false;
  const finish = (code: number, reason: string) => {
    if (done) return;
    done = true;
    detach();
    h.close(code, reason);
  };
  let ws: WebSocket;
  try {
    ws = new WS(url, PROTOCOL);
  } catch (e) {
    queueMicrotask(() => finish(1006, `cannot open ${url}: ${(e as Error)?.message ?? String(e)}`));
    return { name: "websocket", send() {}, close: () => void (done = true) };
  }
  const detach = () => {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
  };
  ws.onopen = () => h.open();
  ws.onmessage = (e) => {
    const m = typeof e.data === "string" ? parseHubMessage(e.data) : null;
    if (m !== null) return h.message(m);
    finish(1006, "the hub sent a frame that is not a holdfast.v1 message");
    ws.close();
  };
  ws.onerror = () => {};
  ws.onclose = (e) => finish(e.code, e.reason);
  return {
    name: "websocket",
    send: (json) => {
      if (!done && ws.readyState === 1) ws.send(json);
    },
    close: () => {
      if (done) return;
      done = true;
      detach();
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    },
  };
}
