import type { PickContext, ServerView } from "../balance/types.ts";
import { checkCookieName, setCookieHeader } from "./cookie.ts";
import type { CookieCodec } from "./cookie.ts";
import type { StickyStore } from "./store.ts";

/**
 * The sticky decision (DESIGN §4 "Stickiness"): stickiness wraps a fallback policy, like
 * Caddy's `CookieHashSelection` holding a fallback `Selector`. PURE: the store and codec do
 * the remembering, the fallback does the choosing, this only decides which applies.
 *
 * - The remembered server exists and is `available` → it, nothing to write.
 * - Otherwise (no cookie or entry, tampered or foreign cookie, server removed, down,
 *   draining, ejected) → the fallback's pick, and the cookie is re-issued / the table entry
 *   overwritten.
 *
 * Only `available` is read, not `weight`: a weight-0 server keeps its sticky clients and
 * gets no new ones, which is the soft drain operators know from HAProxy.
 *
 * Cookie expiry is fixed from issue (`Max-Age` = ttl), not sliding: a hit sends no
 * `Set-Cookie`, so responses stay cacheable and lean, and the ttl bounds how long one
 * client stays pinned, which lets load even out (the seed's first pitfall: stickiness
 * skews load; limit its duration). The source table instead slides (idle TTL), because
 * refreshing it costs no response bytes.
 *
 * Per request: no closure, no array, no string; one small result object (a hit) or a
 * cached `Set-Cookie` value (a re-issue). Only an async store adds its Promise.
 *
 * The caller still pairs the fallback's `onStart`/`onEnd` around whatever server is used.
 *
 * @example
 * const sticky = new CookieSticky({ backend: "api", cookie: "HF_SRV", ttlMs: 3_600_000, secure: true, codec, fallback: lc });
 * const d = sticky.pick(servers, readCookie(req.headers.cookie ?? "", "HF_SRV"), ctx);
 * if (d.setCookie !== undefined) res.appendHeader("set-cookie", d.setCookie);
 */

/**
 * The outcome of a sticky pick. `server` is `undefined` when nothing is available.
 *
 * @example
 * const { server, setCookie } = sticky.pick(servers, cookieValue, ctx);
 */
export interface StickyDecision {
  readonly server: ServerView | undefined;
  /** A `Set-Cookie` field value to add to the response, when the cookie must be (re)issued. */
  readonly setCookie: string | undefined;
}

/**
 * The policy stickiness falls back to: any `Balancer` fits.
 *
 * @example
 * const fallback: Fallback = createBalancer("least-conn", {});
 */
export interface Fallback {
  pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined;
}

const NONE: StickyDecision = Object.freeze({ server: undefined, setCookie: undefined });
/** Bound on cached Set-Cookie values (one per server name seen). */
const MAX_HEADERS = 1024;

/**
 * Options of {@link CookieSticky}.
 *
 * @example
 * const opts: CookieStickyOptions = { backend: "api", cookie: "HF_SRV", ttlMs: 3_600_000, secure: false, codec, fallback };
 */
export interface CookieStickyOptions {
  readonly backend: string;
  /** Cookie name (a token; validated by the config loader). */
  readonly cookie: string;
  readonly ttlMs: number;
  /** The listener terminates TLS: the cookie gets `Secure`. */
  readonly secure: boolean;
  readonly codec: CookieCodec;
  readonly fallback: Fallback;
}

/**
 * Cookie-insert stickiness for one backend on one listener (`secure` is the listener's).
 * Synchronous: everything needed is in the request.
 *
 * @example
 * const d = sticky.pick(servers, cookieValue, ctx); // { server, setCookie: undefined } on a hit
 */
export class CookieSticky {
  readonly #backend: string;
  readonly #cookie: string;
  readonly #ttl: number;
  readonly #secure: boolean;
  readonly #codec: CookieCodec;
  readonly #fallback: Fallback;
  // The header only changes with the server, so a re-issue allocates nothing after the first.
  readonly #headers = new Map<string, string>();

