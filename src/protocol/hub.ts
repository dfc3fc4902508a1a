/**
 * The hub's wire protocol, `holdfast.v1` (DESIGN §6, `docs/protocol.md`): JSON text
 * frames over WebSocket (subprotocol `holdfast.v1`), and the same messages over SSE
 * (server → client, one `data:` line each) + `POST /send` (client → server). Shared by
 * the hub and the client SDK; pure types and constants, importable from a browser.
 *
 * Every command from a client carries an `id` (a positive integer the client chooses,
 * unique among its pending commands); the hub's reply carries the same `id`, and is
 * either the command's result or an `error`. Messages without an `id` are pushes.
 *
 * @example
 * const cmd: ClientCommand = { id: 2, type: "subscribe", channel: "chat:1", since: { offset: 17, epoch: "e1" } };
 * // reply: { id: 2, type: "subscribed", channel: "chat:1", recovered: true, wasRecovering: true,
 * //          recoverable: true, epoch: "e1", offset: 19, publications: [{ offset: 18, ... }, { offset: 19, ... }] }
 */

/** The WebSocket subprotocol and the protocol's version name. */
export const PROTOCOL = "holdfast.v1";

/** A position in a channel's stream: the last offset seen, in which epoch. */
export interface StreamPosition {
  /** Offsets start at 1 and grow by 1 per publication on the channel. */
  offset: number;
  /** Changes whenever the channel's history is lost (broker restart, flush, expiry). */
  epoch: string;
}

/** Who is on a channel (presence) or who published (when the hub knows). */
export interface ClientInfo {
  /** The hub-assigned connection id. */
  client: string;
  /** The JWT `sub`, or "" for an anonymous connection. */
  user: string;
  /** Free-form, from the JWT `info` claim (optional). */
  info?: unknown;
}

/** One publication as a client sees it. `offset`/`epoch` are absent on channels without history. */
export interface Publication {
  channel: string;
  data: unknown;
  offset?: number;
  epoch?: string;
  /** The publisher, when it was a client connection (absent for the server API). */
  info?: ClientInfo;
}

// ---------------------------------------------------------------- client → hub

/** Must be the first command on a connection; nothing else is accepted before it. */
export interface ConnectCommand {
  id: number;
  type: "connect";
  /** A JWT; omit only where `auth.anonymous` is true. */
  token?: string;
  /** `name/version` of the client library, for logs and the dashboard. */
  name?: string;
}

export interface SubscribeCommand {
  id: number;
  type: "subscribe";
  channel: string;
  /** Resume after this position: every publication with a greater offset, or none. */
  since?: StreamPosition;
}

export interface UnsubscribeCommand {
  id: number;
  type: "unsubscribe";
  channel: string;
}

export interface PublishCommand {
  id: number;
  type: "publish";
  channel: string;
  data: unknown;
  /** The same key within 5 minutes is applied once; the retry gets the first result. */
  idempotencyKey?: string;
}

export interface PresenceCommand {
  id: number;
  type: "presence";
  channel: string;
}

export interface HistoryCommand {
  id: number;
  type: "history";
  channel: string;
  since?: StreamPosition;
  limit?: number;
}

/** A new token for this connection, sent before (or when told) the old one expires. */
export interface RefreshCommand {
  id: number;
  type: "refresh";
  token: string;
}

/** The answer to the hub's `ping` (no `id`). */
export interface PongMessage {
  type: "pong";
}

export type ClientCommand =
  | ConnectCommand
  | SubscribeCommand
  | UnsubscribeCommand
  | PublishCommand
  | PresenceCommand
  | HistoryCommand
  | RefreshCommand;

export type ClientMessage = ClientCommand | PongMessage;

// ---------------------------------------------------------------- hub → client: replies

export interface ConnectedReply {
  id: number;
  type: "connected";
  /** This connection's id. */
  client: string;
  /** The JWT `sub`, or "" when anonymous. */
  user: string;
  /** The node that serves this connection (`node` in the hub's config). */
  node: string;
  /** The hub sends `ping` every `ping` ms and closes after `pong` ms without an answer. */
  ping: number;
  pong: number;
  /** When the token expires (ms since the epoch), absent if it does not. */
  expires?: number;
  /**
   * The largest message (UTF-8 bytes of one JSON frame or `POST /send` body) the hub
   * accepts; a larger one closes the connection with `1009`. A client checks its
   * publishes against it, so one oversized publish in an offline queue cannot close
   * every connection it is re-sent on.
   */
  maxMessageBytes?: number;
}

