// What happens to an idle pooled upstream connection when its server does something:
// closes it, writes on it, is drained. Counted at a byte-level server that reports every
// connection's requests and when the gateway closed it.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { okResponse, tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { until } from "../support/wait.ts";

interface Conn {
  readonly socket: Socket;
  /** Request lines received, in order. */
  readonly requests: string[];
  /** The gateway ended or closed its side (the server then ends its own). */
  gatewayEnded: boolean;
}

/**
 * A server that answers each request (Content-Length bodies only) with 200 and the
 * request line as the body, or holds it while `hold` is set (`release()` answers the
 * held ones). It half-closes nothing by itself: tests do it through `conns`.
 */
async function scriptedServer() {
  const conns: Conn[] = [];
  const held: { c: Conn; line: string }[] = [];
  const s = {
    conns,
    hold: false,
    held,
    release() {
      for (const h of held.splice(0)) h.c.socket.write(okResponse(h.line));
    },
    port: 0,
    close: async () => {},
  };
  const t = await tcpBackend((sock) => {
    const c: Conn = { socket: sock, requests: [], gatewayEnded: false };
    conns.push(c);
    let buf = "";
    sock.on("error", () => {});
    sock.on("end", () => {
      c.gatewayEnded = true;
      sock.end();
    });
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        const he = buf.indexOf("\r\n\r\n");
        if (he < 0) return;
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, he))?.[1] ?? 0);
        if (buf.length < he + 4 + len) return;
        const line = buf.slice(0, buf.indexOf("\r\n"));
        buf = buf.slice(he + 4 + len);
        c.requests.push(line);
        if (s.hold) held.push({ c, line });
        else if (!sock.writableEnded) sock.write(okResponse(line));
      }
    });
  });
  s.port = t.port;
  s.close = t.close;
  return s;
}

const table = (conns: Conn[]) => conns.map((c) => c.requests.join(", "));

/** The one server's live state: its idle pool and counters, as the admin API shows them. */
const server = (gw: TestGateway) => gw.gw.backends.get("b")!.servers[0]!;

/** Two requests at once on two client connections: two server connections, both pooled afterwards. */
async function twoPooled(srv: Awaited<ReturnType<typeof scriptedServer>>, gw: TestGateway) {
  srv.hold = true;
  const clients = [rawClient(gw.port()), rawClient(gw.port())] as const;
  const replies = clients.map((c, i) => c.request(`GET /${i} HTTP/1.1\r\nHost: t\r\n\r\n`));
  await until(() => srv.held.length === 2, 5000, "both requests at the server");
  srv.hold = false;
  srv.release();
  await Promise.all(replies);
  await until(() => server(gw).idle.length === 2, 5000, "both connections pooled");
  return clients;
}

/**
 * One request answered, its server connection idle in the pool; then `poke` does
 * something to that connection from the server's side: the gateway must drop it from
 * its pool and close it (`closed`: how the server sees that), and `next`, sent on the
 * same client connection, must go out on a new server connection and get its own answer.
 */
async function afterPokingIdle(poke: (s: Socket) => void, closed: (c: Conn) => boolean, next: string, what: string): Promise<void> {
  const srv = await scriptedServer();
  const gw = await startGateway(simpleConfig([{ name: "s", port: srv.port }]));
  try {
    const c = rawClient(gw.port());
    assert.match(await c.request("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 /);
    const first = srv.conns[0]!;
    poke(first.socket);
    await until(() => closed(first) && server(gw).idle.length === 0, 5000, () => `the gateway to drop and close the connection ${what} (idle: ${server(gw).idle.length})`);
    const line = next.slice(0, next.indexOf("\r\n"));
    const r = await c.request(next);
    assert.match(r, /^HTTP\/1\.1 200 /, r);
    assert.ok(r.endsWith(line), `the answer to its own request: ${JSON.stringify(r)}`);
    assert.deepEqual(table(srv.conns), ["GET /a HTTP/1.1", line], "on a new connection, not the poked one");
    const st = server(gw).stats;
    assert.deepEqual([st.connectionsCreated, st.connectionsReused, st.connectFailures], [2, 0, 0], "[made, reused, connect failures]: a broken idle connection is no connect failure");
    c.close();
  } finally {
    await gw.close();
    await srv.close();
  }
}

test("a server that half-closes an idle pooled connection: the gateway closes its side too and sends the next request, a POST, on a new connection", async () => {
  // FIN only: the server could still read what the gateway would write on it.
  await afterPokingIdle((s) => s.end(), (c) => c.gatewayEnded, "POST /order HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", "the server ended");
});

test("bytes from a server on an idle pooled connection: the gateway closes it and never reuses it", async () => {
  await afterPokingIdle((s) => s.write(okResponse("unasked")), (c) => c.gatewayEnded, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n", "that spoke out of turn");
});

test("a server that resets an idle pooled connection: the gateway drops it, counts no connect failure, and sends the next request on a new connection", async () => {
  await afterPokingIdle((s) => s.resetAndDestroy(), (c) => c.socket.destroyed, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n", "the server reset");
});

test("a server that ends the older of two idle pooled connections: only that one leaves the pool; the other is reused", async () => {
  const srv = await scriptedServer();
  const gw = await startGateway(simpleConfig([{ name: "s", port: srv.port }]));
  try {
    const [a, b] = await twoPooled(srv, gw);
    // The pool hands out its newest first: end the oldest, the one a stale index would hit.
    const oldest = server(gw).idle[0]!.socket.localPort;
    const ended = srv.conns.find((c) => c.socket.remotePort === oldest)!;
    const kept = srv.conns.find((c) => c !== ended)!;
    ended.socket.end();
    await until(() => ended.gatewayEnded, 5000, "the gateway to close the ended connection");
    await new Promise((r) => setImmediate(r));
    assert.equal(server(gw).idle.length, 1, "the ended connection left the pool, the other stayed");
    assert.match(await a.request("GET /c HTTP/1.1\r\nHost: t\r\n\r\n"), /GET \/c HTTP\/1\.1$/);
    assert.equal(srv.conns.length, 2, "no new connection");
    assert.deepEqual(kept.requests.at(-1), "GET /c HTTP/1.1", "sent on the pooled one that was left");
    a.close();
    b.close();
  } finally {
    await gw.close();
    await srv.close();
  }
});

test("drain: the server's idle pooled connections are closed at once; one busy at the time answers, then is closed instead of pooled", async () => {
  const srv = await scriptedServer();
  const gw = await startGateway(simpleConfig([{ name: "s", port: srv.port }]));
  try {
    const [a, b] = await twoPooled(srv, gw);
    // One of them busy again, held at the server; the other idle in the pool.
    srv.hold = true;
    const rc = a.request("GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => srv.held.length === 1, 5000, "the third request at the server");
    const busy = srv.held[0]!.c;
    const idle = srv.conns.find((x) => x !== busy)!;
    assert.equal(srv.conns.length, 2, "the third request reused a pooled connection");
    assert.ok(gw.gw.serverAction("b", "s", "drain"));
    assert.equal(server(gw).state(gw.gw.wheel.clock()), "draining");
    await until(() => idle.gatewayEnded, 5000, "the idle connection to be closed by the drain");
    assert.equal(busy.gatewayEnded, false, "the busy one is left to finish");
    srv.hold = false;
    srv.release();
    assert.match(await rc, /GET \/c HTTP\/1\.1$/);
    await until(() => busy.gatewayEnded, 5000, "the connection to the draining server to be closed after its exchange, not pooled");
    a.close();
    b.close();
  } finally {
    await gw.close();
    await srv.close();
  }
});
