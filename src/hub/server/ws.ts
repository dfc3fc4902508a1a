/**
 * The WebSocket transport: `GET /connect` with subprotocol `holdfast.v1`, on `ws`.
 * `ws` does the handshake, reads frames (size limit: `limits.maxMessageBytes`, beyond
 * it the connection closes with 1009) and closes; what the hub sends is written to the
 * socket as ready-made frames ({@link Outgoing.ws}), the same Buffer for every
 * subscriber of a publication. That is safe because `ws` writes its own frames
 * synchronously too (no compression, no Blobs), so frames never interleave.
 *
 * @example
 * const wss = createWsServer(node);
 * server.on("upgrade", (req, socket, head) => upgrade(node, wss, req, socket, head));
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { CloseCode } from "../../protocol/close.ts";
import { HubErrorCode, PROTOCOL } from "../../protocol/hub.ts";
import type { Connection, Transport } from "./connection.ts";
import type { Outgoing } from "./frames.ts";
import type { HubNode } from "./node.ts";
import { originAllowed } from "./origin.ts";

/**
 * The `ws` server of a node, detached from any HTTP server (`noServer`).
 *
 * @example
 * const wss = createWsServer(node);
 */
export function createWsServer(node: HubNode): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: node.config.limits.maxMessageBytes,
    handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
  });
}

function refuse(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const head = Object.entries({ connection: "close", "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(message) + 1), ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : status === 400 ? "Bad Request" : status === 404 ? "Not Found" : "Service Unavailable"}\r\n${head}\r\n${message}\n`);
}

/**
 * Handles an HTTP upgrade: checks path, Origin, subprotocol and the node's state, then
 * hands the socket to `ws`. A node at `limits.maxConnections` accepts and closes with
 * `1013` + `retry-after` (a browser cannot read the status of a refused handshake).
 *
 * @example
 * server.on("upgrade", (req, socket, head) => upgrade(node, wss, req, socket, head));
 */
export function upgrade(node: HubNode, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on("error", () => socket.destroy());
  const path = (req.url ?? "/").split("?")[0];
  if (path !== "/connect") {
    node.stats.refuse("path");
    return refuse(socket, 404, "WebSocket connections go to /connect");
  }
  if (!originAllowed(req.headers.origin, req.headers.host, node.config.allowedOrigins)) {
    node.stats.refuse("origin");
    return refuse(socket, 403, `origin ${req.headers.origin} is not allowed (allowedOrigins)`);
  }
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  if (!offered.includes(PROTOCOL)) {
    node.stats.refuse("protocol");
    return refuse(socket, 400, `the WebSocket subprotocol must be ${PROTOCOL}`);
  }
  if (node.stopping) {
    node.stats.refuse("stopping");
    return refuse(socket, 503, "this hub node is stopping", { "retry-after": "1" });
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const raw = socket as Socket;
    raw.setNoDelay(true);
    if (node.full) {
      node.stats.refuse("limit");
      ws.close(CloseCode.TRY_AGAIN_LATER, `retry-after=${1000 + Math.floor(Math.random() * 4000)}; node at limits.maxConnections`);
      return;
    }
    attach(node, ws, raw);
  });
}

const EMPTY = Buffer.alloc(0);

// Writes of one event-loop turn are coalesced per socket: a connection keeps what the
// turn gives it, and one nextTick hands each connection's frames to its socket — one
// plain write when there is one frame (the common case with many channels: no cork, no
// buffered-chunk bookkeeping in the stream), one writev (cork/uncork) when there are
// more. A burst of publications from the broker (one Redis read often carries several)
// then costs one syscall per subscriber, at no added latency (the same turn).
const due: Array<() => void> = [];
let flushScheduled = false;

function flushAll(): void {
  // A flush may write to another connection (an error closing a socket): it is appended and flushed here too.
  for (let i = 0; i < due.length; i++) due[i]!();
  due.length = 0;
  flushScheduled = false;
}

/**
 * Calls `cb` once everything written so far has gone to the kernel. Not the `drain`
 * event: that fires only after a write returned false, and a socket's high-water mark
 * (64 KiB on HTTP server sockets) may be above the send queue's bound. An empty write's
 * callback runs after every earlier chunk was flushed.
 *
 * @example
 * whenFlushed(socket, () => flushQueue());
 */
export function whenFlushed(socket: Socket, cb: () => void): void {
  if (socket.destroyed) return;
  socket.write(EMPTY, () => cb());
}

function attach(node: HubNode, ws: WebSocket, socket: Socket): Connection {
  // Frames of this turn not yet given to the socket (see flushAll).
  let first: Buffer | null = null;
  let more: Buffer[] | null = null;
  let pendingBytes = 0;
  const flush = (): void => {
    const one = first;
    if (one === null) return;
    const rest = more;
    first = null;
    more = null;
    pendingBytes = 0;
    if (socket.destroyed) return;
    if (rest === null) {
      socket.write(one);
      return;
    }
    socket.cork();
    socket.write(one);
    for (const b of rest) socket.write(b);
    socket.uncork();
  };
  const transport: Transport = {
    kind: "websocket",
    buffered: () => socket.writableLength + pendingBytes,
    write(out: Outgoing) {
      const frame = out.ws();
      pendingBytes += frame.length;
      if (first !== null) {
        (more ??= []).push(frame);
        return;
      }
      first = frame;
      due.push(flush);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushAll);
      }
    },
    onDrain(cb) {
      flush();
      whenFlushed(socket, cb);
    },
    // The close frame goes after what this turn already sent.
    close(code, reason) {
      flush();
      ws.close(code, reason);
    },
    terminate() {
      first = null;
      more = null;
      pendingBytes = 0;
      ws.terminate();
    },
  };
  const conn = node.accept(transport);
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      node.fail(conn, undefined, HubErrorCode.BAD_REQUEST, "binary frames are not part of holdfast.v1: send JSON text");
      return;
    }
    node.message(conn, data.toString("utf8"));
  });
  ws.on("close", (code: number) => node.closed(conn, code));
  // ws reports protocol violations (an oversized or invalid frame) here, then closes.
  ws.on("error", (err: Error) => node.log.debug({ err, client: conn.id }, "websocket error"));
  return conn;
}