export interface SubscribedReply {
  id: number;
  type: "subscribed";
  channel: string;
  /** True when `since` was given and every publication after it is in `publications`. */
  recovered: boolean;
  /** True when the command carried `since`. */
  wasRecovering: boolean;
  /** True when the channel keeps history (so `offset`/`epoch` are meaningful). */
  recoverable: boolean;
  /** The channel's position once the publications below are applied. */
  offset: number;
  epoch: string;
  /** The missed publications, in order (empty unless `recovered`). */
  publications: Publication[];
}

export interface UnsubscribedReply {
  id: number;
  type: "unsubscribed";
  channel: string;
}

export interface PublishedReply {
  id: number;
  type: "published";
  /** Absent on a channel without history. */
  offset?: number;
  epoch?: string;
}

export interface PresenceReply {
  id: number;
  type: "presence";
  channel: string;
  clients: ClientInfo[];
}

export interface HistoryReply {
  id: number;
  type: "history";
  channel: string;
  /** The channel's current position. */
  offset: number;
  epoch: string;
  publications: Publication[];
}

export interface RefreshedReply {
  id: number;
  type: "refreshed";
  expires?: number;
}

/** Stable error codes; `message` is for people. */
export const HubErrorCode = {
  /** Malformed JSON, a missing or mistyped field. */
  BAD_REQUEST: "bad_request",
  /** An unknown `type`. */
  UNKNOWN_COMMAND: "unknown_command",
  /** A command before `connect`, or a bad token. */
  UNAUTHORIZED: "unauthorized",
  /** The token expired: refresh it. */
  TOKEN_EXPIRED: "token_expired",
  /** The token's `channels` claim or the channel's rules forbid it. */
  FORBIDDEN: "forbidden",
  /** No channel rule matches this channel name. */
  UNKNOWN_CHANNEL: "unknown_channel",
  ALREADY_SUBSCRIBED: "already_subscribed",
  NOT_SUBSCRIBED: "not_subscribed",
  /** A per-connection or per-node limit (subscriptions, message size). */
  LIMIT_EXCEEDED: "limit_exceeded",
  /** The broker is unreachable: nothing was stored. Retry later. */
  UNAVAILABLE: "unavailable",
  INTERNAL: "internal",
} as const;
export type HubErrorCode = (typeof HubErrorCode)[keyof typeof HubErrorCode];

export interface ErrorReply {
  /** Absent when the offending message had no readable id (malformed JSON). */
  id?: number;
  type: "error";
  code: HubErrorCode;
  message: string;
  /** True when the same command may succeed later (`unavailable`, `limit_exceeded`). */
  temporary?: boolean;
}

// ---------------------------------------------------------------- hub → client: pushes

/** A publication on a subscribed channel. */
export interface PubPush extends Publication {
  type: "pub";
}

export interface JoinPush {
  type: "join";
  channel: string;
  client: string;
  user: string;
  info?: unknown;
}

export interface LeavePush {
  type: "leave";
  channel: string;
  client: string;
  user: string;
  info?: unknown;
}

/** Answer with `pong`. Any frame from the hub proves it alive; this one is sent when idle. */
export interface PingPush {
  type: "ping";
}

/**
 * The hub dropped this subscription (an unrepairable gap, a lost epoch, a revoked
 * permission): subscribe again with the last position (`resubscribe: true`) or give up.
 */
export interface UnsubscribePush {
  type: "unsubscribe";
  channel: string;
  reason: string;
  resubscribe: boolean;
}

/** The token expires now: send `refresh` within `ping.timeout` or be closed with 4002. */
export interface ExpiredPush {
  type: "expired";
}

/**
 * Over SSE (no close frame): the hub is ending the stream, with the close code and
 * reason a WebSocket would have carried (`1012`, `retry-after=2500`).
 */
export interface DisconnectPush {
  type: "disconnect";
  code: number;
  reason: string;
}

/** Over SSE only, the first message of a stream: the session id for `POST /send`. */
export interface SessionPush {
  type: "session";
  session: string;
}

export type HubReply =
  | ConnectedReply
  | SubscribedReply
  | UnsubscribedReply
  | PublishedReply
  | PresenceReply
  | HistoryReply
  | RefreshedReply
  | ErrorReply;

export type HubPush = PubPush | JoinPush | LeavePush | PingPush | UnsubscribePush | ExpiredPush | DisconnectPush | SessionPush;

export type HubMessage = HubReply | HubPush;

/** The header that names an SSE session on `POST /send`. */
export const SSE_SESSION_HEADER = "x-holdfast-session";
