import type { RequestView } from "../../core/balance/hash-key.ts";
import { findHeader, type Head } from "../../codec/http1/head.ts";

/**
 * A {@link RequestView} over the head being handled, for hash keys and stickiness. It
 * reads the scanner's offsets lazily, so a request whose backend uses neither builds no
 * string. Valid only synchronously, while the head is being handled (one instance is
 * reused for every request).
 *
 * @example
 * REQUEST_VIEW.reset(buf, head, clientIp);
 * extractHashKey({ kind: "header", name: "x-user" }, REQUEST_VIEW);
 */
export class HeadView implements RequestView {
  source = "";
  #buf: Buffer | null = null;
  #head: Head | null = null;

  reset(buf: Buffer | null, head: Head | null, source: string): this {
    this.#buf = buf;
    this.#head = head;
    this.source = source;
    return this;
  }

  get target(): string {
    const h = this.#head;
    return h === null ? "" : this.#buf!.toString("latin1", h.pathStart, h.targetEnd);
  }

  header(name: string): string | undefined {
    const h = this.#head;
    if (h === null) return undefined;
    const buf = this.#buf!;
    let out: string | undefined;
    const sep = name === "cookie" ? "; " : ", ";
    for (let n = findHeader(buf, h, name); n >= 0 && n < h.count; n++) {
      const ls = h.spans[n << 2]!, ne = h.spans[(n << 2) + 1]!;
      if (ne - ls !== name.length || buf.toString("latin1", ls, ne).toLowerCase() !== name) continue;
      const v = buf.toString("latin1", h.spans[(n << 2) + 2]!, h.spans[(n << 2) + 3]!);
      out = out === undefined ? v : out + sep + v;
    }
    return out;
  }
}

/** The one view shared by every session (see the class comment). */
export const REQUEST_VIEW = new HeadView();
