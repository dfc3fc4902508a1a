/**
 * `holdfast/client` (DESIGN §7): the browser and Node SDK for the holdfast hub, and a
 * reconnecting WebSocket for any server. Imports nothing from `node:*`; the same module
 * runs in Node ≥ 22 and, bundled as `dist/browser/holdfast-client.js`, in a page.
 *
 * @example
 * import { connect } from "holdfast/client";
 * const client = connect("wss://example.com/connect", { token: () => fetchToken() });
 * const sub = client.subscribe("chat:1");
 * sub.on("message", ({ data }) => console.log(data));
 * await client.publish("chat:1", { text: "hi" });
 */
export { connect, Client, type ClientEvents, type SessionInfo } from "./client.ts";
export type { ClientOptions } from "./options.ts";
export { Subscription, type SubscriptionEvents, type SubscriptionState, type SubscribedInfo, type ChannelMessage, type UnsubscribedInfo } from "./subscription.ts";
export { ReconnectingWebSocket, type ReconnectingWebSocketOptions } from "./reconnecting-websocket.ts";
export type { ReconnectOptions, StateInfo } from "./reconnector.ts";
export type { ConnectionState } from "./policy.ts";
export { backoffDelay, backoffCeiling, hintDelay, DEFAULT_BACKOFF, type BackoffOptions, type Jitter } from "./backoff.ts";
export type { PublishResult } from "./queue.ts";
export type { TokenOption } from "./token.ts";
export type { TransportName } from "./transport.ts";
export { HubError, QueueFullError, ClientClosedError, RequestTimeoutError, MessageTooLargeError } from "./errors.ts";
export { CloseCode, closeAdvice, parseRetryAfter } from "../protocol/close.ts";
export { PROTOCOL, type ClientInfo, type StreamPosition } from "../protocol/hub.ts";
