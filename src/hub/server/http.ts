/**
 * The node's HTTP listener (`listen`): WebSocket upgrades on `/connect`, the SSE pair
 * `/sse` + `/send`, the server API under `/api/`, and `/healthz` (503 while stopping or
 * while the broker is down, with the reason in the body).
 *
 * @example
 * const server = createHubServer(node, sse, wss);
 * server.listen(7000);
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { WebSocketServer } from "ws";
import { sendError, sendJson } from "../../admin/kit/http.ts";
import { SSE_SESSION_HEADER } from "../../protocol/hub.ts";
import { apiAuth, handleApi } from "./api.ts";
import type { HubNode } from "./node.ts";
import { originAllowed } from "./origin.ts";
import type { SseSessions } from "./sse.ts";
import { upgrade } from "./ws.ts";

/**
 * The health answer shared by the listener and the admin server.
 *
 * @example
 * const [status, body] = health(node); // [200, { status: "ok", node: "hub-1", broker: "memory", ... }]
 */
export function health(node: HubNode): [number, object] {
  const status = node.stopping ? "stopping" : node.brokerUp ? "ok" : "broker-down";
  const body = { status, node: node.name, broker: node.broker.type, brokerUp: node.brokerUp, reason: node.brokerReason || undefined, connections: node.connections.size };
  return [status === "ok" ? 200 : 503, body];
}

/**
 * Builds the listener's HTTP server (not yet listening).
 *
 * @example
 * const server = createHubServer(node, sse, wss);
 */
export function createHubServer(node: HubNode, sse: SseSessions, wss: WebSocketServer): Server {
  const auth = apiAuth(node.config.api.token);
  const server = createServer({ requestTimeout: 0, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16_384 }, (req, res) => {
    route(node, sse, auth, req, res).catch((err: unknown) => {
      node.log.error({ err }, "request failed");
      if (!res.headersSent) sendError(res, 500, "internal error");
      else res.destroy();
    });
  });
  server.on("upgrade", (req, socket, head) => upgrade(node, wss, req, socket, head));
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  return server;
}

// CORS for the browser side of SSE: the Origin is echoed when allowed, and the
// preflight of POST /send (its custom session header triggers one) is answered.
function cors(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return origin === undefined ? {} : { "access-control-allow-origin": origin, vary: "origin" };
}

async function route(node: HubNode, sse: SseSessions, auth: (h: string | undefined) => void, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0]!;
  if (path.startsWith("/api/")) return handleApi(node, auth, req, res, path);
  if (path === "/healthz") {
    const [status, body] = health(node);
    return sendJson(res, status, body);
  }
  if (path === "/connect") return sendError(res, 426, `WebSocket only: upgrade with subprotocol holdfast.v1 (or use /sse)`, { upgrade: "websocket" });
  if (path !== "/sse" && path !== "/send") return sendError(res, 404, "not found: /connect (WebSocket), /sse + /send, /api/*, /healthz");
  if (!originAllowed(req.headers.origin, req.headers.host, node.config.allowedOrigins)) {
    node.stats.refuse("origin");
    return sendError(res, 403, `origin ${req.headers.origin} is not allowed (allowedOrigins)`);
  }
  const headers = cors(req);
  if (path === "/send") {
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...headers, "access-control-allow-methods": "POST", "access-control-allow-headers": `content-type, ${SSE_SESSION_HEADER}`, "access-control-max-age": "600" });
      return void res.end();
    }
    if (req.method !== "POST") return sendError(res, 405, "/send takes POST", { ...headers, allow: "POST, OPTIONS" });
    return sse.send(req, res, headers);
  }
  if (req.method !== "GET") return sendError(res, 405, "/sse takes GET", { ...headers, allow: "GET" });
  if (node.stopping) {
    node.stats.refuse("stopping");
    return sendError(res, 503, "this hub node is stopping", { ...headers, "retry-after": "1" });
  }
  if (node.full) {
    node.stats.refuse("limit");
    return sendError(res, 503, "this hub node is at limits.maxConnections", { ...headers, "retry-after": String(1 + Math.floor(Math.random() * 4)) });
  }
  sse.open(req, res, headers);
}
