/**
 * Exactly once and in order, checked as the stream goes (issue 11, part 9). The
 * publisher of the end-to-end proof numbers its messages 1, 2, 3, …; a `DeliveryAudit`
 * follows one client's deliveries (in the order the application got them) and, at each
 * checkpoint, reads only the deliveries it has not read yet and judges only the messages
 * published since the checkpoint before — so checking after every event costs what the
 * stream delivered since, not the whole history again.
 *
 * A delivery is a duplicate if the client had delivered that message before, out of
 * order if a later message came first; a message of the window `(from, to]` is lost if
 * the client has not delivered it by the checkpoint (it still counts as delivered if it
 * comes later, then out of order). Deliveries of messages after `to` are read (a
 * duplicate among them counts now) and judged lost or not at the next checkpoint.
 *
 * @example
 * const a = new DeliveryAudit();
 * a.audit([1, 2, 4], 0, 4);       // { lost: 1, duplicates: 0, outOfOrder: 0, first: "lost 3" }
 * a.audit([1, 2, 4, 3, 5], 4, 5); // { lost: 0, duplicates: 0, outOfOrder: 1, first: "3 after 4 (delivery 4)" }
 */
export interface AuditCounts {
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** The first thing wrong in this window, for an error message; null if nothing. */
  first: string | null;
}

export class DeliveryAudit {
  /** Deliveries read so far. */
  #pos = 0;
  /** Every message 1..#prefix was delivered. */
  #prefix = 0;
  /** Delivered messages above #prefix (empty while the stream is in order and complete). */
  readonly #above = new Set<number>();
  #high = 0;

  /** Reads `got` from where the last call stopped, then counts the messages of `(from, to]` not delivered. */
  audit(got: readonly number[], from: number, to: number): AuditCounts {
    const r: AuditCounts = { lost: 0, duplicates: 0, outOfOrder: 0, first: null };
    for (; this.#pos < got.length; this.#pos++) {
      const x = got[this.#pos]!;
      if (this.#has(x)) {
        r.duplicates++;
        r.first ??= `duplicate ${x} (delivery ${this.#pos + 1})`;
        continue;
      }
      if (x < this.#high) {
        r.outOfOrder++;
        r.first ??= `${x} after ${this.#high} (delivery ${this.#pos + 1})`;
      } else this.#high = x;
      this.#add(x);
    }
    for (let x = Math.max(from, this.#prefix) + 1; x <= to; x++) {
      if (this.#above.has(x)) continue;
      r.lost++;
      r.first ??= `lost ${x}`;
    }
    return r;
  }

  #has(x: number): boolean {
    return x <= this.#prefix || this.#above.has(x);
  }

  #add(x: number): void {
    if (x !== this.#prefix + 1) {
      this.#above.add(x);
      return;
    }
    this.#prefix = x;
    while (this.#above.delete(this.#prefix + 1)) this.#prefix++;
  }
}
