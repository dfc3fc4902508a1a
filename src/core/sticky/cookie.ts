import { isToken } from "../../config/hash-key.ts";

/**
 * The sticky cookie (DESIGN §4 "Stickiness"): its value is an opaque token naming a
 * server, never an address. PURE: the HMAC arrives as a parameter; the Node-backed one is
 * `gateway/sticky-mac.ts`.
 *
 * Token = base64url(V ‖ HMAC-SHA256(key, V ‖ u32be(len backend) ‖ backend ‖ server)[0..16]),
 * V the format version. The token *is* the MAC, so it says nothing about the server (not
 * even its name) and a token minted for one backend is worthless for another. Decoding
 * compares the value, in constant time, with the token of every server of the backend;
 * tokens are computed once per (backend, server) and cached, so a request costs n × 23
 * character comparisons and no MAC.
 *
 * @example
 * const codec = createCookieCodec({ key: stickyKey(cfg.secret), mac: hmacSha256 });
 * const value = codec.encode("api", "api1");             // "AV3k…" (23 chars)
 * codec.decode("api", value, ["api1", "api2"]);          // "api1"
 * res.setHeader("set-cookie", setCookieHeader("HF_SRV", value, { ttlMs: 3_600_000, secure: true }));
 */

/**
 * A keyed MAC: returns at least 16 bytes (HMAC-SHA256 gives 32; 16 are kept).
 *
 * @example
 * const mac: Mac = (key, data) => createHmac("sha256", key).update(data).digest();
 */
export type Mac = (key: Uint8Array, data: Uint8Array) => Uint8Array;

/**
 * What the codec matches a cookie against: a server name, or anything with a `name`
 * (a `ServerView`), so the sticky decision needs no array of names per request.
 *
 * @example
 * const candidates: readonly Named[] = ["api1", { name: "api2" }];
 */
export type Named = string | { readonly name: string };

/**
 * Signs and verifies sticky-cookie values for any backend.
 *
 * @example
 * const i = codec.indexOf("api", cookieValue, backendServers); // -1 when not ours
 */
export interface CookieCodec {
  /** The cookie value naming `serverName` of `backend`. */
  encode(backend: string, serverName: string): string;
  /** The server name `value` stands for among `servers`; `undefined` when tampered, truncated, foreign or unknown. Never throws. */
  decode(backend: string, value: string, servers: readonly Named[]): string | undefined;
  /** Like `decode` but the index into `servers`, `-1` when none. */
  indexOf(backend: string, value: string, servers: readonly Named[]): number;
}

/**
 * Options of {@link createCookieCodec}.
 *
 * @example
 * const opts: CookieCodecOptions = { key: new Uint8Array(32), mac: hmacSha256 };
 */
export interface CookieCodecOptions {
  /** The HMAC key: the config's `secret` bytes, or 32 random bytes generated at start. */
  readonly key: Uint8Array;
  readonly mac: Mac;
}

/** Bump to invalidate every cookie in the field (they then fall back and are re-issued). */
const VERSION = 1;
const MAC_BYTES = 16;
/** base64url of 1 + 16 bytes, unpadded. */
const TOKEN_CHARS = Math.ceil(((1 + MAC_BYTES) * 8) / 6);
/** Past this many cached tokens (names churned by reloads), start over rather than grow. */
const MAX_CACHED = 4096;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const utf8 = new TextEncoder();

/**
 * Builds a cookie codec over a key and a MAC function.
 *
 * @example
 * const codec = createCookieCodec({ key, mac: hmacSha256 });
 * codec.decode("api", "garbage", ["api1"]); // undefined
 */
export function createCookieCodec(opts: CookieCodecOptions): CookieCodec {
  if (opts.key.length === 0) throw new RangeError("sticky cookie key must not be empty");
  const key = opts.key.slice(); // the caller may reuse its buffer
  const mac = opts.mac;
  const cache = new Map<string, Map<string, string>>();
  let cached = 0;

  function token(backend: string, server: string): string {
    let perBackend = cache.get(backend);
    const hit = perBackend?.get(server);
    if (hit !== undefined) return hit;
    const t = sign(key, mac, backend, server);
    if (cached >= MAX_CACHED) {
      cache.clear();
      cached = 0;
      perBackend = undefined;
    }
    if (perBackend === undefined) {
      perBackend = new Map();
      cache.set(backend, perBackend);
    }
    perBackend.set(server, t);
    cached++;
    return t;
  }

  function indexOf(backend: string, value: string, servers: readonly Named[]): number {
    if (typeof value !== "string" || value.length !== TOKEN_CHARS) return -1;
    let found = -1;
    // No early exit, neither inside a comparison nor across servers: the time taken
    // depends on the number of servers, never on how much of a forged value is right.
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      const t = token(backend, typeof s === "string" ? s : s.name);
      let diff = 0;
      for (let j = 0; j < TOKEN_CHARS; j++) diff |= value.charCodeAt(j) ^ t.charCodeAt(j);
      if (diff === 0 && found < 0) found = i;
    }
    return found;
  }

  return {
    encode: token,
    indexOf,
    decode(backend, value, servers) {
      const i = indexOf(backend, value, servers);
      if (i < 0) return undefined;
      const s = servers[i]!;
      return typeof s === "string" ? s : s.name;
    },
  };
}

