// The keep-alive race: a server closes a pooled connection just as a request goes out on
// it. An idempotent request is sent once more on a fresh connection; a POST is not; a
// request that fails on the connection opened for it is not either.
import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type AddressInfo, type Socket } from "node:net";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import tls from "node:tls";
import { Pools, type PoolRequestOptions } from "../../src/pool/index.ts";
import { testPki } from "../support/tls.ts";

const pki = testPki();
const T = { timeout: 15_000 };

type Drop = "fin" | "rst";

interface RaceServer {
  readonly url: string;
  accepted: number;
  /** Request heads received, in order ("GET /a"). */
  readonly seen: string[];
  close(): Promise<void>;
}

/**
 * A raw HTTP/1.1 server answering "ok" with keep-alive, except that the request number
 * `dropAt` of each connection (1-based) is read and then the connection is closed
 * without a response: `fin` (a close, over TLS), `rst` (a reset, over plain TCP: Node
 * can reset a TCP socket, not a TLS one).
 */
async function raceServer(dropAt: number, drop: Drop): Promise<RaceServer> {
  const sockets = new Set<Socket>();
  const s = { accepted: 0, seen: [] as string[] } as { -readonly [K in keyof RaceServer]: RaceServer[K] };
  const onSocket = (sock: Socket): void => {
    s.accepted++;
    sockets.add(sock);
    sock.once("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    let n = 0;
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buf.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        s.seen.push(head.split(" ").slice(0, 2).join(" "));
        if (++n === dropAt) {
          if (drop === "rst") sock.resetAndDestroy();
          else sock.destroy();
          return;
        }
        sock.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok");
      }
    });
  };
  const server = drop === "rst" ? net.createServer(onSocket) : tls.createServer({ key: pki.key, cert: pki.cert }, onSocket);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  s.url = `${drop === "rst" ? "http" : "https"}://localhost:${(server.address() as AddressInfo).port}`;
  s.close = () => new Promise<void>((r) => {
    server.close(() => r());
    for (const x of sockets) x.destroy();
  });
  return s as RaceServer;
}

async function ok(pools: Pools, url: string, opts?: PoolRequestOptions): Promise<void> {
  const res = await pools.request(url, opts);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), "ok");
}

describe("Pools: a pooled connection the server closed", () => {
  for (const drop of ["fin", "rst"] as const) {
    test(`GET is retried once on a fresh connection (${drop})`, T, async () => {
      const server = await raceServer(2, drop);
      const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
      try {
        await ok(pools, `${server.url}/a`);
        await ok(pools, `${server.url}/b`); // dropped on the pooled connection, then sent again
        assert.deepEqual(server.seen, ["GET /a", "GET /b", "GET /b"]);
        assert.equal(server.accepted, 2);
        const o = pools.stats().origins[server.url]!;
        assert.deepEqual([o.requests, o.connectionsCreated, o.connectionsReused, o.retries], [3, 2, 1, 1]);
        assert.equal(o.closeReasons[drop === "fin" ? "serverClosed" : "error"], 1);
      } finally {
        await pools.close();
        await server.close();
      }
    });
  }

  test("POST is not retried: the error reaches the caller", T, async () => {
    const server = await raceServer(2, "fin");
    const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
    try {
      await ok(pools, `${server.url}/a`);
      await assert.rejects(pools.request(`${server.url}/order`, { method: "POST", body: "{}" }), { code: "UND_ERR_SOCKET" });
      assert.deepEqual(server.seen, ["GET /a", "POST /order"]);
      const o = pools.stats().origins[server.url]!;
      assert.deepEqual([o.requests, o.retries, server.accepted], [2, 0, 1]);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("POST with `idempotent: true` (the caller vouches for it) is retried", T, async () => {
    const server = await raceServer(2, "fin");
    const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
    try {
      await ok(pools, `${server.url}/a`);
      await ok(pools, `${server.url}/pay`, { method: "POST", body: "{}", idempotent: true, headers: { "idempotency-key": "k1" } });
      assert.deepEqual(server.seen, ["GET /a", "POST /pay", "POST /pay"]);
      assert.equal(pools.stats().retries, 1);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("PUT with a stream body is not retried: the body is gone", T, async () => {
    const server = await raceServer(2, "fin");
    const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
    try {
      await ok(pools, `${server.url}/a`);
      await assert.rejects(pools.request(`${server.url}/put`, { method: "PUT", body: Readable.from(["x"]) }), { code: "UND_ERR_SOCKET" });
      assert.equal(pools.stats().retries, 0);
    } finally {
      await pools.close();
      await server.close();
    }
  });

  test("a GET failing on the connection opened for it is not retried", T, async () => {
    const server = await raceServer(1, "fin");
    const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
    try {
      await assert.rejects(pools.request(`${server.url}/first`), { code: "UND_ERR_SOCKET" });
      assert.deepEqual(server.seen, ["GET /first"]);
      assert.deepEqual([pools.stats().retries, server.accepted], [0, 1]);
    } finally {
      await pools.close();
      await server.close();
    }
  });
});
