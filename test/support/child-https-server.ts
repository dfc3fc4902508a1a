// An HTTPS server in its own process, so a test can kill it like a crash (SIGKILL):
// `node child-https-server.ts PORT` with the test PKI in HOLDFAST_TEST_PKI (JSON).
// Prints "listening PORT", then "conn" per connection accepted and "req METHOD URL" per
// request; GET/POST /hang is received and never answered.
import https from "node:https";
import type { AddressInfo } from "node:net";

const { key, cert } = JSON.parse(process.env.HOLDFAST_TEST_PKI ?? "{}") as { key: string; cert: string };
const server = https.createServer({ key, cert, keepAliveTimeout: 60_000 }, (req, res) => {
  process.stdout.write(`req ${req.method} ${req.url}\n`);
  req.resume();
  if (req.url !== "/hang") res.end("ok");
});
server.on("connection", () => process.stdout.write("conn\n"));
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
