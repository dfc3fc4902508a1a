import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Socket } from "node:net";
import { test } from "node:test";
import { WebSocket, type WebSocket as ServerSocket } from "ws";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { wsServer } from "../support/client.ts";
import { tcpBackend } from "../support/backends.ts";
import { until, within } from "../support/wait.ts";

// A WebSocket server that dies behind the gateway (no close frame: a crash, SIGKILL, a
// lost node) is reported to its clients as 1012 with a retry-after drawn over the
// backend's drainSpread, so they do not all reconnect in the same instant. A server
// that closes properly is passed through; one that dies mid-frame is a plain cut.

interface Closed {
  code: number;
  reason: string;
}

function openVia(port: number): Promise<{ ws: WebSocket; closed: Promise<Closed> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const closed = new Promise<Closed>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    ws.once("open", () => resolve({ ws, closed }));
    ws.once("error", reject);
  });
}

async function setup(n: number) {
  const srv = await wsServer((s) => s.send("hi"));
  const gw = await startGateway(simpleConfig([{ name: "s1", port: srv.port }], "    drainSpread: 2s"));
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(await openVia(gw.port()));
  await until(() => srv.sockets.length >= n, 5000, () => `the server to hold ${n} sockets (${srv.sockets.length})`);
  return { srv, gw, clients };
}

const raw = (s: ServerSocket) => (s as unknown as { _socket: import("node:net").Socket })._socket;

test("gateway: a WebSocket server that dies without a close frame → its clients get 1012 with retry-after spread over drainSpread", async () => {
  const { srv, gw, clients } = await setup(30);
  try {
    // Half of them see a reset (SIGKILL with unread data), half a FIN (a process that exits).
    srv.sockets.forEach((s, i) => (i % 2 === 0 ? raw(s).resetAndDestroy() : raw(s).end()));
    const closes = await Promise.all(clients.map((c) => c.closed));
    const hints = closes.map((c) => {
      assert.equal(c.code, 1012, `close ${c.code} ${c.reason}`);
      const m = /^retry-after=(\d+)$/.exec(c.reason);
      assert.ok(m, `reason ${c.reason}`);
      return Number(m[1]);
    });
    for (const h of hints) assert.ok(h >= 0 && h < 2000, `hint ${h} outside [0, 2000)`);
    assert.ok(new Set(hints).size >= 20, `hints are spread, not one value: ${hints.join(",")}`);
    assert.ok(Math.max(...hints) - Math.min(...hints) > 500, `hints span the window: ${Math.min(...hints)}..${Math.max(...hints)}`);
  } finally {
    await gw.close();
    await srv.close();
  }
});

test("gateway: a server's own close frame is passed through; a server that dies mid-frame is a plain cut", async () => {
  const { srv, gw, clients } = await setup(2);
  try {
    srv.sockets[0]!.close(4321, "bye from the server");
    // A frame header announcing 100 bytes, 10 of them, then the process dies.
    const s = raw(srv.sockets[1]!);
    s.write(Buffer.concat([Buffer.from([0x82, 100]), Buffer.alloc(10)]));
    setTimeout(() => s.resetAndDestroy(), 50);
    const [a, b] = await Promise.all(clients.map((c) => c.closed));
    assert.deepEqual(a, { code: 4321, reason: "bye from the server" });
    assert.equal(b!.code, 1006);
  } finally {
    await gw.close();
    await srv.close();
  }
});

test("gateway: a WebSocket server that half-closes without a close frame gets nothing more from the tunnel: its client's close answer is dropped, then the client's FIN passed on", async () => {
  let server: Socket | null = null;
  // What the server reads after its own FIN.
  const afterFin: Buffer[] = [];
  let finSent = false;
  const be = await tcpBackend((s) => {
    server = s;
    let head = "";
    s.on("data", (c: Buffer) => {
      if (finSent) afterFin.push(c);
      if (head.includes("\r\n\r\n")) return;
      head += c.toString("latin1");
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1];
      if (!head.includes("\r\n\r\n") || key === undefined) return;
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
    s.on("error", () => {});
  });
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }]));
  try {
    const { closed } = await within(openVia(gw.port()), 10_000, "the WebSocket to open");
    const s = server!;
    const serverEnd = within(once(s, "end"), 10_000, "the client's FIN passed on to the server");
    finSent = true;
    s.end();
    // The client gets 1012, answers it with its own close frame (dropped by the gateway),
    // and ends its side when the gateway ends its.
    const c = await within(closed, 10_000, "the client's close");
    assert.equal(c.code, 1012);
    await serverEnd;
    assert.equal(Buffer.concat(afterFin).length, 0, "the server read nothing after its FIN");
  } finally {
    await gw.close();
    await be.close();
  }
});
