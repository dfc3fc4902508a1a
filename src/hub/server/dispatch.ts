/**
 * One handler per client command (docs/protocol.md "Commands and replies"). Every
 * command gets exactly one reply with its `id`: its result or an `error`.
 *
 * @example
 * await dispatch(node, conn, { id: 1, type: "connect", token });
 */
import { CloseCode } from "../../protocol/close.ts";
import {
  HubErrorCode,
  type ClientCommand,
  type ConnectCommand,
  type HistoryCommand,
  type PresenceCommand,
  type PublishCommand,
  type RefreshCommand,
} from "../../protocol/hub.ts";
import { BrokerUnavailableError } from "../broker/types.ts";
import { ANONYMOUS, canPresence, canPublish, canSubscribe, isExpired, type Identity } from "../core/permissions.ts";
import type { Connection } from "./connection.ts";
import { jsonWithList, Outgoing, publicationJson } from "./frames.ts";
import { clientInfo, type HubNode } from "./node.ts";
import { subscribe } from "./subscribe.ts";

/**
 * Handles one command. Rejections are bugs (the caller answers `internal`); every
 * expected failure is an `error` reply.
 *
 * @example
 * dispatch(node, conn, msg).catch((err) => log.error({ err }));
 */
export async function dispatch(node: HubNode, conn: Connection, cmd: ClientCommand): Promise<void> {
  if (cmd.type === "connect") return connect(node, conn, cmd);
  if (conn.state !== "open" || conn.identity === undefined) {
    return node.fail(conn, cmd.id, HubErrorCode.UNAUTHORIZED, "send connect first (and wait for connected)");
  }
  if (cmd.type === "refresh") return refresh(node, conn, cmd);
  if (conn.expiredAt !== 0 || isExpired(conn.identity, node.now())) {
    return node.fail(conn, cmd.id, HubErrorCode.TOKEN_EXPIRED, "the token has expired: send refresh with a new one");
  }
  const who = conn.identity;
  switch (cmd.type) {
    case "subscribe": {
      if (conn.subs.has(cmd.channel)) return node.fail(conn, cmd.id, HubErrorCode.ALREADY_SUBSCRIBED, `already subscribed to ${JSON.stringify(cmd.channel)}`);
      const max = node.config.limits.maxSubscriptions;
      if (conn.subs.size >= max) return node.fail(conn, cmd.id, HubErrorCode.LIMIT_EXCEEDED, `at most ${max} subscriptions per connection (limits.maxSubscriptions)`, true);
      const d = canSubscribe(node.rules, who, cmd.channel);
      if (!d.ok) return node.fail(conn, cmd.id, d.code, d.message);
      return subscribe(node, conn, cmd, d.rule);
    }
    case "unsubscribe": {
      const sub = conn.subs.get(cmd.channel);
      if (sub === undefined) return node.fail(conn, cmd.id, HubErrorCode.NOT_SUBSCRIBED, `not subscribed to ${JSON.stringify(cmd.channel)}`);
      node.removeSubscription(sub);
      return node.send(conn, { id: cmd.id, type: "unsubscribed", channel: cmd.channel });
    }
    case "publish":
      return publish(node, conn, who, cmd);
    case "presence":
      return presence(node, conn, who, cmd);
    case "history":
      return history(node, conn, who, cmd);
  }
}

async function connect(node: HubNode, conn: Connection, cmd: ConnectCommand): Promise<void> {
  if (conn.state === "open") return node.fail(conn, cmd.id, HubErrorCode.BAD_REQUEST, "already connected");
  if (conn.identity !== undefined) return node.fail(conn, cmd.id, HubErrorCode.BAD_REQUEST, "connect already in progress");
  const refuse = (code: HubErrorCode, message: string, close: number) => {
    node.fail(conn, cmd.id, code, message);
    node.close(conn, close, message);
  };
  let identity: Identity;
  if (cmd.token === undefined || cmd.token === "") {
    if (!node.config.auth.anonymous) return refuse(HubErrorCode.UNAUTHORIZED, "a token is required (this hub does not accept anonymous connections)", CloseCode.UNAUTHORIZED);
    identity = ANONYMOUS;
  } else {
    if (node.verifier === undefined) return refuse(HubErrorCode.UNAUTHORIZED, "this hub accepts no tokens (auth.jwt is not configured): connect without one", CloseCode.UNAUTHORIZED);
    conn.identity = ANONYMOUS; // marks the connect as in progress
    const r = await node.verifier.verify(cmd.token);
    conn.identity = undefined;
    if (conn.state !== "connecting") return;
    if (!r.ok) return refuse(r.code, r.message, r.code === HubErrorCode.TOKEN_EXPIRED ? CloseCode.TOKEN_EXPIRED : CloseCode.UNAUTHORIZED);
    identity = r.identity;
  }
  conn.identity = identity;
  conn.state = "open";
  conn.clientName = cmd.name ?? "";
  const { interval, timeout } = node.config.ping;
  node.send(conn, { id: cmd.id, type: "connected", client: conn.id, user: identity.user, node: node.name, ping: interval, pong: timeout, expires: identity.expiresAt, maxMessageBytes: node.config.limits.maxMessageBytes });
}

