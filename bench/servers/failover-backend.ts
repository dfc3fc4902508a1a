// A backend of the failover workload: node:http, keep-alive, 200 "hello world\n" with
// an `x-server: NAME` header. On SIGUSR2 it "dies" the way a crashed server looks from
// the network: it closes its listener (new connections are refused) and destroys every
// open connection, then prints one JSON line {"killed_at": epoch ms, "served": N,
// "checks": M} (requests served before that; health checks counted apart) and stays
// idle until SIGTERM.
// Usage: node failover-backend.ts PORT NAME
import http from "node:http";
import type net from "node:net";

const port = Number(process.argv[2] ?? 9001);
const name = process.argv[3] ?? "s";
const body = Buffer.from("hello world\n");
let served = 0;
let checks = 0;
let dead = false;
const sockets = new Set<net.Socket>();

const server = http.createServer({ keepAliveTimeout: 300_000 }, (req, res) => {
  req.resume();
  if (dead) {
    res.destroy();
    return;
  }
  if (req.headers["user-agent"] === "holdfast-health") checks++;
  else served++;
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length, "x-server": name });
  res.end(body);
});
server.maxRequestsPerSocket = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.on("connection", (s: net.Socket) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
server.listen({ port, host: "127.0.0.1", backlog: 4096 }, () => console.log(`failover-backend ${name} listening on 127.0.0.1:${port}`));

process.on("SIGUSR2", () => {
  if (dead) return;
  dead = true;
  const at = Date.now();
  server.close();
  for (const s of sockets) s.destroy();
  console.log(JSON.stringify({ killed_at: at, served, checks }));
});
process.on("SIGTERM", () => process.exit(0));
