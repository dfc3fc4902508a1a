import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { WebSocket, type WebSocket as ServerSocket } from "ws";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { wsServer } from "../support/client.ts";
import { tcpBackend } from "../support/backends.ts";
import { until, within } from "../support/wait.ts";
import { wsFrame } from "../../src/codec/ws/testing.kit.ts";

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

const UPGRADE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

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

/**
 * A WebSocket server written by hand: it answers the upgrade with its 101 (the client
 * sends nothing more before it; `delayMs` after the request), then `upgraded` scripts
 * the socket.
 */
function rawWsServer(upgraded: (s: Socket) => void, delayMs = 0) {
  return tcpBackend((s) => {
    let head = "";
    const onHead = (c: Buffer): void => {
      head += c.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onHead);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? "";
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      const answer = (): void => {
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded(s);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    };
    s.on("data", onHead);
    s.on("error", () => {});
  });
}

test("gateway: a WebSocket server that half-closes without a close frame gets nothing more from the tunnel: its client's close answer is dropped, then the client's FIN passed on", async () => {
  let server: Socket | null = null;
  // What the server reads after its own FIN.
  const afterFin: Buffer[] = [];
  let finSent = false;
  const be = await rawWsServer((s) => {
    server = s;
    s.on("data", (c: Buffer) => finSent && afterFin.push(c));
  });
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }]));
  try {
    const { ws, closed } = await within(openVia(gw.port()), 10_000, "the WebSocket to open");
    const clientSocket = (ws as unknown as { _socket: Socket })._socket;
    const handshake = clientSocket.bytesWritten;
    const s = server!;
    const serverEnd = within(once(s, "end"), 10_000, "the client's FIN passed on to the server");
    finSent = true;
    s.end();
    // The client gets 1012, answers it with its own close frame (dropped by the gateway),
    // and ends its side when the gateway ends its.
    const c = await within(closed, 10_000, "the client's close");
    assert.equal(c.code, 1012);
    // The client did answer: its close frame (masked: 2 + 4 bytes, then the code and the
    // reason it echoes) is all it wrote after the handshake.
    assert.equal(clientSocket.bytesWritten - handshake, 2 + 4 + 2 + Buffer.byteLength(c.reason), "the client's close answer was sent");
    await serverEnd;
    assert.equal(Buffer.concat(afterFin).length, 0, "the server read nothing after its FIN");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("gateway: a WebSocket client that half-closes without a close frame is not taken for a vanished server: its FIN reaches the server, whose close frame and FIN reach the client", async () => {
  // The server answers the client's FIN with a text frame "bye", a close frame (1000) and its own FIN.
  const bye = [0x81, 3, 0x62, 0x79, 0x65, 0x88, 2, 0x03, 0xe8];
  const be = await rawWsServer((s) => s.on("end", () => s.end(Buffer.from(bye))));
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }]));
  try {
    const c = connect({ port: gw.port(), host: "127.0.0.1", allowHalfOpen: true });
    c.on("error", () => {});
    const chunks: Buffer[] = [];
    c.on("data", (d: Buffer) => chunks.push(d));
    const ended = within(once(c, "end"), 10_000, "the server's FIN through the gateway");
    c.write(UPGRADE);
    await until(() => Buffer.concat(chunks).includes("\r\n\r\n"), 3000, "the 101");
    c.end();
    await ended;
    const all = Buffer.concat(chunks);
    assert.match(all.toString("latin1"), /^HTTP\/1\.1 101 /);
    assert.deepEqual([...all.subarray(all.indexOf("\r\n\r\n") + 4)], bye);
    c.destroy();
  } finally {
    await gw.close();
    await be.close();
  }
});

