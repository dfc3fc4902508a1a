// Opens N WebSocket connections (at most --inflight handshakes at a time), prints
// "ALLOPEN {json}" once every one is open or has failed, then holds them idle until
// SIGTERM or --hold seconds, and exits (always bounded in time).
// Usage: node ws-idle.ts --port=8081 --n=10000 [--inflight=200] [--hold=120] [--pong=1]
// --pong=1: answer pings (the gateway's, with websocket.pingInterval) like a browser
// would; the server sends nothing else to an idle client.
// Copied from holdfast's shared benchmark anchors (anchors/clients/ws-idle.js), in TypeScript.
import type net from "node:net";
import { connect, frame, parseArgs } from "./wsraw.ts";

const o = parseArgs(process.argv.slice(2), { port: 0, n: 10000, inflight: 200, hold: 120, pong: 0 });
let pongs = 0;

/** Answers each ping (89 LEN payload, LEN < 126) with a masked pong; ignores anything else. */
function answerPings(sock: net.Socket): void {
  let buf: Buffer | null = null;
  sock.on("data", (d: Buffer) => {
    buf = buf ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 2) {
      const len = buf[1]! & 0x7f;
      if (len >= 126 || buf.length < 2 + len) break;
      if ((buf[0]! & 0x0f) === 9) {
        sock.write(frame(0xa, buf.subarray(2, 2 + len)));
        pongs++;
      }
      buf = buf.subarray(2 + len);
    }
    if (buf.length === 0) buf = null;
  });
}
const sockets: net.Socket[] = [];
let closedEarly = 0;
let exiting = false;
let started = 0;
let opened = 0;
let failed = 0;
let firstErr: string | null = null;
const t0 = performance.now();

function next(): void {
  if (started >= o.n) return;
  started++;
  connect(o.port, (err, sock) => {
    if (err || !sock) {
      failed++;
      if (!firstErr) firstErr = err ? err.message : "no socket";
    } else {
      opened++;
      sockets.push(sock);
      if (o.pong === 1) answerPings(sock);
      sock.on("error", () => {});
      sock.on("close", () => {
        if (!exiting) closedEarly++;
      });
    }
    if (opened + failed === o.n) report();
    else next();
  });
}

function report(): void {
  const secs = (performance.now() - t0) / 1000;
  console.log("ALLOPEN " + JSON.stringify({ n: o.n, opened, failed, first_error: firstErr, open_secs: +secs.toFixed(2) }));
  setTimeout(() => bye("hold time over"), o.hold * 1000).unref();
}

function bye(why: string): void {
  exiting = true;
  console.log(`EXIT ${why} closed_early=${closedEarly} pongs=${pongs}`);
  for (const s of sockets) s.destroy();
  process.exit(0);
}
process.on("SIGTERM", () => bye("SIGTERM"));
process.on("SIGINT", () => bye("SIGINT"));
// Hard upper bound whatever happens.
setTimeout(() => bye("overall timeout"), (o.hold + 300) * 1000).unref();
setInterval(() => {}, 1 << 30); // keep the loop alive while holding

for (let i = 0; i < Math.min(o.inflight, o.n); i++) next();
