/**
 * The one place the hub fetches anything over HTTP: the JWKS of `auth.jwt.jwksUrl`,
 * through the hub's `holdfast/pool` (keep-alive per origin, reuse statistics, the
 * `holdfast_pool_*` metrics on the hub's `/metrics`), adapted to jose's `customFetch`.
 *
 * @example
 * const keys = createRemoteJWKSet(new URL(url), { [customFetch]: jwksFetchVia(hub.pools) });
 */
import type { FetchImplementation } from "jose";
import type { Pools } from "../../pool/index.ts";

/** Statuses whose response has no body (a `Response` refuses one). */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A fetch for jose (a GET with `redirect: manual` and an abort signal for its timeout)
 * that goes through `pools`. undici never follows redirects, so `manual` holds; an
 * abort rejects with the signal's reason (jose maps a `TimeoutError` to `JWKSTimeout`).
 *
 * @example
 * const res = await jwksFetchVia(pools)("https://auth.example.com/jwks.json", { method: "GET", headers: new Headers(), redirect: "manual", signal });
 * await res.json(); // { keys: [...] }
 */
export function jwksFetchVia(pools: Pools): FetchImplementation {
  return async (url, options) => {
    const res = await pools.request(url, { method: "GET", headers: Object.fromEntries(options.headers), signal: options.signal });
    const body = NO_BODY.has(res.statusCode) ? (await res.body.dump(), null) : await res.body.arrayBuffer();
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    return new Response(body, { status: res.statusCode, headers });
  };
}
