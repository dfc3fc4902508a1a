// Fallback HTTPS backend of the `pool` workload when nginx is not installed: node:http2
// over TLS with HTTP/1.1 allowed, 200 "hello world\n". Slower than nginx.
// Usage: node https-backend.ts PORT CERT_FILE KEY_FILE
import fs from "node:fs";
import http2 from "node:http2";

const [port, cert, key] = process.argv.slice(2);
const body = Buffer.from("hello world\n");
const server = http2.createSecureServer({ cert: fs.readFileSync(cert!), key: fs.readFileSync(key!), allowHTTP1: true }, (req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.listen({ port: Number(port), host: "127.0.0.1", backlog: 4096 }, () => console.log(`https-backend listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
