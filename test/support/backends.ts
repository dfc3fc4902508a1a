// Real servers for tests: HTTP and raw TCP backends on 127.0.0.1 port 0, a refusing port.
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { WebSocketServer } from "ws";

export interface Backend {
  readonly port: number;
  readonly server: Server;
  /** TCP connections the backend accepted. */
  connections: number;
  /** Requests it received. */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** An HTTP backend; `handler` defaults to an echo naming `name`. */
export async function httpBackend(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Backend> {
  const b = { connections: 0, requests: [] as IncomingMessage[] } as { -readonly [K in keyof Backend]: Backend[K] };
  const server = createHttpServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    b.requests.push(req);
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.setHeader("x-served-by", name);
      res.end(`${name} ${req.method} ${req.url} ${Buffer.concat(chunks).length}`);
    });
  });
  server.on("connection", () => b.connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  b.server = server;
  b.port = (server.address() as AddressInfo).port;
  b.close = () => closeServer(server);
  return b as Backend;
}

export function closeServer(server: Server | NetServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ("closeAllConnections" in server) server.closeAllConnections();
  });
}

/** A raw TCP backend running `onSocket` for each connection. */
export async function tcpBackend(onSocket: (s: Socket) => void): Promise<{ port: number; close(): Promise<void>; server: NetServer }> {
  const sockets = new Set<Socket>();
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    onSocket(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return closeServer(server);
    },
  };
}

/** A port that refuses connections (bound then closed). */
export async function deadPort(): Promise<number> {
  const s = createNetServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as AddressInfo).port;
  await closeServer(s);
  return port;
}

/**
 * A WebSocket echo backend: greets every connection with `greeting` (default: its
 * name), echoes messages (text stays text), counts pongs; plain HTTP requests get
 * `http` (default: 200 with `x-served-by` and its name).
 */
export interface WsBackend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  readonly wss: WebSocketServer;
  /** Pongs received (answers to the gateway's pings reach the backend only when they are not its own). */
  pongs: number;
  close(): Promise<void>;
}

/** Starts a {@link WsBackend} on 127.0.0.1 port 0. */
export async function wsBackend(
  name: string,
  opts: { greeting?: string; http?: (req: IncomingMessage, res: ServerResponse) => void } = {},
): Promise<WsBackend> {
  const server = createHttpServer(opts.http ?? ((_req, res) => {
    res.setHeader("x-served-by", name);
    res.end(name);
  }));
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const b = { name, server, wss, pongs: 0 } as { -readonly [K in keyof WsBackend]: WsBackend[K] };
  wss.on("connection", (ws) => {
    ws.send(opts.greeting ?? name);
    ws.on("message", (d, binary) => ws.send(d, { binary }));
    ws.on("pong", () => b.pongs++);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  b.port = (server.address() as AddressInfo).port;
  b.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await closeServer(server);
  };
  return b as WsBackend;
}
