// The floor of Node's TLS for the tls-handshake workload: a bare `node:tls` server that
// answers every request itself (200 "hello world\n", then closes), no proxying, no HTTP
// parser — what one Node process pays per TLS connection before holdfast does anything.
// Usage: node tls-hello.ts PORT CERT_FILE KEY_FILE
import fs from "node:fs";
import tls from "node:tls";

const [port, cert, key] = process.argv.slice(2);
const answer = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello world\n");
const server = tls.createServer({ cert: fs.readFileSync(cert!), key: fs.readFileSync(key!), ALPNProtocols: ["http/1.1"] }, (s) => {
  s.on("error", () => {});
  s.once("data", () => s.end(answer));
});
server.listen({ port: Number(port), host: "127.0.0.1", backlog: 4096 }, () => console.log(`tls-hello listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
