/**
 * The subscribe path (DESIGN §6, docs/protocol.md "Recovery"):
 *
 * 1. subscribe to the broker's live feed first (once per channel per node) and buffer
 *    what arrives for this subscription;
 * 2. read history after `since` (the position only, without `since`);
 * 3. hub-core's `decideRecovery`: `recovered: true` with every missed publication, or
 *    `false` with none; never a partial replay;
 * 4. reply `subscribed`, then hand over to live delivery without a hole or a repeat:
 *    the first decision on a channel starts its cursor and feeds it the buffer; a later
 *    one gets, from its buffer, what the cursor delivered while it waited.
 *
 * @example
 * await subscribe(node, conn, cmd, rule);
 */
import { HubErrorCode, type StreamPosition, type SubscribeCommand } from "../../protocol/hub.ts";
import { BrokerUnavailableError, type BrokerPublication, type HistoryResult } from "../broker/types.ts";
import { ChannelCursor } from "../core/cursor.ts";
import { decideRecovery } from "../core/recovery.ts";
import type { CompiledRule } from "../core/rules.ts";
import type { ChannelState } from "./channels.ts";
import type { Connection, Subscription } from "./connection.ts";
import { jsonWithList, Outgoing, publicationJson, pubJson } from "./frames.ts";
import type { HubNode } from "./node.ts";

/**
 * Runs one `subscribe` command to its reply (or error). The connection may close, or
 * the client unsubscribe, while the broker answers: then it stops quietly.
 *
 * @example
 * void subscribe(node, conn, { id: 2, type: "subscribe", channel: "chat:1" }, rule);
 */
export async function subscribe(node: HubNode, conn: Connection, cmd: SubscribeCommand, rule: CompiledRule): Promise<void> {
  const st = node.channels.acquire(cmd.channel, rule);
  const sub: Subscription = { conn, channel: cmd.channel, buffer: [], after: 0, position: undefined };
  st.pending.add(sub);
  conn.subs.set(cmd.channel, sub);
  const current = () => conn.subs.get(cmd.channel) === sub && conn.state === "open" && !st.gone;
  let history: HistoryResult | null = null;
  try {
    await node.channels.link(st);
    if (!current()) return abandon(node, conn, cmd, sub, st);
    const h = rule.history;
    if (h !== null) {
      const query = cmd.since === undefined ? { limit: 0, history: h } : { since: cmd.since.offset, limit: h.size, history: h };
      history = await node.broker.history(cmd.channel, query);
      if (!current()) return abandon(node, conn, cmd, sub, st);
    }
  } catch (err) {
    node.removeSubscription(sub);
    if (conn.state !== "open") return;
    if (err instanceof BrokerUnavailableError) return node.fail(conn, cmd.id, HubErrorCode.UNAVAILABLE, `cannot subscribe now: ${err.message}`, true);
    node.log.error({ err, channel: cmd.channel }, "subscribe failed");
    return node.fail(conn, cmd.id, HubErrorCode.INTERNAL, "subscribe failed", true);
  }

  const buffered = sub.buffer!;
  const d = decideRecovery({ since: cmd.since, history, buffered });
  node.stats.recovery(d.outcome);
  st.pending.delete(sub);
  sub.buffer = null;
  sub.position = d.position;
  reply(conn, cmd, st, d.recovered, history !== null, d.position, d.publications);
  sub.after = d.position.offset;
  st.active.add(sub);
  if (history === null) {
    // No history, no offsets: what arrived while waiting follows the reply, in order.
    for (const p of buffered) send(node, st, sub, p);
  } else if (st.cursor === null) {
    st.cursor = new ChannelCursor(d.position);
    // The buffer goes through the live path: duplicates dropped, a hole repaired.
    for (const p of buffered) node.channels.live(st, p);
  } else {
    catchUp(node, st, sub, buffered);
  }
  if (rule.presence) node.joinPresence(conn, st.name);
}

// The channel's cursor ran while this subscribe waited: give the subscriber what the
// cursor delivered after its position (all in its buffer, in order), so it continues
// exactly where the others are.
function catchUp(node: HubNode, st: ChannelState, sub: Subscription, buffered: readonly BrokerPublication[]): void {
  const at = st.cursor!.position;
  const mine = sub.position!;
  if (at.epoch !== mine.epoch) {
    // History moved to a new epoch the cursor has not seen yet: let a resync find out.
    node.channels.repair(st);
    return;
  }
  let next = mine.offset + 1;
  const sorted = buffered.filter((p) => p.epoch === at.epoch && p.offset !== undefined && p.offset > mine.offset && p.offset <= at.offset);
  sorted.sort((a, b) => a.offset! - b.offset!);
  for (const p of sorted) {
    if (p.offset! < next) continue;
    if (p.offset !== next) break;
    send(node, st, sub, p);
    next++;
  }
  if (next <= at.offset) {
    node.dropSubscription(sub, `could not catch up with the channel (offset ${next} missing)`, true);
    return;
  }
  sub.after = Math.max(mine.offset, at.offset);
}

function send(node: HubNode, st: ChannelState, sub: Subscription, p: BrokerPublication): void {
  sub.conn.send(new Outgoing(pubJson(st.json, p), st.name, p.offset ?? 0));
  node.stats.deliveries++;
}

function reply(
  conn: Connection,
  cmd: SubscribeCommand,
  st: ChannelState,
  recovered: boolean,
  recoverable: boolean,
  position: StreamPosition,
  pubs: readonly BrokerPublication[],
): void {
  const fields = {
    id: cmd.id,
    type: "subscribed",
    channel: cmd.channel,
    recovered,
    wasRecovering: cmd.since !== undefined,
    recoverable,
    offset: position.offset,
    epoch: position.epoch,
  };
  const text = jsonWithList(fields, "publications", pubs.map((p) => publicationJson(st.json, p)));
  conn.send(new Outgoing(text, undefined, 0, false));
}

// The client unsubscribed (or left) while the broker answered: the unsubscribe already
// replied; this subscribe gets an error so that its id is answered too.
function abandon(node: HubNode, conn: Connection, cmd: SubscribeCommand, sub: Subscription, st: ChannelState): void {
  if (conn.subs.get(cmd.channel) === sub) node.removeSubscription(sub);
  else st.pending.delete(sub);
  node.channels.release(st);
  if (conn.state === "open") node.fail(conn, cmd.id, HubErrorCode.NOT_SUBSCRIBED, "unsubscribed before the subscription completed");
}
