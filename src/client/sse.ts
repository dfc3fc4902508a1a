import { SSE_SESSION_HEADER, type HubMessage } from "../protocol/hub.ts";
import { parseHubMessage, type Transport, type TransportHandlers } from "./transport.ts";

/**
 * The SSE fallback transport (`docs/protocol.md`, for networks whose proxies block
 * WebSockets): the hub's messages come down `GET /sse` as one `data:` line each, and
 * the client's go up by `POST /send` with the session id of the stream's first event.
 *
 * Built on `fetch` and a streamed body rather than `EventSource`: it reads the status
 * and `Retry-After` of a refused stream (a gateway's `503`, a hub at its limit) and
 * turns them into the close code and hint a WebSocket would have carried, it never
 * reconnects on its own behind the client's back (an `EventSource` does, with its own
 * fixed delay), and it works in Node without a flag. Sends are posted one request at a
 * time, batched as a JSON array, so the hub receives them in order.
 *
 * @example
 * const t = openSse({ stream: "https://example.com/sse", send: "https://example.com/send" }, handlers, fetch);
 */

export interface SseUrls {
  stream: string;
  send: string;
}

/**
 * The SSE URLs next to a WebSocket URL: the last path segment becomes `sse` and `send`
 * (`wss://h/rt/connect` → `https://h/rt/sse`, `https://h/rt/send`).
 *
 * @example
 * sseUrls("wss://example.com/connect"); // { stream: "https://example.com/sse", send: "https://example.com/send" }
 */
export function sseUrls(wsUrl: string): SseUrls {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : u.protocol === "ws:" ? "http:" : u.protocol;
  const base = u.pathname.replace(/[^/]*$/, "");
  u.pathname = `${base}sse`;
  const stream = u.toString();
  u.pathname = `${base}send`;
  u.search = "";
  return { stream, send: u.toString() };
}

/** A refused stream, as the close a WebSocket would have seen. */
function refused(status: number, retryAfter: string | null): [number, string] {
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : null;
  const hint = seconds !== null ? `retry-after=${seconds * 1000}; ` : "";
  if (status === 503 || status === 429) return [1013, `${hint}HTTP ${status}`];
  if (status === 401 || status === 403) return [4501, `HTTP ${status} on the SSE stream`];
  return [1006, `${hint}HTTP ${status} on the SSE stream`];
}

/**
 * Splits an SSE byte stream (decoded) into events' `data`, per the HTML spec: lines end
 * with CRLF, LF or CR; `data:` lines of one event are joined with LF; a blank line ends
 * the event; comments and other fields are ignored.
 *
 * @example
 * const p = new SseParser((data) => console.log(data));
 * p.push("data: {\"type\":\"ping\"}\n\n"); // logs {"type":"ping"}
 */
export class SseParser {
  readonly #onData: (data: string) => void;
  #buf = "";
  #data: string[] = [];

  constructor(onData: (data: string) => void) {
    this.#onData = onData;
  }

  push(chunk: string): void {
    let buf = this.#buf + chunk;
    for (;;) {
      const m = /\r\n|\n|\r/.exec(buf);
      // A lone CR at the end may be the first half of a CRLF split across chunks.
      if (m === null || (m[0] === "\r" && m.index === buf.length - 1)) break;
      this.#line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
    this.#buf = buf;
  }

  #line(line: string): void {
    if (line === "") {
      if (this.#data.length > 0) this.#onData(this.#data.join("\n"));
      this.#data = [];
      return;
    }
    if (line.startsWith("data:")) this.#data.push(line.slice(line[5] === " " ? 6 : 5));
  }
}

/**
 * The cookies the stream's response set (a gateway's sticky-server cookie), as a
 * `cookie` header for `POST /send`, so the sends reach the hub node that holds the
 * session. A browser keeps them itself (and hides `Set-Cookie` from scripts): this is
 * for Node's fetch, which has no cookie jar.
 *
 * @example
 * affinityCookie(res.headers); // "HF_SRV=abc" (Node), "" (browser)
 */
export function affinityCookie(headers: Headers): string {
  const all = typeof headers.getSetCookie === "function" ? headers.getSetCookie() : [];
  return all.map((c) => c.split(";", 1)[0]!.trim()).filter((c) => c.includes("=")).join("; ");
}

/**
 * Opens an SSE session with the hub.
 *
 * @example
 * openSse(sseUrls(url), handlers, globalThis.fetch.bind(globalThis));
 */
export function openSse(urls: SseUrls, h: TransportHandlers, fetchImpl: typeof fetch): Transport {
  const abort = new AbortController();
  let done = false;
  let session: string | null = null;
  let outbox: string[] = [];
  let posting = false;
  let cookie = "";

  const finish = (code: number, reason: string) => {
    if (done) return;
    done = true;
    abort.abort();
    h.close(code, reason);
  };

  const post = async () => {
    posting = true;
    try {
      while (!done && outbox.length > 0) {
        const batch = outbox;
        outbox = [];
        const body = batch.length === 1 ? batch[0]! : `[${batch.join(",")}]`;
        const res = await fetchImpl(urls.send, {
          method: "POST",
          headers: { "content-type": "application/json", [SSE_SESSION_HEADER]: session!, ...(cookie !== "" && { cookie }) },
          body,
          signal: abort.signal,
        });
        await res.body?.cancel();
        if (res.status !== 202 && res.status !== 200) return finish(1006, `POST /send answered HTTP ${res.status}`);
      }
    } catch (e) {
      finish(1006, `POST /send failed: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      posting = false;
    }
  };

  const onEvent = (data: string) => {
    if (done) return;
    const m: HubMessage | null = parseHubMessage(data);
    if (m === null) return finish(1006, "the hub sent an event that is not a holdfast.v1 message");
    if (m.type === "session") {
      session = m.session;
      h.open();
      if (outbox.length > 0 && !posting) void post();
      return;
    }
    if (m.type === "disconnect") return finish(m.code, m.reason);
    h.message(m);
  };

  void (async () => {
    const res = await fetchImpl(urls.stream, { headers: { accept: "text/event-stream" }, cache: "no-store", signal: abort.signal });
    if (res.status !== 200 || res.body === null) {
      await res.body?.cancel();
      return finish(...refused(res.status, res.headers.get("retry-after")));
    }
    cookie = affinityCookie(res.headers);
    const parser = new SseParser(onEvent);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return finish(1006, "the SSE stream ended");
      parser.push(value);
      if (done) return void reader.cancel().catch(() => {});
    }
  })().catch((e: unknown) => finish(1006, `SSE stream failed: ${(e as Error)?.message ?? String(e)}`));

  return {
    name: "sse",
    send: (json) => {
      if (done) return;
      outbox.push(json);
      if (session !== null && !posting) void post();
    },
    close: () => {
      done = true;
      abort.abort();
    },
  };
}
