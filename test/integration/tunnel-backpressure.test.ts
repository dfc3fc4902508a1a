// Backpressure through a tunnel (TCP mode, and a WebSocket after its 101): when one side
// stops reading, the gateway stops reading the other instead of buffering what it sends,
// every byte arrives, in order, once the slow side reads again, and the server's byte
// counters say how many went each way.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { closeServer, tcpBackend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { until } from "../support/wait.ts";

const TOTAL = 32 * 1024 * 1024;
/** What the gateway may hold for one side: its socket buffer and one read of the other. */
const HELD = 1024 * 1024;

/** 32 MiB whose every 4 bytes count up: a byte lost, doubled or reordered shows. */
function payload(): Buffer {
  const b = Buffer.alloc(TOTAL);
  for (let i = 0; i < TOTAL; i += 4) b.writeUInt32BE(i / 4, i);
  return b;
}

/** Resolves once `n()` stayed the same for 300 ms (the sender is blocked), or after 20 s. */
async function settled(n: () => number): Promise<void> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 400 && same < 6; i++) {
    const v = n();
    same = v === last ? same + 1 : 0;
    last = v;
    await sleep(50);
  }
}

/** Reads everything `s` sends until it has `want` bytes; `s` is paused until `go()` is called. */
function collector(s: Socket, want: number) {
  const chunks: Buffer[] = [];
  let got = 0;
  s.pause();
  s.on("data", (c: Buffer) => {
    chunks.push(c);
    got += c.length;
  });
  return {
    go: () => s.resume(),
    all: async () => {
      await until(() => got >= want, 30_000, () => `${want} bytes (got ${got})`);
      return Buffer.concat(chunks);
    },
  };
}

const theTunnel = (gw: TestGateway) => {
  assert.equal(gw.gw.tunnels.size, 1);
  return [...gw.gw.tunnels][0]!;
};

/** Once the tunnel closed: its bytes each way, counted on its server (admin API, metrics). */
async function countedOnClose(gw: TestGateway, bytesIn: number, bytesOut: number): Promise<void> {
  await until(() => gw.gw.tunnels.size === 0, 5000, "the tunnel to close");
  const st = [...gw.gw.backends.values()][0]!.servers[0]!.stats;
  assert.deepEqual([st.bytesIn, st.bytesOut], [bytesIn, bytesOut], "[bytes in, bytes out] of the tunnel");
}

test("TCP tunnel, backpressure both ways: a server that stops reading stops the client's upload at the gateway, a client that stops reading stops the server's; nothing lost", async () => {
  const data = payload();
  let server!: Socket;
  const be = await tcpBackend((s) => (server = s));
  const gw = await startGateway(`
listeners: [ { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t } ]
backends:
  t:
    servers: [ { name: s, address: "127.0.0.1:${be.port}" } ]
`);
  try {
    const client = connect(gw.port("l4"), "127.0.0.1");
    await once(client, "connect");
    await until(() => server !== undefined && gw.gw.tunnels.size === 1, 5000, "the tunnel");
    const atServer = collector(server, TOTAL);
    client.write(data);
    await settled(() => client.writableLength);
    const t = theTunnel(gw);
    assert.ok(t.upstream.writableLength <= HELD, `the gateway holds ${t.upstream.writableLength} bytes for a server that does not read`);
    atServer.go();
    assert.ok((await atServer.all()).equals(data), "the server got the upload whole and in order");

    const atClient = collector(client, TOTAL);
    server.write(data);
    await settled(() => server.writableLength);
    assert.ok(t.client.writableLength <= HELD, `the gateway holds ${t.client.writableLength} bytes for a client that does not read`);
    atClient.go();
    assert.ok((await atClient.all()).equals(data), "the client got the download whole and in order");
    client.destroy();
    server.end(); // the gateway passed the client's close on as a FIN: the server ends too
    await countedOnClose(gw, TOTAL, TOTAL);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("WebSocket tunnel, backpressure from the server: a client that stops reading stops the server's frames at the gateway; nothing lost", async () => {
  // One binary frame of TOTAL bytes (64-bit length), after a raw 101.
  const frame = Buffer.concat([Buffer.from([0x82, 127, 0, 0, 0, 0]), Buffer.alloc(4), payload()]);
  frame.writeUInt32BE(TOTAL, 6);
  let server!: Socket;
  const http = createServer();
  http.on("upgrade", (_req, s: Socket) => {
    s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    server = s;
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const gw = await startGateway(`
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: w } ] } ]
backends:
  w:
    servers: [ { name: s, address: "127.0.0.1:${(http.address() as AddressInfo).port}" } ]
`);
  try {
    const client = connect(gw.port(), "127.0.0.1");
    let head = "";
    const headDone = new Promise<void>((resolve) => {
      const onHead = (d: Buffer) => {
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n")) {
          client.off("data", onHead);
          resolve();
        }
      };
      client.on("data", onHead);
    });
    client.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    await headDone;
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.ok(head.endsWith("\r\n\r\n"), "nothing past the 101 yet");
    await until(() => server !== undefined && gw.gw.tunnels.size === 1, 5000, "the tunnel");
    const atClient = collector(client, frame.length);
    server.write(frame);
    await settled(() => server.writableLength);
    const t = theTunnel(gw);
    assert.ok(t.client.writableLength <= HELD, `the gateway holds ${t.client.writableLength} bytes for a client that does not read`);
    atClient.go();
    assert.ok((await atClient.all()).equals(frame), "the client got the frame whole");
    client.destroy();
    server.end(); // the gateway passed the client's close on as a FIN: the server ends too
    await countedOnClose(gw, 0, frame.length);
  } finally {
    await gw.close();
    server?.destroy(); // an upgraded socket is not the HTTP server's to close
    await closeServer(http);
  }
});