  constructor(opts: CookieStickyOptions) {
    this.#backend = opts.backend;
    this.#cookie = opts.cookie;
    this.#ttl = opts.ttlMs;
    this.#secure = opts.secure;
    this.#codec = opts.codec;
    this.#fallback = opts.fallback;
    checkCookieName(opts.cookie); // fail fast, not at the first response
  }

  /**
   * The cookie to read from the request.
   *
   * @example
   * readCookie(cookieHeader, sticky.cookieName);
   */
  get cookieName(): string {
    return this.#cookie;
  }

  /**
   * Decides the server for a request carrying `cookieValue` (`undefined` when absent).
   *
   * @example
   * sticky.pick(servers, undefined, ctx); // fallback's pick, with setCookie set
   */
  pick(servers: readonly ServerView[], cookieValue: string | undefined, ctx: PickContext): StickyDecision {
    if (cookieValue !== undefined && cookieValue !== "") {
      const i = this.#codec.indexOf(this.#backend, cookieValue, servers);
      if (i >= 0) {
        const s = servers[i]!;
        if (s.available) return { server: s, setCookie: undefined };
      }
    }
    const s = this.#fallback.pick(servers, ctx);
    if (s === undefined) return NONE;
    return { server: s, setCookie: this.#header(s.name) };
  }

  #header(server: string): string {
    const headers = this.#headers;
    let h = headers.get(server);
    if (h === undefined) {
      if (headers.size >= MAX_HEADERS) headers.clear();
      h = setCookieHeader(this.#cookie, this.#codec.encode(this.#backend, server), { ttlMs: this.#ttl, secure: this.#secure });
      headers.set(server, h);
    }
    return h;
  }
}

/**
 * Options of {@link SourceSticky}.
 *
 * @example
 * const opts: SourceStickyOptions = { store: new MemoryStickyStore({ ttlMs: 1_800_000, maxEntries: 100_000 }), fallback };
 */
export interface SourceStickyOptions {
  /** This backend's store. */
  readonly store: StickyStore;
  readonly fallback: Fallback;
}

/**
 * Source-address stickiness for one backend. Synchronous over a synchronous store (the
 * memory one); a Promise only when the store answers with one.
 *
 * @example
 * const r = sticky.pick(servers, "203.0.113.7", ctx);
 * const d = r instanceof Promise ? await r : r;
 */
export class SourceSticky {
  readonly #store: StickyStore;
  readonly #fallback: Fallback;

  constructor(opts: SourceStickyOptions) {
    this.#store = opts.store;
    this.#fallback = opts.fallback;
  }

  /**
   * Decides the server for a client at `source` (an empty source is not remembered).
   *
   * @example
   * sticky.pick(servers, "203.0.113.7", ctx); // same server as last time while it is available
   */
  pick(servers: readonly ServerView[], source: string, ctx: PickContext): StickyDecision | Promise<StickyDecision> {
    if (source === "") return this.#choose(servers, ctx);
    const r = this.#store.get(source, ctx.now);
    if (typeof r === "object") {
      return r.then(
        (name) => this.#resolve(servers, source, name, ctx),
        () => this.#resolve(servers, source, undefined, ctx),
      );
    }
    return this.#resolve(servers, source, r, ctx);
  }

  #resolve(servers: readonly ServerView[], source: string, name: string | undefined, ctx: PickContext): StickyDecision {
    // No server is named `undefined`: with no stored name the loop finds none.
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (s.name === name) {
        if (s.available) return { server: s, setCookie: undefined };
        break;
      }
    }
    const s = this.#fallback.pick(servers, ctx);
    if (s === undefined) return NONE;
    this.#store.set(source, s.name, ctx.now);
    return { server: s, setCookie: undefined };
  }

  #choose(servers: readonly ServerView[], ctx: PickContext): StickyDecision {
    const s = this.#fallback.pick(servers, ctx);
    return s === undefined ? NONE : { server: s, setCookie: undefined };
  }
}
