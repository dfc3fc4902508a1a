/**
 * Outgoing messages, encoded once. A publication reaching N local subscribers is
 * serialized to JSON text once, and to bytes once per transport that needs it: one
 * WebSocket frame (header + payload in one Buffer, server frames are unmasked) written
 * as is to every WebSocket, one `data:` event to every SSE stream. No per-recipient
 * JSON.stringify, no per-recipient framing.
 *
 * @example
 * const out = new Outgoing(pubJson(channelJson, pub), "chat:1", 17);
 * for (const sub of subscribers) sub.conn.send(out);   // out.ws() built on first use
 */

/**
 * One message to send, with its encodings built on demand and kept.
 *
 * @example
 * const out = new Outgoing('{"type":"ping"}');
 * socket.write(out.ws());
 */
export class Outgoing {
  /** The JSON text. */
  readonly text: string;
  /** The channel of a `pub`/`join`/`leave` push (drop-oldest drops by channel), else undefined. */
  readonly channel: string | undefined;
  /** The offset of a `pub` on a channel with history, else 0. */
  readonly offset: number;
  /** Replies and `unsubscribe` pushes are never dropped by drop-oldest. */
  readonly droppable: boolean;
  #ws: Buffer | undefined;
  #sse: Buffer | undefined;
  #bytes = -1;

  constructor(text: string, channel?: string, offset = 0, droppable = channel !== undefined) {
    this.text = text;
    this.channel = channel;
    this.offset = offset;
    this.droppable = droppable;
  }

  /** The UTF-8 size of the text (what a send queue counts). */
  get bytes(): number {
    if (this.#bytes < 0) this.#bytes = Buffer.byteLength(this.text, "utf8");
    return this.#bytes;
  }

  /** The whole WebSocket text frame. */
  ws(): Buffer {
    return (this.#ws ??= wsTextFrame(this.text));
  }

  /** The SSE event (`data: <json>\n\n`). */
  sse(): Buffer {
    return (this.#sse ??= Buffer.from(`data: ${this.text}\n\n`, "utf8"));
  }
}

/**
 * An unmasked, final WebSocket text frame carrying `text` (RFC 6455 §5.2), in one Buffer.
 *
 * @example
 * wsTextFrame("hi"); // <81 02 68 69>
 */
export function wsTextFrame(text: string): Buffer {
  const len = Buffer.byteLength(text, "utf8");
  const head = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x81;
  if (head === 2) {
    out[1] = len;
  } else if (head === 4) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  out.write(text, head, "utf8");
  return out;
}

/**
 * The JSON text of a `pub` push. `channelJson` and `data` are JSON already (the channel
 * name is quoted once per channel, the data was encoded once by the publisher).
 *
 * @example
 * pubJson('"chat:1"', { data: '{"text":"hi"}', offset: 3, epoch: "e1" });
 * // '{"type":"pub","channel":"chat:1","data":{"text":"hi"},"offset":3,"epoch":"e1"}'
 */
export function pubJson(channelJson: string, pub: { data: string; offset?: number; epoch?: string; info?: unknown }): string {
  let s = `{"type":"pub","channel":${channelJson},"data":${pub.data}`;
  if (pub.offset !== undefined) s += `,"offset":${pub.offset},"epoch":${JSON.stringify(pub.epoch ?? "")}`;
  if (pub.info !== undefined) s += `,"info":${JSON.stringify(pub.info)}`;
  return `${s}}`;
}

/**
 * A publication as it appears inside a `subscribed` or `history` reply: JSON text,
 * built without re-parsing `data`.
 *
 * @example
 * publicationJson('"chat:1"', { data: "1", offset: 1, epoch: "e" }); // '{"channel":"chat:1","data":1,"offset":1,"epoch":"e"}'
 */
export function publicationJson(channelJson: string, pub: { data: string; offset?: number; epoch?: string; info?: unknown }): string {
  let s = `{"channel":${channelJson},"data":${pub.data}`;
  if (pub.offset !== undefined) s += `,"offset":${pub.offset},"epoch":${JSON.stringify(pub.epoch ?? "")}`;
  if (pub.info !== undefined) s += `,"info":${JSON.stringify(pub.info)}`;
  return `${s}}`;
}

/**
 * A reply or push whose fields are plain JSON values, plus one field holding a list of
 * JSON texts spliced in as is (the `publications` of `subscribed`/`history`).
 *
 * @example
 * jsonWithList({ id: 2, type: "history", channel: "c", offset: 1, epoch: "e" }, "publications", ['{"channel":"c","data":1}']);
 */
export function jsonWithList(fields: Record<string, unknown>, key: string, items: readonly string[]): string {
  const head = JSON.stringify(fields);
  return `${head.slice(0, -1)}${head.length > 2 ? "," : ""}${JSON.stringify(key)}:[${items.join(",")}]}`;
}
