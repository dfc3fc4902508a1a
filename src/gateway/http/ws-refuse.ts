import { createHash } from "node:crypto";
import { closeFrame } from "../../codec/ws/build.ts";
import { retryAfterReason } from "../../protocol/close.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The gateway's own answer to a WebSocket upgrade it must refuse (admission over its
 * rate): a browser cannot read the status of a refused handshake, so the handshake is
 * accepted and the connection closed at once with `1013` and `retry-after=<ms>`, which
 * the client SDK obeys (DESIGN §4 "Admission"). `key` is the request's
 * `Sec-WebSocket-Key`; without one, a plain 503 is the only honest answer (returns null).
 *
 * @example
 * socket.end(acceptThenClose(key, 1013, 1500));
 */
export function acceptThenClose(key: string | undefined, code: number, retryAfterMs: number): Buffer | null {
  if (key === undefined || key.length === 0) return null;
  const accept = createHash("sha1").update(key + GUID).digest("base64");
  const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), closeFrame(code, retryAfterReason(retryAfterMs))]);
}
