import { createHmac, randomBytes } from "node:crypto";
import type { Mac } from "../core/sticky/cookie.ts";

/**
 * The Node-backed pieces of the sticky cookie codec, kept out of the PURE `sticky/`
 * folder: HMAC-SHA256 and the key.
 *
 * @example
 * const codec = createCookieCodec({ key: stickyKey(backend.sticky.secret), mac: hmacSha256 });
 */

/**
 * HMAC-SHA256 through `node:crypto` (32 bytes; the codec keeps 16).
 *
 * @example
 * hmacSha256(new TextEncoder().encode("k"), new Uint8Array([1, 2])).length; // 32
 */
export const hmacSha256: Mac = (key, data) => createHmac("sha256", key).update(data).digest();

/**
 * The sticky cookie key: the UTF-8 bytes of the configured `secret`, or 32 random bytes.
 *
 * A generated key lives as long as the process, so cookies die with a restart, and every
 * process that must accept them has to share it: with `workers: N` generate it once in the
 * control plane and pass the bytes to the workers; across gateways (`cluster`) configure
 * `secret`.
 *
 * @example
 * const key = stickyKey(process.env.HOLDFAST_STICKY_SECRET); // random when unset
 */
export function stickyKey(secret: string | undefined): Uint8Array {
  if (secret !== undefined && secret !== "") return new TextEncoder().encode(secret);
  return new Uint8Array(randomBytes(32));
}
