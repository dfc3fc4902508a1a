import type { HubReply } from "../protocol/hub.ts";

/**
 * What the client's parts that send commands (the publish outbox, the pending
 * requests) need from the connection: command ids with their reply handlers, a way to
 * send, and the connection's state. One per client; the handlers of a connection are
 * dropped when it is lost, and the parts send again on the next one.
 *
 * @example
 * const id = link.register((reply) => handle(reply));
 * link.send(JSON.stringify({ id, type: "presence", channel: "chat:1" }));
 */
export interface Link {
  /** A fresh command id whose reply goes to `onReply` (on this connection only). */
  register(onReply: (m: HubReply) => void): number;
  /** Forget a command's handler (it timed out). */
  unregister(id: number): void;
  /** Sends one JSON-encoded command on the current connection (dropped if there is none). */
  send(json: string): void;
  /** True while the connection is open (`connected` received). */
  open(): boolean;
  /** Gets a fresh token and sends `refresh`; resolves when done (or the connection is gone). */
  refresh(): Promise<void>;
  /** Send what is waiting again after a backoff of `attempt` (a temporary refusal). */
  retrySoon(attempt: number): void;
}
