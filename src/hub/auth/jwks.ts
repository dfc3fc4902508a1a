/**
 * The one place the hub fetches anything over HTTP: the JWKS of `auth.jwt.jwksUrl`.
 * Kept apart so that the fetch can go through `holdfast/pool` (keep-alive, reuse
 * statistics) without touching the verifier.
 *
 * @example
 * const keys = createRemoteJWKSet(new URL(url), { [customFetch]: jwksFetch });
 */
import type { FetchImplementation } from "jose";

/**
 * Fetches a JWKS document (jose's `customFetch` contract: a GET with `redirect: manual`
 * and an abort signal for its timeout).
 *
 * @example
 * const res = await jwksFetch("https://auth.example.com/jwks.json", { method: "GET", headers: new Headers(), redirect: "manual", signal });
 */
export const jwksFetch: FetchImplementation = (url, options) => fetch(url, options);
