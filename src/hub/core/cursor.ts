/**
 * Gap detection on live delivery, one cursor per channel per hub node (DESIGN §6: "a
 * gap in offsets is detected and repaired from history, or the client is told to
 * resubscribe").
 *
 * Broker pub/sub is at-most-once: a publication can be lost between the broker and the
 * node. The cursor remembers the last offset delivered on the channel and judges each
 * live publication with {@link ChannelCursor.accept}:
 *
 * - `deliver`: the next offset (or a channel without history): fan it out now;
 * - `duplicate`: at or below the last delivered: drop it;
 * - `gap`: offsets `gap.from..gap.to` are missing: the publication is held, and so is
 *   everything after it (`held`) until the hub reads history after
 *   {@link ChannelCursor.repairSince} and calls {@link ChannelCursor.repair};
 * - `held`: kept while a repair is pending;
 * - `epoch-changed`: the channel's history was lost; the cursor moves to the new epoch,
 *   and the hub tells the channel's clients to resubscribe (`unsubscribe` push with
 *   `resubscribe: true`): their positions are from the old epoch.
 * - `overflow`: too many held while a repair is pending; the cursor resets to the held
 *   publication and the hub tells clients to resubscribe.
 *
 * {@link ChannelCursor.repair} also serves a resync with no gap seen (after the broker
 * came back up, publications may have been lost without a later one to reveal it):
 * it delivers whatever history has beyond the last offset.
 *
 * `accept` allocates nothing on the `deliver` path: one frame per publication is built
 * by the hub and sent to every local subscriber.
 *
 * @example
 * const cursor = new ChannelCursor(decision.position);
 * for (const p of buffered) onLive(p);
 * function onLive(p) {
 *   switch (cursor.accept(p)) {
 *     case "deliver": fanOut(p); break;
 *     case "gap": void broker.history(ch, { since: cursor.repairSince, history }).then((h) => apply(cursor.repair(h))); break;
 *     case "epoch-changed": case "overflow": tellResubscribe(ch); break;
 *   }
 * }
 */
import type { StreamPosition } from "../../protocol/hub.ts";
import type { BrokerPublication, HistoryResult } from "../broker/types.ts";

export type AcceptResult = "deliver" | "duplicate" | "gap" | "held" | "epoch-changed" | "overflow";

/** What a repair read gives the hub to do. */
export type RepairResult =
  /** Deliver these in order (may be empty). `gap`: another hole remains after them: read again. */
  | { ok: true; publications: BrokerPublication[]; gap: { from: number; to: number } | null }
  /** The missing range cannot be recovered: tell the channel's clients to resubscribe. */
  | { ok: false; reason: string };

export interface CursorOptions {
  /** Most publications held while a repair is pending (default 10,000). */
  maxHeld?: number;
}

/**
 * One channel's live-delivery position on one node.
 *
 * @example
 * const c = new ChannelCursor({ offset: 10, epoch: "e" });
 * c.accept({ offset: 11, epoch: "e", data: "1" }); // "deliver"
 * c.accept({ offset: 13, epoch: "e", data: "3" }); // "gap" (c.gap: { from: 12, to: 12 })
 */
export class ChannelCursor {
  #offset: number;
  #epoch: string;
  #held: BrokerPublication[] = [];
  #gap: { from: number; to: number } | null = null;
  readonly #maxHeld: number;

  constructor(position: StreamPosition, opts: CursorOptions = {}) {
    this.#offset = position.offset;
    this.#epoch = position.epoch;
    this.#maxHeld = opts.maxHeld ?? 10_000;
  }

  /** The last offset delivered and its epoch. */
  get position(): StreamPosition {
    return { offset: this.#offset, epoch: this.#epoch };
  }

  /** The first hole while a repair is pending, else null. */
  get gap(): { from: number; to: number } | null {
    return this.#gap;
  }

  /** True between a `gap` and the `repair` that closes it. */
  get repairing(): boolean {
    return this.#gap !== null;
  }

  /** The `since` of the history read that repairs (or resyncs) this channel. */
  get repairSince(): number {
    return this.#offset;
  }

  /**
   * Judges one live publication.
   *
   * @example
   * if (cursor.accept(pub) === "deliver") fanOut(pub);
   */
  accept(pub: BrokerPublication): AcceptResult {
    const offset = pub.offset;
    if (offset === undefined) return "deliver";
    if (pub.epoch !== this.#epoch) {
      // Adopt the new epoch at this publication: clients resubscribe and get history's
      // top, which is at least this offset, so live delivery continues from here.
      this.#reset(offset, pub.epoch ?? "");
      return "epoch-changed";
    }
    if (offset <= this.#offset) return "duplicate";
    if (this.#gap === null) {
      if (offset === this.#offset + 1) {
        this.#offset = offset;
        return "deliver";
      }
      this.#gap = { from: this.#offset + 1, to: offset - 1 };
      this.#held.push(pub);
      return "gap";
    }
    if (this.#held.length >= this.#maxHeld) {
      this.#reset(offset, this.#epoch);
      return "overflow";
    }
    this.#held.push(pub);
    return "held";
  }

  /**
   * Applies a history read made with `since: repairSince`: delivers the missing range and
   * what was held, in order, or gives up when history cannot close the hole (trimmed,
   * expired, another epoch).
   *
   * @example
   * const r = cursor.repair(await broker.history(ch, { since: cursor.repairSince, history }));
   * if (r.ok) r.publications.forEach(fanOut); else tellResubscribe(ch, r.reason);
   */
  repair(history: HistoryResult): RepairResult {
    if (history.position.epoch !== this.#epoch) {
      const reason = `epoch changed (${this.#epoch} → ${history.position.epoch})`;
      this.#reset(history.position.offset, history.position.epoch);
      return { ok: false, reason };
    }
    const candidates = history.publications.concat(this.#held).filter((p) => p.offset !== undefined && p.offset > this.#offset && p.epoch === this.#epoch);
    candidates.sort((a, b) => a.offset! - b.offset!);
    const out: BrokerPublication[] = [];
    let next = this.#offset + 1;
    for (const p of candidates) {
      if (p.offset! < next) continue; // the same offset from history and from the buffer
      if (p.offset !== next) break;
      out.push(p);
      next++;
    }
    const last = next - 1;
    const rest = this.#held.filter((p) => p.offset! > last);
    // History holds every offset up to its top, so one it cannot give (before its top, or
    // the first missing one) was trimmed or expired: the range cannot be closed.
    if (last < history.position.offset || (out.length === 0 && this.#gap !== null)) {
      const reason = `history no longer has offset ${last + 1} (kept: ${describe(history)})`;
      const top = Math.max(history.position.offset, rest.length > 0 ? rest[rest.length - 1]!.offset! : 0);
      this.#reset(top, this.#epoch);
      return { ok: false, reason };
    }
    this.#offset = last;
    this.#held = rest;
    this.#gap = rest.length === 0 ? null : { from: last + 1, to: rest[0]!.offset! - 1 };
    return { ok: true, publications: out, gap: this.#gap };
  }

  #reset(offset: number, epoch: string): void {
    this.#offset = offset;
    this.#epoch = epoch;
    this.#held = [];
    this.#gap = null;
  }
}

function describe(h: HistoryResult): string {
  const first = h.publications[0]?.offset;
  return first === undefined ? `none, top ${h.position.offset}` : `${first}..${h.publications[h.publications.length - 1]!.offset}`;
}
