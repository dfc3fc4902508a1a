/**
 * The hub's canonical config (DESIGN §6): what `hub.yaml` becomes once loaded, with
 * every default filled in, durations in ms and sizes in bytes. The hub reads only this.
 *
 * @example
 * const r = loadHubConfigFile("hub.yaml");
 * if (r.ok) r.config.sendQueue.maxBytes; // 1_048_576
 */
import type { Address } from "../../config/types.ts";
import type { ChannelRule } from "../core/rules.ts";

/** One entry of `channels:` (first glob match wins): hub-core's rule, durations in ms. */
export type HubChannelRule = ChannelRule;

/** How tokens are verified: one key source, and optional `iss`/`aud` checks. */
export type HubJwtConfig = (
  | { readonly kind: "secret"; readonly secret: string }
  | { readonly kind: "publicKey"; /** absolute */ readonly publicKey: string }
  | { readonly kind: "jwksUrl"; readonly jwksUrl: string }
) & { readonly issuer: string | undefined; readonly audience: string | undefined };

export type HubBrokerConfig =
  | { readonly type: "memory" }
  | { readonly type: "redis"; readonly url: string; /** undefined: the broker's default (`holdfast`) */ readonly prefix: string | undefined };

export interface HubConfig {
  readonly listen: Address;
  /** undefined: `hostname:pid`, decided when the hub starts. */
  readonly node: string | undefined;
  readonly broker: HubBrokerConfig;
  readonly auth: { readonly jwt: HubJwtConfig | undefined; readonly anonymous: boolean };
  readonly api: { readonly token: string | undefined };
  /** undefined: only the hub's own host (the request's Host). `"*"` allows any. */
  readonly allowedOrigins: readonly string[] | undefined;
  readonly channels: readonly HubChannelRule[];
  readonly ping: { readonly interval: number; readonly timeout: number };
  readonly sendQueue: { readonly maxBytes: number; readonly onOverflow: "close" | "drop-oldest" };
  readonly shutdown: { readonly spread: number };
  readonly limits: {
    /** The largest message a client may send (a WebSocket frame, a `POST /send` body, an API body). */
    readonly maxMessageBytes: number;
    /** Subscriptions per connection. */
    readonly maxSubscriptions: number;
    /** Connections on this node; 0: no limit. */
    readonly maxConnections: number;
  };
  readonly presence: { readonly ttl: number };
  readonly admin: { readonly listen: Address; readonly token: string | undefined };
}
