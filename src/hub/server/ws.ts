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

// Writes of one event-loop turn are coalesced per socket: the first write corks the
// socket, and one nextTick uncorks them all. A burst of publications from the broker
// (one Redis read often carries several) then costs one writev per subscriber instead of
// one syscall per message, at no added latency (the same turn).
const corked: Socket[] = [];
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const s of corked) s.uncork();
  corked.length = 0;
}

function corkedWrite(socket: Socket, buf: Buffer): void {
  if (!socket.writableCorked) {
    socket.cork();
    corked.push(socket);
    if (!uncorkScheduled) {
      uncorkScheduled = true;
      process.nextTick(uncorkAll);
    }
  }
  socket.write(buf);
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
  const transport: Transport = {
    kind: "websocket",
    buffered: () => socket.writableLength,
    write: (out: Outgoing) => corkedWrite(socket, out.ws()),
    onDrain: (cb) => whenFlushed(socket, cb),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
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
