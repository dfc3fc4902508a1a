/**
 * The frames the gateway writes to a client on its own (server→client, so unmasked,
 * RFC 6455 §5.1): a ping to tell a dead client from an idle one, and a close with a code
 * and a `retry-after=<ms>` reason that the client SDK obeys before reconnecting. Built
 * when injected (rare), so they allocate. The codes and the reason's codec are shared
 * with the hub and the client: `protocol/close.ts`.
 *
 * @example
 * client.write(closeFrame(CloseCode.SERVICE_RESTART, retryAfterReason(2_500)));
 */
import { isSendableCloseCode } from "../../protocol/close.ts";

/** A close reason is at most 123 bytes: a control payload is ≤ 125, 2 go to the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * An unmasked ping frame with this payload (≤ 125 bytes).
 *
 * @example
 * pingFrame(pingPayload(nonce)); // <89 08 68 66 ...>
 */
export function pingFrame(payload: Uint8Array): Buffer {
  if (payload.length > 125) throw new RangeError(`a ping payload is at most 125 bytes, got ${payload.length}`);
  const out = Buffer.allocUnsafe(2 + payload.length);
  out[0] = 0x89;
  out[1] = payload.length;
  out.set(payload, 2);
  return out;
}

/**
 * An unmasked close frame. The code must be one an endpoint may send (1000–1003,
 * 1007–1014, 3000–4999); the reason is UTF-8 (lone surrogates become U+FFFD) of at most
 * 123 bytes.
 *
 * @example
 * closeFrame(1012, "retry-after=2500");
 */
export function closeFrame(code: number, reason = ""): Buffer {
  if (!isSendableCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
  const len = Buffer.byteLength(reason, "utf8");
  if (len > MAX_CLOSE_REASON_BYTES) throw new RangeError(`a close reason is at most ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8, got ${len}`);
  const out = Buffer.allocUnsafe(4 + len);
  out[0] = 0x88;
  out[1] = 2 + len;
  out.writeUInt16BE(code, 2);
  out.write(reason, 4, "utf8");
  return out;
}