async function refresh(node: HubNode, conn: Connection, cmd: RefreshCommand): Promise<void> {
  const old = conn.identity!;
  if (old.anonymous) return node.fail(conn, cmd.id, HubErrorCode.BAD_REQUEST, "an anonymous connection has no token to refresh");
  if (node.verifier === undefined) return node.fail(conn, cmd.id, HubErrorCode.BAD_REQUEST, "this hub accepts no tokens");
  const r = await node.verifier.verify(cmd.token);
  if (conn.state !== "open") return;
  if (!r.ok) return node.fail(conn, cmd.id, r.code, r.message);
  if (r.identity.user !== old.user) {
    return node.fail(conn, cmd.id, HubErrorCode.FORBIDDEN, `the new token is for another user (${JSON.stringify(r.identity.user)}, not ${JSON.stringify(old.user)})`);
  }
  conn.identity = r.identity;
  conn.expiredAt = 0;
  // The new token may allow fewer channels: end what it no longer allows.
  for (const sub of [...conn.subs.values()]) {
    if (!canSubscribe(node.rules, r.identity, sub.channel).ok) node.dropSubscription(sub, "the refreshed token does not allow this channel", false);
  }
  node.send(conn, { id: cmd.id, type: "refreshed", expires: r.identity.expiresAt });
}

async function publish(node: HubNode, conn: Connection, who: Identity, cmd: PublishCommand): Promise<void> {
  const d = canPublish(node.rules, who, cmd.channel);
  if (!d.ok) return node.fail(conn, cmd.id, d.code, d.message);
  const data = JSON.stringify(cmd.data);
  // One connection's publishes on a channel are stored in the order received (a client
  // flushing its offline queue pipelines them): each waits for the previous one.
  const prev = conn.publishing.get(cmd.channel);
  const run = async () => {
    try {
      const r = await node.publish(cmd.channel, d.rule, data, clientInfo(conn), cmd.idempotencyKey);
      node.send(conn, { id: cmd.id, type: "published", offset: r.offset, epoch: r.epoch });
    } catch (err) {
      brokerFailure(node, conn, cmd.id, err, "publish");
    }
  };
  const mine = prev === undefined ? run() : prev.then(run);
  conn.publishing.set(cmd.channel, mine);
  await mine;
  if (conn.publishing.get(cmd.channel) === mine) conn.publishing.delete(cmd.channel);
}

async function presence(node: HubNode, conn: Connection, who: Identity, cmd: PresenceCommand): Promise<void> {
  const d = canPresence(node.rules, who, cmd.channel);
  if (!d.ok) return node.fail(conn, cmd.id, d.code, d.message);
  try {
    const clients = await node.broker.presence(cmd.channel);
    node.send(conn, { id: cmd.id, type: "presence", channel: cmd.channel, clients });
  } catch (err) {
    brokerFailure(node, conn, cmd.id, err, "presence");
  }
}

async function history(node: HubNode, conn: Connection, who: Identity, cmd: HistoryCommand): Promise<void> {
  const d = canSubscribe(node.rules, who, cmd.channel);
  if (!d.ok) return node.fail(conn, cmd.id, d.code, d.message);
  const h = d.rule.history;
  if (h === null) return node.fail(conn, cmd.id, HubErrorCode.BAD_REQUEST, `channel ${JSON.stringify(cmd.channel)} keeps no history (rule ${JSON.stringify(d.rule.match)})`);
  try {
    const r = await node.broker.history(cmd.channel, { since: cmd.since?.offset, limit: Math.min(cmd.limit ?? h.size, h.size), history: h });
    // Offsets from another epoch mean nothing: the client gets the new position and no publications.
    const pubs = cmd.since !== undefined && cmd.since.epoch !== r.position.epoch ? [] : r.publications;
    const json = JSON.stringify(cmd.channel);
    const fields = { id: cmd.id, type: "history", channel: cmd.channel, offset: r.position.offset, epoch: r.position.epoch };
    conn.send(new Outgoing(jsonWithList(fields, "publications", pubs.map((p) => publicationJson(json, p))), undefined, 0, false));
  } catch (err) {
    brokerFailure(node, conn, cmd.id, err, "history");
  }
}

function brokerFailure(node: HubNode, conn: Connection, id: number, err: unknown, what: string): void {
  if (err instanceof BrokerUnavailableError) {
    node.fail(conn, id, HubErrorCode.UNAVAILABLE, `${what} unavailable: ${err.message}; nothing was stored, retry later`, true);
    return;
  }
  node.log.error({ err }, `${what} failed`);
  node.fail(conn, id, HubErrorCode.INTERNAL, `${what} failed`, true);
}
