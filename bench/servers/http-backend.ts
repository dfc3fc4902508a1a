// Fallback HTTP backend when nginx is not installed: node:http, keep-alive,
// 200 "hello world\n" (12 bytes), like the nginx backend. Slower than nginx, so
// "direct" and the proxies' ratios are not comparable with runs on the nginx backend.
// Usage: node http-backend.ts PORT [PORT...] (one listener per port)
import http from "node:http";

const ports = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [9001];
const body = Buffer.from("hello world\n");
// GET /big: BIG_BYTES bytes (the slow-read workload), like the nginx backend's /big.
const big = process.env.BIG_BYTES ? Buffer.alloc(Number(process.env.BIG_BYTES), 0x61) : null;
for (const port of ports) {
  const server = http.createServer({ keepAliveTimeout: 300_000 }, (req, res) => {
    req.resume();
    const b = big !== null && req.url === "/big" ? big : body;
    res.writeHead(200, { "content-type": "text/plain", "content-length": b.length });
    res.end(b);
  });
  server.maxRequestsPerSocket = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.listen({ port, host: "127.0.0.1", backlog: 4096 }, () => console.log(`http-backend listening on 127.0.0.1:${port}`));
}
process.on("SIGTERM", () => process.exit(0));
