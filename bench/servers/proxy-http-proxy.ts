// Reverse proxy built on the `http-proxy` npm package (HTTP + WebSocket): the Node peer.
// Usage: node proxy-http-proxy.ts LISTEN_PORT UPSTREAM_PORT
// Adapted from holdfast's shared benchmark anchors (anchors/servers/proxy-http-proxy.js).
import http from "node:http";
import type net from "node:net";
import { createRequire } from "node:module";

interface HttpProxyServer {
  on(ev: "error", cb: (err: Error, req: http.IncomingMessage, res: http.ServerResponse | net.Socket) => void): void;
  web(req: http.IncomingMessage, res: http.ServerResponse): void;
  ws(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void;
}
const require = createRequire(import.meta.url);
const httpProxy = require("http-proxy") as { createProxyServer(o: object): HttpProxyServer };

const port = Number(process.argv[2]);
const upstreamPort = Number(process.argv[3]);

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const proxy = httpProxy.createProxyServer({
  target: { host: "127.0.0.1", port: upstreamPort },
  agent,
  ws: true,
});
proxy.on("error", (_err, _req, res) => {
  // `res` is a ServerResponse for HTTP and a net.Socket for WebSocket upgrades.
  if ("writeHead" in res) {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  } else {
    res.destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => proxy.ws(req, socket, head));
server.listen({ port, host: "127.0.0.1", backlog: 4096 }, () =>
  console.log(`http-proxy listening on 127.0.0.1:${port} -> 127.0.0.1:${upstreamPort}`));
process.on("SIGTERM", () => process.exit(0));