function sign(key: Uint8Array, mac: Mac, backend: string, server: string): string {
  const b = utf8.encode(backend);
  const s = utf8.encode(server);
  // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
  const data = new Uint8Array(1 + 4 + b.length + s.length);
  data[0] = VERSION;
  new DataView(data.buffer).setUint32(1, b.length);
  data.set(b, 5);
  data.set(s, 5 + b.length);
  const m = mac(key, data);
  if (m.length < MAC_BYTES) throw new RangeError(`sticky cookie MAC must return at least ${MAC_BYTES} bytes, got ${m.length}`);
  const out = new Uint8Array(1 + MAC_BYTES);
  out[0] = VERSION;
  out.set(m.subarray(0, MAC_BYTES), 1);
  return base64url(out);
}

// base64url, unpadded, of a token's 1 + MAC_BYTES = 17 bytes: 5 groups of 3 bytes, then
// a tail of 2 (3 characters). Only that length: no other tail to handle.
function base64url(b: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
  }
  const n = (b[i]! << 16) | (b[i + 1]! << 8);
  return out + B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]!;
}

/**
 * Options of {@link setCookieHeader}.
 *
 * @example
 * const opts: SetCookieOptions = { ttlMs: 3_600_000, secure: listener.tls !== undefined };
 */
export interface SetCookieOptions {
  /** Lifetime; `Max-Age` is rounded up to whole seconds. `0` makes a session cookie (no `Max-Age`). */
  readonly ttlMs: number;
  /** Add `Secure`: set it when the listener terminates TLS. */
  readonly secure: boolean;
}

/**
 * The `Set-Cookie` field value for a sticky cookie: `Path=/; HttpOnly; SameSite=Lax`,
 * `Max-Age` from the ttl, `Secure` under TLS. Throws a `TypeError` on a name that is not a
 * token or a value with bytes outside RFC 6265 `cookie-octet` (a header-injection guard:
 * both normally come from the config and the codec).
 *
 * @example
 * setCookieHeader("HF_SRV", value, { ttlMs: 3_600_000, secure: true });
 * // "HF_SRV=<value>; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure"
 */
export function setCookieHeader(name: string, value: string, opts: SetCookieOptions): string {
  checkCookieName(name);
  if (!isCookieValue(value)) throw new TypeError(`invalid cookie value for "${name}"`);
  let h = `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
  if (opts.ttlMs > 0 && Number.isFinite(opts.ttlMs)) h += `; Max-Age=${Math.ceil(opts.ttlMs / 1000)}`;
  if (opts.secure) h += "; Secure";
  return h;
}

/**
 * Throws the `TypeError` of {@link setCookieHeader} for a cookie name that is not an
 * RFC 9110 token: a sticky policy checks its name once, when it is built.
 *
 * @example
 * checkCookieName("HF_SRV");   // fine
 * checkCookieName("bad name"); // TypeError: invalid cookie name "bad name"
 */
export function checkCookieName(name: string): void {
  if (!isToken(name)) throw new TypeError(`invalid cookie name "${name}"`);
}

// RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
function isCookieValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x2c || c === 0x3b || c === 0x5c) return false;
  }
  return true;
}

/**
 * Finds one cookie in a raw `Cookie:` header value (RFC 6265 §4.2: `a=1; b=2`) without
 * building a map. Tolerates missing or extra spaces around `;` and `=`, strips one pair of
 * double quotes, skips pairs without `=`. First occurrence wins (browsers send the
 * most specific path first). Linear in the header length whatever its shape. Returns `""`
 * for a present, empty cookie and `undefined` when absent. Names are case-sensitive.
 *
 * @example
 * readCookie('theme=dark; HF_SRV="AbC"', "HF_SRV"); // "AbC"
 * readCookie("theme=dark", "HF_SRV");               // undefined
 */
export function readCookie(cookieHeader: string, name: string): string | undefined {
  const n = cookieHeader.length;
  const len = name.length;
  if (len === 0) return undefined;
  let i = 0;
  // `eq` only moves forward so that pairs without `=` cannot make the scan quadratic.
  let eq = -1;
  while (i < n) {
    // Past the end `charCodeAt` is NaN, which is not whitespace: the walks below stop
    // at the end of the header, at `;` or at `=` without a bound of their own.
    while (isWs(cookieHeader.charCodeAt(i))) i++;
    let end = cookieHeader.indexOf(";", i);
    if (end < 0) end = n;
    if (eq < i) {
      eq = cookieHeader.indexOf("=", i);
      if (eq < 0) return undefined; // no `=` anywhere after here: no more pairs
    }
    // A `=` past this pair's `;` fails below: the walk from the name stops at the `;`.
    if (cookieHeader.startsWith(name, i)) {
      let ne = i + len;
      while (isWs(cookieHeader.charCodeAt(ne))) ne++;
      if (ne === eq) {
        let vs = eq + 1;
        let ve = end;
        while (isWs(cookieHeader.charCodeAt(vs))) vs++;
        // An all-blank value walks back to the `=`: `ve` ≤ `vs`, and the slice is "".
        while (isWs(cookieHeader.charCodeAt(ve - 1))) ve--;
        if (ve - vs >= 2 && cookieHeader.charCodeAt(vs) === 0x22 && cookieHeader.charCodeAt(ve - 1) === 0x22) {
          vs++;
          ve--;
        }
        return cookieHeader.slice(vs, ve);
      }
    }
    i = end + 1;
  }
  return undefined;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
