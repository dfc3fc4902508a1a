// The polite close of a WebSocket tunnel (a drain's 1012): the client gets a close frame
// and a few seconds (CLOSE_GRACE_MS, 3 s) to finish the handshake with the server; a
// client that never answers is cut after them.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { closeServer } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { until, within } from "../support/wait.ts";

/** A raw WebSocket client: sends the upgrade, collects every byte after the 101. */
async function rawWs(port: number) {
  const s: Socket = connect(port, "127.0.0.1");
  let buf = Buffer.alloc(0);
  let opened = false;
  s.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!opened) {
      const he = buf.indexOf("\r\n\r\n");
      if (he >= 0) {
        opened = true;
        buf = buf.subarray(he + 4);
      }
    }
  });
  s.on("error", () => {});
  s.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  await until(() => opened, 5000, "the 101");
  return {
    socket: s,
    /** The bytes after the 101 so far. */
    received: () => buf,
    /** Sends a masked close frame with `code` (zero mask: the payload goes as is). */
    sendClose(code: number) {
      s.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, code >> 8, code & 0xff]));
    },
  };
}

test("drain: a WebSocket client that answers the close frame a little later completes the handshake with its server; one that never answers is cut, and a second close (a graceful stop's) during the grace sends nothing and leaves the cut's deadline where it was", async () => {
  const closes: number[] = [];
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  // The server talks all along: what it sends after the gateway's close frame goes
  // nowhere, and does not put off the cut of a client that does not answer.
  wss.on("connection", (ws) => {
    const tick = setInterval(() => ws.send("tick"), 100);
    ws.on("close", (code) => {
      clearInterval(tick);
      closes.push(code);
    });
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const gw = await startGateway(`
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: w } ] } ]
backends:
  w:
    drainTimeout: 0ms
    drainSpread: 0ms
    servers: [ { name: s, address: "127.0.0.1:${(http.address() as AddressInfo).port}" } ]
`);
  try {
    const [polite, silent] = [await rawWs(gw.port()), await rawWs(gw.port())];
    await until(() => wss.clients.size === 2, 5000, "both WebSockets at the server");
    let silentClosedAt = 0;
    const silentClosed = once(silent.socket, "close").then(() => (silentClosedAt = performance.now()));
    const t0 = performance.now();
    assert.ok(gw.gw.serverAction("w", "s", "drain"));
    // 0x88: a close frame, from the gateway, with 1012 (0x03f4).
    // The close frame comes after whole "tick" frames (0x81, length 4): find it.
    const closeFrame = (b: Buffer) => {
      let i = 0;
      while (i + 1 < b.length && b[i] === 0x81) i += 2 + b[i + 1]!;
      return b.subarray(i, i + 4);
    };
    await until(() => closeFrame(polite.received()).length === 4 && closeFrame(silent.received()).length === 4, 5000, "the close frames");
    for (const c of [polite, silent]) {
      const f = closeFrame(c.received());
      assert.deepEqual([f[0], f[2], f[3]], [0x88, 0x03, 0xf4], "a close frame with 1012");
    }
    const after = [polite, silent].map((c) => c.received().length);
    // Well within the grace, however loaded the machine: the answer reaches the server.
    await new Promise((r) => setTimeout(r, 500));
    polite.sendClose(4000);
    await until(() => closes.includes(4000), 5000, () => `the server to get the client's close (got ${closes.join(",")})`);
    // A tunnel closes once: a second closeWith (what a graceful stop after the drain
    // calls) neither sends another close frame nor arms a new grace: the cut's deadline
    // stays where the first close put it (a new grace would move it 3 s past now).
    const open = [...gw.gw.tunnels];
    assert.ok(open.length > 0 && !silent.socket.closed, "the silent client's tunnel is open, in its grace");
    const deadlines = open.map((t) => t.deadline);
    for (const t of open) t.closeWith(1001, 0);
    assert.deepEqual(open.map((t) => t.deadline), deadlines, "the second close moved a grace's deadline");
    await within(silentClosed, 15_000, "the silent client to be cut after the grace, the server talking all along");
    // Not before the grace (3 s from the close frame; the wheel ticks every 100 ms).
    assert.ok(silentClosedAt - t0 >= 3000 - 100, `the silent client cut ${(silentClosedAt - t0).toFixed(0)} ms after the drain, within the 3 s grace`);
    assert.equal(silent.received().length, after[1], "nothing after the close frame");
    polite.socket.destroy();
  } finally {
    await gw.close();
    for (const c of wss.clients) c.terminate();
    wss.close();
    await closeServer(http);
  }
});