test("gateway: after a vanished server's 1012 (a reset, a FIN) the tunnel waits for its client past 500 ms; a client that resets then closes its tunnel at once (before those are cut); a client that keeps sending instead of answering is cut at the close grace, far below timeouts.tunnel", async () => {
  const servers: Socket[] = [];
  const be = await rawWsServer((s) => servers.push(s));
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }], "    timeouts: { tunnel: 120s }"));
  const clients: { c: Socket; got: Buffer[]; ended: boolean; closed: boolean; closedAt: number; timer?: ReturnType<typeof setInterval> }[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const c = connect({ port: gw.port(), host: "127.0.0.1", allowHalfOpen: true });
      const k = { c, got: [] as Buffer[], ended: false, closed: false, closedAt: 0 };
      c.on("data", (d: Buffer) => k.got.push(d));
      c.on("end", () => (k.ended = true));
      c.on("close", () => ((k.closed = true), (k.closedAt = performance.now())));
      c.on("error", () => {});
      c.write(UPGRADE);
      clients.push(k);
      await until(() => servers.length === i + 1 && Buffer.concat(k.got).includes("\r\n\r\n"), 5000, `client ${i}'s 101`);
    }
    const tunnels = [...gw.gw.tunnels];
    const vanishedAt = performance.now(); // the gateway's grace can only start after this
    servers[0]!.resetAndDestroy();
    servers[1]!.end();
    for (const [i, k] of clients.slice(0, 2).entries()) {
      await until(() => k.ended, 10_000, `client ${i} to get the gateway's FIN`);
      const all = Buffer.concat(k.got);
      const frame = all.subarray(all.indexOf("\r\n\r\n") + 4);
      assert.deepEqual([frame[0], frame[2], frame[3]], [0x88, 0x03, 0xf4], `client ${i}: a close frame with 1012`);
      // It never answers the close: it keeps sending frames, which go nowhere.
      k.timer = setInterval(() => k.c.write(wsFrame({ opcode: 1, payload: Buffer.from("still talking"), mask: true })), 100);
    }
    // The close grace is 3 s on the gateway's clock (which fires late, never early): at
    // 500 ms all three tunnels still wait (the third for its server: it has not vanished yet).
    const t0 = performance.now();
    while (performance.now() - t0 < 500) {
      assert.equal(gw.gw.tunnels.size, 3, `the three tunnels open ${(performance.now() - t0).toFixed(0)} ms after the first two 1012s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The third server vanishes after them (its grace would end after theirs), and its
    // client resets on the 1012: the server's half-open connection is closed with it.
    servers[2]!.end();
    await until(() => clients[2]!.ended, 10_000, "client 2 to get the gateway's FIN");
    clients[2]!.c.resetAndDestroy();
    await until(() => !gw.gw.tunnels.has(tunnels[2]!), 10_000, "the reset client's tunnel to close");
    assert.ok(gw.gw.tunnels.has(tunnels[0]!) && gw.gw.tunnels.has(tunnels[1]!), "closed before the first two are cut at their grace");
    for (const [i, k] of clients.slice(0, 2).entries()) {
      await until(() => k.closed, 20_000, `client ${i}, still sending, to be cut at the close grace`);
      // Not before the grace (3 s; the wheel ticks every 100 ms): cut by it, not by anything sooner.
      assert.ok(k.closedAt - vanishedAt >= 3000 - 100, `client ${i} cut ${(k.closedAt - vanishedAt).toFixed(0)} ms after its server vanished, before the 3 s grace`);
    }
    await until(() => gw.gw.tunnels.size === 0, 5000, "both tunnels to be gone");
  } finally {
    for (const k of clients) {
      clearInterval(k.timer);
      k.c.destroy();
    }
    await gw.close();
    await be.close();
  }
});

test("gateway: a client that ends right after its upgrade request gets the 101, the server's close frame and FIN, and the server then gets the gateway's FIN: its connection is not left half-open", async () => {
  let server: Socket | null = null;
  let serverEnded = false;
  // The 101 200 ms after the request: the gateway has read the client's FIN before the
  // tunnel exists, so the tunnel never sees it (if it came later, the tunnel would pass
  // it on at once, and the test would still hold).
  const be = await rawWsServer((s) => {
    server = s;
    s.on("end", () => (serverEnded = true));
  }, 200);
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }]));
  try {
    const c = connect({ port: gw.port(), host: "127.0.0.1", allowHalfOpen: true });
    c.on("error", () => {});
    let got = Buffer.alloc(0);
    c.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    const clientEnd = within(once(c, "end"), 10_000, "the server's FIN through the gateway");
    c.end(UPGRADE);
    await until(() => server !== null && got.includes("\r\n\r\n"), 5000, "the 101");
    server!.end(Buffer.from([0x88, 2, 0x03, 0xe8]));
    await clientEnd;
    assert.deepEqual([...got.subarray(got.indexOf("\r\n\r\n") + 4)], [0x88, 2, 0x03, 0xe8], "the server's close frame (1000), and nothing else");
    await until(() => serverEnded, 10_000, "the server to get the gateway's FIN once the client's side closed");
    await until(() => gw.gw.tunnels.size === 0, 5000, "the tunnel to close");
  } finally {
    await gw.close();
    await be.close();
  }
});
