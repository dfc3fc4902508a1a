import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/**
 * The embedded demo's backends: an HTTP echo that names the server, an SSE ticker and
 * a WebSocket echo. Each listens on 127.0.0.1 and an ephemeral port.
 *
 * @example
 * const echo = await startEchoServer("echo-1");
 * // GET / -> "hello from echo-1\n" plus what it received
 * await echo.close();
 */
export interface DemoServer {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, name: string, extra?: () => void): Promise<DemoServer> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        name,
        port,
        close: () =>
          new Promise<void>((r) => {
            extra?.();
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** HTTP echo: answers every request with the server's name and what it received. */
export function startEchoServer(name: string): Promise<DemoServer> {
  const server = createServer((req, res) => {
    let size = 0;
    req.on("data", (c: Buffer) => (size += c.length));
    req.on("end", () => {
      const body = JSON.stringify(
        {
          server: name,
          method: req.method,
          url: req.url,
          bodyBytes: size,
          forwardedFor: req.headers["x-forwarded-for"],
          forwardedHost: req.headers["x-forwarded-host"],
          forwardedProto: req.headers["x-forwarded-proto"],
        },
        null,
        2,
      );
      res.writeHead(200, { "content-type": "application/json", "x-served-by": name });
      res.end(`${body}\n`);
    });
  });
  return listen(server, name);
}

/** SSE ticker: `GET /events` streams one event per second (`?interval=ms` to change). */
export function startSseServer(name: string): Promise<DemoServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://demo");
    const interval = Math.max(10, Number(url.searchParams.get("interval") ?? 1000) || 1000);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-served-by": name });
    let n = 0;
    const tick = () => res.write(`id: ${n}\nevent: tick\ndata: {"n":${n++},"server":"${name}","time":"${new Date().toISOString()}"}\n\n`);
    tick();
    const t = setInterval(tick, interval);
    timers.add(t);
    req.on("close", () => {
      clearInterval(t);
      timers.delete(t);
    });
  });
  return listen(server, name, () => {
    for (const t of timers) clearInterval(t);
  });
}

/** WebSocket echo: sends back every message; the first message names the server. */
export function startWsEchoServer(name: string): Promise<DemoServer> {
  const server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("this endpoint speaks WebSocket\n");
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    ws.send(JSON.stringify({ hello: name }));
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return listen(server, name, () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
}
