/**
 * The recovery decision for one `subscribe` (DESIGN §6, Centrifugo's model): all or
 * nothing, never a partial replay.
 *
 * The hub (1) subscribes to the channel's live feed and buffers what arrives, (2) reads
 * history after the client's offset (`broker.history(channel, { since: since.offset })`;
 * without `since`, `limit: 0` for the position only), then (3) asks
 * {@link decideRecovery}, which merges history and buffer by offset (one epoch), drops
 * duplicates, and answers either
 *
 * - `recovered: true` with **every** publication after `since`, contiguous from
 *   `since.offset + 1` to `position.offset` (history's top, extended by any buffered
 *   publications that follow on without a hole), or
 * - `recovered: false` with **none**, `position` = history's top: the epoch changed,
 *   history no longer reaches back to `since.offset + 1`, history itself has a hole, or
 *   `since` is beyond the top (a position this epoch never had).
 *
 * Either way the hub then starts (or keeps) the channel's {@link ChannelCursor} and
 * feeds it the buffered publications: those at or below `position` are duplicates, and
 * a hole after `position` (a live message lost after the history read) is a gap the
 * cursor repairs from history. So a hole in the buffer *after* history's top does not
 * cost the client its recovery: everything up to `position` is delivered, and live
 * delivery continues from `position + 1` with gap detection.
 *
 * @example
 * const d = decideRecovery({ since: { offset: 17, epoch: "e1" }, history, buffered });
 * reply({ type: "subscribed", recovered: d.recovered, wasRecovering: true, recoverable: true,
 *         offset: d.position.offset, epoch: d.position.epoch, publications: d.publications });
 */
import type { StreamPosition } from "../../protocol/hub.ts";
import type { BrokerPublication, HistoryResult } from "../broker/types.ts";

export interface RecoveryInput {
  /** The client's last position; absent for a fresh subscribe. */
  since?: StreamPosition | undefined;
  /** History read after subscribing, `since: since.offset`; null on a channel without history. */
  history: HistoryResult | null;
  /** Live publications received between subscribing and now, in arrival order. */
  buffered: readonly BrokerPublication[];
}

/** Why the decision went the way it did (for metrics and logs: recoveries by outcome). */
export type RecoveryOutcome =
  /** Every missed publication is in `publications`. */
  | "recovered"
  /** No `since`: a fresh subscribe, positioned at the top. */
  | "fresh"
  /** The channel keeps no history. */
  | "no_history"
  /** `since.epoch` is not the channel's epoch: history was lost since. */
  | "epoch_changed"
  /** History was trimmed or expired past `since.offset + 1`. */
  | "too_old"
  /** History has a hole (a broker that lost entries). */
  | "hole"
  /** `since.offset` is beyond the channel's top. */
  | "ahead";

export interface RecoveryDecision {
  /** True only with every publication after `since`. */
  recovered: boolean;
  outcome: RecoveryOutcome;
  /** Contiguous from `since.offset + 1` up to `position.offset`; empty unless `recovered`. */
  publications: BrokerPublication[];
  /** Where the client stands once it has `publications`: offset 0 and epoch "" without history. */
  position: StreamPosition;
}

const NO_POSITION: StreamPosition = Object.freeze({ offset: 0, epoch: "" });

/**
 * Decides one subscribe's recovery. Pure: the same input gives the same answer.
 *
 * @example
 * decideRecovery({ since: { offset: 2, epoch: "e" }, buffered: [],
 *   history: { position: { offset: 4, epoch: "e" }, publications: [p3, p4] } });
 * // { recovered: true, outcome: "recovered", publications: [p3, p4], position: { offset: 4, epoch: "e" } }
 */
export function decideRecovery(input: RecoveryInput): RecoveryDecision {
  const { since, history } = input;
  if (history === null) return { recovered: false, outcome: "no_history", publications: [], position: NO_POSITION };
  const top = history.position;
  const fail = (outcome: RecoveryOutcome): RecoveryDecision => ({ recovered: false, outcome, publications: [], position: top });
  if (since === undefined) return fail("fresh");
  if (since.epoch !== top.epoch) return fail("epoch_changed");
  if (!Number.isSafeInteger(since.offset) || since.offset < 0 || since.offset > top.offset) return fail("ahead");

  // Merge history and buffer (one epoch), then walk the run that follows since: it must
  // reach history's top, and may go beyond with buffered publications.
  const merged = input.buffered.filter((p) => p.epoch === top.epoch).concat(history.publications.filter((p) => p.offset === undefined || p.offset <= top.offset));
  merged.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
  const publications: BrokerPublication[] = [];
  let next = since.offset + 1;
  for (const p of merged) {
    if (p.offset === undefined || p.offset < next) continue; // not missed, or a duplicate
    if (p.offset !== next) break;
    publications.push(p);
    next++;
  }
  if (next <= top.offset) {
    const first = history.publications.find((p) => p.offset !== undefined && p.offset > since.offset);
    return fail(first === undefined || first.offset! > since.offset + 1 ? "too_old" : "hole");
  }
  return { recovered: true, outcome: "recovered", publications, position: { offset: next - 1, epoch: top.epoch } };
}
