/**
 * The connection token (DESIGN §7): a fixed string, or a provider function called when
 * a token is needed and the last one is known to be stale (first connect, the hub's
 * `expired` push, a `token_expired` error, a `4002` close). A fresh token is reused for
 * every reconnect until it goes stale, so a fleet reconnecting after a deploy does not
 * also stampede the application's token endpoint. Concurrent requests share one call.
 *
 * @example
 * const t = new TokenSource(() => fetch("/token").then((r) => r.text()));
 * await t.get();   // calls the provider
 * await t.get();   // the same token, no call
 * t.stale();       // the hub said it expired
 * await t.get();   // calls the provider again
 */

/** A token, or a function that returns one (sync or async). */
export type TokenOption = string | (() => string | Promise<string>);

/**
 * Where the connection's token comes from; see the module comment.
 *
 * @example
 * const t = new TokenSource("eyJ…");
 * await t.get(); // "eyJ…"
 */
export class TokenSource {
  readonly #source: TokenOption | undefined;
  #token: string | undefined;
  #fresh = false;
  #inflight: Promise<string | undefined> | null = null;

  constructor(source: TokenOption | undefined) {
    if (source !== undefined && typeof source !== "string" && typeof source !== "function") {
      throw new TypeError(`token must be a string or a function returning one, got ${typeof source}`);
    }
    this.#source = source;
    if (typeof source === "string") this.#token = source;
  }

  /** True when a stale token can be replaced (the option is a function). */
  get refreshable(): boolean {
    return typeof this.#source === "function";
  }

  /** The token to send, calling the provider if the last one is stale; undefined when anonymous. */
  get(): Promise<string | undefined> {
    const src = this.#source;
    if (typeof src !== "function") return Promise.resolve(this.#token);
    if (this.#fresh) return Promise.resolve(this.#token);
    if (this.#inflight) return this.#inflight;
    const p = (async () => {
      try {
        const t = await src();
        if (typeof t !== "string" || t === "") throw new TypeError(`the token provider returned ${t === "" ? "an empty string" : typeof t}, not a token`);
        this.#token = t;
        this.#fresh = true;
        return t;
      } finally {
        this.#inflight = null;
      }
    })();
    this.#inflight = p;
    return p;
  }

  /** The hub said the token expired: the next `get()` asks the provider. */
  stale(): void {
    this.#fresh = false;
  }
}
