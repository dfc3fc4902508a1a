import type { Publication, StreamPosition, SubscribedReply } from "../protocol/hub.ts";

/**
 * A subscription's resume cursor (DESIGN §6–7): the last `offset`/`epoch` delivered to
 * the application. It is what `since` carries on every resubscribe, and it is the
 * de-duplication and ordering rule for what arrives: a publication is delivered only if
 * its offset is exactly the next one in the same epoch. PURE.
 *
 * @example
 * const c = new Cursor();
 * c.subscribed({ recoverable: true, recovered: false, offset: 17, epoch: "e1", publications: [] }); // []
 * c.accept({ channel: "ch", data: 1, offset: 18, epoch: "e1" }); // "deliver"
 * c.accept({ channel: "ch", data: 1, offset: 18, epoch: "e1" }); // "duplicate"
 * c.accept({ channel: "ch", data: 3, offset: 20, epoch: "e1" }); // "gap": resubscribe with c.position
 */

/** What to do with a live publication. */
export type Verdict =
  /** The next one: deliver it (the cursor moved). */
  | "deliver"
  /** Already delivered: drop it. */
  | "duplicate"
  /** One or more are missing before it: resubscribe from `position` to recover them. */
  | "gap"
  /** From another epoch (history was lost): resubscribe from `position`; the hub will say `recovered: false`. */
  | "epoch";

/**
 * The cursor of one subscription; see the module comment.
 *
 * @example
 * const c = new Cursor();
 * c.position; // null until the first subscribe on a channel with history
 */
export class Cursor {
  #offset = 0;
  #epoch: string | null = null;

  /** What to pass as `since`, or null before the first position on a channel with history. */
  get position(): StreamPosition | null {
    return this.#epoch === null ? null : { offset: this.#offset, epoch: this.#epoch };
  }

  /**
   * Applies a `subscribed` reply and returns the recovered publications to deliver, in
   * order, without any the application already has.
   */
  subscribed(reply: Pick<SubscribedReply, "recoverable" | "recovered" | "offset" | "epoch" | "publications">): Publication[] {
    if (!reply.recoverable) {
      this.#epoch = null;
      this.#offset = 0;
      return [];
    }
    const out: Publication[] = [];
    if (reply.recovered && this.#epoch === reply.epoch) {
      for (const p of reply.publications) {
        if (p.offset !== undefined && p.offset > this.#offset) {
          out.push(p);
          this.#offset = p.offset;
        }
      }
    }
    this.#epoch = reply.epoch;
    this.#offset = Math.max(reply.recovered ? this.#offset : 0, reply.offset);
    return out;
  }

  /** Judges a live publication; moves the cursor when the verdict is `deliver`. */
  accept(pub: Pick<Publication, "offset" | "epoch">): Verdict {
    if (pub.offset === undefined) return "deliver";
    if (this.#epoch === null) {
      this.#epoch = pub.epoch ?? "";
      this.#offset = pub.offset;
      return "deliver";
    }
    if (pub.epoch !== this.#epoch) return "epoch";
    if (pub.offset <= this.#offset) return "duplicate";
    if (pub.offset !== this.#offset + 1) return "gap";
    this.#offset = pub.offset;
    return "deliver";
  }
}
