/**
 * Token verification for `connect` and `refresh` (DESIGN §6, with `jose`): an HS256
 * secret, a public key file (RS*, PS*, ES* or EdDSA, chosen by the key's type), or a
 * JWKS URL (keys cached and refetched on an unknown `kid`). The claims become an
 * {@link Identity} through hub-core (`sub` is the user, `channels` a list of globs).
 *
 * @example
 * const verifier = await createVerifier(config.auth.jwt);
 * const r = await verifier.verify(token);
 * if (!r.ok) closeWith(r.code === "token_expired" ? 4002 : 4500, r.message);
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type FetchImplementation, type JWTVerifyGetKey } from "jose";
import { HubErrorCode } from "../../protocol/hub.ts";
import { identityFromClaims, type Identity } from "../core/permissions.ts";
import type { HubJwtConfig } from "../config/types.ts";

/** The outcome of verifying one token. */
export type VerifyResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly code: typeof HubErrorCode.UNAUTHORIZED | typeof HubErrorCode.TOKEN_EXPIRED; readonly message: string };

/** Verifies tokens against the configured key source. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifyResult>;
}

const ASYMMETRIC: Readonly<Record<string, readonly string[]>> = {
  rsa: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
  "rsa-pss": ["PS256", "PS384", "PS512"],
  ed25519: ["EdDSA", "Ed25519"],
};
const CURVES: Readonly<Record<string, string>> = { prime256v1: "ES256", secp384r1: "ES384", secp521r1: "ES512" };

function algorithmsFor(key: KeyObject): string[] {
  const type = key.asymmetricKeyType ?? "";
  if (type === "ec") {
    const alg = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""];
    if (alg === undefined) throw new Error(`unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve} (P-256, P-384 or P-521)`);
    return [alg];
  }
  const algs = ASYMMETRIC[type];
  if (algs === undefined) throw new Error(`unsupported key type ${type} (RSA, RSA-PSS, EC or Ed25519)`);
  return [...algs];
}

/**
 * Builds the verifier of `auth.jwt`. A public key file is read and parsed now, so a bad
 * key stops the hub at start rather than refusing every client later. `fetch` fetches a
 * JWKS (the hub passes one through its `Pools`; default: the global `fetch`).
 *
 * @example
 * const v = await createVerifier({ kind: "secret", secret: process.env.HUB_JWT_SECRET!, issuer: undefined, audience: undefined });
 * const j = await createVerifier(jwksConfig, { fetch: jwksFetchVia(pools) });
 */
export async function createVerifier(jwt: HubJwtConfig, opts: { fetch?: FetchImplementation } = {}): Promise<TokenVerifier> {
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  let algorithms: string[] | undefined;
  if (jwt.kind === "secret") {
    key = new TextEncoder().encode(jwt.secret);
    algorithms = ["HS256"];
  } else if (jwt.kind === "publicKey") {
    let pem: string;
    try {
      pem = readFileSync(jwt.publicKey, "utf8");
    } catch (e) {
      throw new Error(`auth.jwt.publicKey: cannot read ${jwt.publicKey}: ${(e as Error).message}`, { cause: e });
    }
    try {
      key = createPublicKey(pem);
    } catch (e) {
      throw new Error(`auth.jwt.publicKey: ${jwt.publicKey} is not a PEM public key: ${(e as Error).message}`, { cause: e });
    }
    algorithms = algorithmsFor(key);
  } else {
    key = createRemoteJWKSet(new URL(jwt.jwksUrl), { [customFetch]: opts.fetch ?? fetch, timeoutDuration: 5_000, cooldownDuration: 30_000 });
    algorithms = undefined; // each JWK carries its own
  }
  const options = { algorithms, issuer: jwt.issuer, audience: jwt.audience };
  return {
    async verify(token) {
      try {
        // The overloads differ only by the key's type.
        const { payload } = await jwtVerify(token, key as Uint8Array, options);
        const r = identityFromClaims(payload);
        return r.ok ? r : { ok: false, code: HubErrorCode.UNAUTHORIZED, message: r.message };
      } catch (e) {
        if (e instanceof errors.JWTExpired) return { ok: false, code: HubErrorCode.TOKEN_EXPIRED, message: "the token has expired" };
        return { ok: false, code: HubErrorCode.UNAUTHORIZED, message: `invalid token: ${describe(e)}` };
      }
    },
  };
}

function describe(e: unknown): string {
  if (e instanceof errors.JWKSNoMatchingKey) return "no key in the JWKS matches its kid";
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return `the JWKS could not be fetched (${(e as Error).message})`;
  return (e as Error).message;
}
