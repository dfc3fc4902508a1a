// A raw HTTP/2 client for tests that must send what a real client library refuses to
// (connection-specific fields, CR/LF in values, lengths that lie): frames are written
// by hand, header blocks as HPACK literals (no Huffman, no indexing), and the frames
// coming back are collected per stream (their DATA as text, a RST_STREAM's code).
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4, PING = 0x6, GOAWAY = 0x7;
const END_STREAM = 0x1, END_HEADERS = 0x4, ACK = 0x1;

/** What came back on one stream. */
export interface StreamResult {
  headers: boolean;
  data: string;
  ended: boolean;
  /** The response's HEADERS frame itself carried END_STREAM (a response without DATA). */
  endedOnHeaders: boolean;
  /** RST_STREAM error code, or -1. */
  reset: number;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

// RFC 7541 §5.1 integers, §5.2 strings (no Huffman).
function int(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.of(first | value);
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out.push(value);
  return Buffer.from(out);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, "latin1");
  return Buffer.concat([int(b.length, 7, 0), b]);
}

/** A header block of literal fields without indexing, names as given (case kept). */
export function hpack(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.of(0x00), str(n), str(v)]));
}

export class RawH2 {
  readonly socket: Socket;
  readonly streams = new Map<number, StreamResult>();
  goaway = false;
  /**
   * The server closed the connection. After a connection error node:http2 sends GOAWAY
   * only on a best-effort basis: while an earlier write of the session (its SETTINGS, say)
   * is still in flight over TLS, the GOAWAY it queues is dropped and the connection just
   * closes (2 connections in 3,200 at load 2–3 here; `NODE_DEBUG_NATIVE=HTTP2SESSION` shows the write in flight).
   */
  closed = false;
  #buf = Buffer.alloc(0);
  #next = 1;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (c: Buffer) => this.#read(c));
    socket.on("error", () => {});
    socket.on("close", () => (this.closed = true));
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0))]));
  }

  /** Connects in clear text (h2c prior knowledge) or over TLS with ALPN h2. */
  static async open(port: number, tls?: { ca: string; servername: string }): Promise<RawH2> {
    const socket = tls === undefined
      ? netConnect(port, "127.0.0.1")
      : tlsConnect({ port, host: "127.0.0.1", ca: tls.ca, servername: tls.servername, ALPNProtocols: ["h2"] });
    await once(socket, tls === undefined ? "connect" : "secureConnect");
    return new RawH2(socket);
  }

  /** Sends a request's HEADERS (and DATA frames); returns its stream id. */
  request(fields: readonly (readonly [string, string])[], data: readonly Buffer[] = [], endStream = true): number {
    const id = this.#next;
    this.#next += 2;
    this.streams.set(id, { headers: false, data: "", ended: false, endedOnHeaders: false, reset: -1 });
    const hasData = data.length > 0;
    this.socket.write(frame(HEADERS, END_HEADERS | (endStream && !hasData ? END_STREAM : 0), id, hpack(fields)));
    data.forEach((d, i) => this.socket.write(frame(DATA, endStream && i === data.length - 1 ? END_STREAM : 0, id, d)));
    return id;
  }

  /** Resolves when the stream was answered in full or reset, or the connection ended. */
  async done(id: number, ms = 15_000): Promise<StreamResult> {
    const t0 = Date.now();
    for (;;) {
      const s = this.streams.get(id)!;
      if (s.ended || s.reset >= 0 || this.goaway || this.closed) return s;
      if (Date.now() - t0 > ms) throw new Error(`stream ${id}: no answer within ${ms} ms (${JSON.stringify(s)})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) return;
      const type = this.#buf[3]!, flags = this.#buf[4]!, id = this.#buf.readUInt32BE(5) & 0x7fffffff;
      const payload = this.#buf.subarray(9, 9 + len);
      this.#buf = this.#buf.subarray(9 + len);
      const s = this.streams.get(id);
      if (type === SETTINGS && (flags & ACK) === 0) this.socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
      else if (type === PING && (flags & ACK) === 0) this.socket.write(frame(PING, ACK, 0, payload));
      else if (type === GOAWAY) this.goaway = true;
      else if (s === undefined) continue;
      else if (type === HEADERS) {
        s.headers = true;
        if (flags & END_STREAM) s.ended = s.endedOnHeaders = true;
      } else if (type === DATA) {
        s.data += payload.toString("latin1");
        if (flags & END_STREAM) s.ended = true;
      } else if (type === RST_STREAM) s.reset = payload.readUInt32BE(0);
    }
  }
}
