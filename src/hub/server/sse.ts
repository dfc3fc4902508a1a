/**
 * The SSE transport, for clients that cannot open a WebSocket: `GET /sse` streams the
 * hub's messages (one `data:` event each, encoded once per publication like WebSocket
 * frames), `POST /send` carries the client's (one JSON object or an array of them),
 * naming the stream by the `X-Holdfast-Session` header. The session id is a random
 * 128-bit capability, the first event of the stream.
 *
 * @example
 * const sse = new SseSessions(node);
 * if (path === "/sse") sse.open(req, res, cors);
 * if (path === "/send") await sse.send(req, res, cors);
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { SSE_SESSION_HEADER } from "../../protocol/hub.ts";
import { HttpError, readBody, sendError } from "../../admin/kit/http.ts";
import type { Connection, Transport } from "./connection.ts";
import type { Outgoing } from "./frames.ts";
import type { HubNode } from "./node.ts";
import { whenFlushed } from "./ws.ts";

/**
 * The open SSE streams of a node, by session id.
 *
 * @example
 * sse.size; // open streams
 */
export class SseSessions {
  readonly #node: HubNode;
  readonly #sessions = new Map<string, Connection>();

  constructor(node: HubNode) {
    this.#node = node;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** `GET /sse`: starts a stream (the caller checked Origin and the node's state). */
  open(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    const node = this.#node;
    const session = randomBytes(16).toString("base64url");
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // A proxy in front (nginx) must not buffer the stream.
      "x-accel-buffering": "no",
      ...headers,
    });
    res.socket?.setNoDelay(true);
    let ended = false;
    const transport: Transport = {
      kind: "sse",
      buffered: () => res.writableLength + (res.socket?.writableLength ?? 0),
      write: (out: Outgoing) => void res.write(out.sse()),
      onDrain: (cb) => {
        if (res.writableNeedDrain) res.once("drain", () => (res.socket === null ? undefined : whenFlushed(res.socket as Socket, cb)));
        else if (res.socket !== null) whenFlushed(res.socket as Socket, cb);
      },
      close: (code, reason) => {
        if (ended) return;
        ended = true;
        res.end(`data: ${JSON.stringify({ type: "disconnect", code, reason })}\n\n`);
      },
      terminate: () => res.destroy(),
    };
    const conn = node.accept(transport);
    this.#sessions.set(session, conn);
    res.write(`data: {"type":"session","session":"${session}"}\n\n`);
    const done = () => {
      this.#sessions.delete(session);
      node.closed(conn);
    };
    res.on("close", done);
    req.on("error", () => res.destroy());
  }

  /** `POST /send`: the client's messages, answered `202` once queued; replies go down the stream. */
  async send(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    const node = this.#node;
    const id = req.headers[SSE_SESSION_HEADER];
    const conn = typeof id === "string" ? this.#sessions.get(id) : undefined;
    if (conn === undefined || conn.state === "closing" || conn.state === "closed") {
      req.resume();
      return sendError(res, 404, `unknown or closed session: send the ${SSE_SESSION_HEADER} header with the id from the stream's first event`, headers);
    }
    let value: unknown;
    try {
      const body = await readBody(req, node.config.limits.maxMessageBytes);
      value = JSON.parse(body);
    } catch (e) {
      if (e instanceof HttpError) return sendError(res, e.status, `${e.message} (limits.maxMessageBytes)`, { ...headers, ...e.headers });
      return sendError(res, 400, `the body is not JSON: ${(e as Error).message}`, headers);
    }
    res.writeHead(202, { "content-length": "0", "cache-control": "no-store", ...headers });
    res.end();
    for (const item of Array.isArray(value) ? value : [value]) node.message(conn, { value: item });
  }

  /** Ends every stream (the caller closed their connections first). */
  closeAll(): void {
    for (const conn of this.#sessions.values()) conn.transport.terminate();
  }
}
