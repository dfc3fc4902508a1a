// The HTTP/1.1 session's own decisions on real sockets, byte-exact: requests pipelined
// behind one in flight (in its read or in a later one), keep-alive and its idle timer,
// the request-head timer and size limit, empty lines before a request, a head or a body
// split across reads, a malformed chunk in a later read, a client that half-closes or
// goes away, an upgrade, a PROXY header's client, what the gateway logs of its own
// refusals, and what closing the listener does to a connection in each state. Written
// for mutants of src/gateway/http/session.ts that no other test told apart (issue 15).
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeProxyV2 } from "../../src/codec/proxy/encode.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events, type ExchangeFinished } from "../../src/gateway/diagnostics.ts";
import type { HttpSession } from "../../src/gateway/http/session.ts";
import { tcpBackend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";
import { until, waitFor } from "../support/wait.ts";

/** A response with a Content-Length body. */
const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

const REQUEST_HEADERS_MS = 150;
const CLIENT_IDLE_MS = 400;

/**
 * A server that reads requests with Content-Length bodies and answers each with its path
 * (and body) at once, except: `/held…` waits until `release()`; `/partial` gets a
 * chunked head and one chunk, and no end; `/upgrade` gets a 101, then its connection
 * echoes (`/upgrade-held`: the 101 at `release()`). `heads` are the request heads it read (as soon as each is whole), `socketOf(path)`
 * the connection that read a request for `path` (a FIN from the gateway is answered with one).
 */
async function scriptedServer() {
  const waiting: (() => void)[] = [];
  const heads: string[] = [];
  const byPath = new Map<string, Socket>();
  const server = await tcpBackend((s) => {
    s.on("end", () => s.end());
    s.on("error", () => {});
    let buf = "";
    let tunnel = false;
    let headSeen = false;
    s.on("data", (c: Buffer) => {
      if (tunnel) return void s.write(c);
      buf += c.toString("latin1");
      for (let he = buf.indexOf("\r\n\r\n"); he >= 0 && !tunnel; he = buf.indexOf("\r\n\r\n")) {
        const head = buf.slice(0, he);
        if (!headSeen) heads.push(head);
        headSeen = true;
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < he + 4 + len) return;
        const body = buf.slice(he + 4, he + 4 + len);
        buf = buf.slice(he + 4 + len);
        headSeen = false;
        const path = head.split(" ")[1] ?? "";
        byPath.set(path, s);
        if (path.startsWith("/held")) waiting.push(() => s.write(ok(path + body)));
        else if (path === "/partial") s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
        else if (path === "/upgrade" || path === "/upgrade-held") {
          const switched = () => {
            tunnel = true;
            s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n");
            if (buf !== "") s.write(buf);
          };
          if (path === "/upgrade") switched();
          else {
            tunnel = true; // nothing comes before the 101 (the gateway holds the bytes after the head)
            waiting.push(switched);
          }
        } else s.write(ok(path + body));
      }
    });
  });
  return {
    ...server,
    heads,
    get waiting() {
      return waiting.length;
    },
    /** The connection that read the last request for `path` (that connection, whatever others open or close). */
    socketOf(path: string): Socket {
      const s = byPath.get(path);
      assert.ok(s !== undefined, `no request for ${path} reached the server`);
      return s;
    },
    release(): void {
      for (const w of waiting.splice(0)) w();
    },
  };
}

/** The text a client got, without the Date line a server may add. */
const noDate = (t: string) => t.replace(/\r\nDate: [^\r]*/g, "");

describe("the HTTP/1.1 session", () => {
  let server: Awaited<ReturnType<typeof scriptedServer>>;
  let gw: TestGateway;
  before(async () => {
    server = await scriptedServer();
    // web: the defaults; short: short timers (the head's shorter than the idle one);
    // small: the smallest head limit; pp: PROXY headers; stop*: one per listener-close test;
    // sticky: a backend with a sticky cookie; fresh: a new server connection per request;
    // routed: a path with no route, and one not allowed to this client.
    const listener = (name: string, extra = "") => `
  - name: ${name}
    mode: http
    listen: 127.0.0.1:0
    routes: [ { backend: s } ]${extra}`;
    gw = await startGateway(`
listeners:${listener("web")}${listener("short", `\n    timeouts: { requestHeaders: ${REQUEST_HEADERS_MS}ms, clientIdle: ${CLIENT_IDLE_MS}ms }`)}${listener("small", "\n    maxHeaderSize: 1024\n    timeouts: { requestHeaders: 150ms }")}${listener("pp", "\n    proxyProtocol: accept")}${listener("stop1")}${listener("stop2")}${listener("sticky").replace("backend: s", "backend: k")}${listener("fresh").replace("backend: s", "backend: f")}${listener("routed").replace("routes: [ { backend: s } ]", "routes: [ { match: { pathPrefix: /ok }, backend: s }, { match: { pathPrefix: /private }, allow: [10.0.0.0/8], backend: s } ]")}
backends:
  s:
    servers: [ { name: s1, address: 127.0.0.1:${server.port} } ]
  k:
    sticky: { cookie: HF_SRV, ttl: 1h }
    servers: [ { name: k1, address: 127.0.0.1:${server.port} } ]
  f:
    keepAlive: { maxIdle: 0 }
    servers: [ { name: f1, address: 127.0.0.1:${server.port} } ]
`);
  });
  after(async () => {
    await gw.close();
    await server.close();
  });

  /** The session of the test's client `c` (found by its port: an earlier test's session may still be closing). */
  const sessionOf = async (c: Socket): Promise<HttpSession> => {
    if (c.localPort === undefined) await once(c, "connect");
    return waitFor("the client's session", () => [...gw.gw.sessions].find((x) => (x.socket as Socket).remotePort === c.localPort) as HttpSession | undefined, 3000);
  };
  /** The session's timer is off: no deadline, in no slot of the wheel. */
  const timerOff = (session: HttpSession, what: string) => assert.deepEqual([session.deadline, session.wheelSlot], [0, -1], what);
  /** This gateway's own refusals (exchange records without a backend) published while `fn` runs. */
  const refusalsDuring = async (fn: () => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    const off = gw.on(events.exchangeFinished, (e) => {
      if (e.record.backend === "") seen.push(`${e.record.status} ${e.record.error}`);
    });
    try {
      await fn();
    } finally {
      off();
    }
    return seen;
  };
  /** Waits until the session of the test's client `c` has read bytes of a request (it is not idle); not any session's, which may be an earlier test's. */
  const partRead = async (c: Socket, what: string): Promise<void> => {
    const session = await sessionOf(c);
    await until(() => !session.idle, 3000, what);
  };
  const noSessionLeft = () => until(() => gw.gw.sessions.size === 0, 3000, () => `no session left (${gw.gw.sessions.size})`);

  test("a request sent in its own read while the one before it is in flight waits, unread, then is answered after it", async () => {
    const c = rawClient(gw.port());
    try {
      c.socket.write("GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the first request");
      c.socket.write("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
      // The session stops reading the client until the response before it is over.
      const gwSide = (await sessionOf(c.socket)).socket as Socket;
      await until(() => gwSide.isPaused(), 3000, "the session to hold the pipelined request");
      assert.equal(server.heads.length, 1, "the second request is not forwarded before the first's response");
      server.release();
      const text = await c.readUntil((t) => t.endsWith("/next"));
      assert.equal(noDate(text), ok("/held") + ok("/next"));
    } finally {
      c.close();
    }
  });

  test("a head split across reads at each byte of its blank line is put together, and a shorter head after it on the connection is found", async () => {
    const head = "GET /split-a-long-path-to-move-the-scan HTTP/1.1\r\nHost: t\r\nX-Pad: padding\r\n\r\n";
    const c = rawClient(gw.port());
    try {
      for (const cut of [3, 2, 1]) {
        c.socket.write(head.slice(0, head.length - cut));
        // The first part is read on its own before the rest is sent.
        await partRead(c.socket, "the first part to be read");
        c.socket.write(head.slice(head.length - cut));
        const res = await c.readUntil((t) => t.endsWith("/split-a-long-path-to-move-the-scan"));
        assert.equal(noDate(res), ok("/split-a-long-path-to-move-the-scan"), `cut ${cut} bytes before the end`);
        // The next head is shorter than where the last scan of the split one began.
        assert.equal(noDate(await c.request("GET /s HTTP/1.1\r\nHost: t\r\n\r\n")), ok("/s"));
      }
    } finally {
      c.close();
    }
  });

  test("empty lines alone do not start the head timer: once they are read the session is idle, its deadline the idle one's, and the connection closes without a byte (no 408)", async () => {
    const c = rawClient(gw.port("short"));
    try {
      const session = await sessionOf(c.socket);
      const idleDeadline = session.deadline;
      const closed = once(c.socket, "close");
      c.socket.write("\r\n\r\n\r\n");
      await until(() => session.socket.bytesRead === 6, 3000, "the empty lines to be read");
      assert.deepEqual([session.idle, session.deadline], [true, idleDeadline]);
      await closed;
      assert.equal(await c.readUntil(() => true), "");
    } finally {
      c.close();
    }
  });

  test("empty lines before a request line are skipped, also when the last CR of one comes alone and the rest after timeouts.requestHeaders", async () => {
    const c = rawClient(gw.port("short"));
    try {
      const session = await sessionOf(c.socket);
      c.socket.write("\r\n\r");
      await until(() => session.socket.bytesRead === 3, 3000, "the empty line and the CR to be read");
      // Past the head timer from that read: a lone CR has not started a head.
      await sleep(REQUEST_HEADERS_MS * 2);
      assert.equal(noDate(await c.request("\nGET /after-empty HTTP/1.1\r\nHost: t\r\n\r\n")), ok("/after-empty"));
    } finally {
      c.close();
    }
  });

  test("a CR after an empty line, then a byte other than LF, starts a head: 408 at timeouts.requestHeaders", async () => {
    const { text, closed } = await rawExchange(gw.port("short"), "\r\n\rX", 3000);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(closed);
  });

  test("the first byte of a head after an empty line starts the head timer: 408 at timeouts.requestHeaders", async () => {
    const { text, closed } = await rawExchange(gw.port("short"), "\r\nG", 3000);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(closed);
  });

  test("the head timer runs from a head's first byte, not its last read: a head trickled in gets 408", async () => {
    const c = rawClient(gw.port("short"));
    try {
      let answered = false;
      c.socket.once("data", () => (answered = true));
      let sent = 0;
      // One byte every third of the timer, for eight timers at most: each read is well
      // within timeouts.requestHeaders of the one before.
      const head = "GET /trickle HTTP/1.1\r\nHost: t\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
      for (; sent < 24 && !answered; sent++) {
        c.socket.write(head[sent]!);
        await sleep(REQUEST_HEADERS_MS / 3);
      }
      const text = await c.readUntil((t) => t.includes("\r\n\r\n"));
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.ok(sent < 24, `the 408 came while the head was still trickling in (${sent} bytes sent)`);
    } finally {
      c.close();
    }
  });

  test("maxHeaderSize: a head of exactly that many bytes passes, one byte more gets 431, and a head cut short at exactly that many waits (408, not 431)", async () => {
    const sized = (n: number, end = "\r\n\r\n") => {
      const start = "GET /sized HTTP/1.1\r\nHost: t\r\nX-Pad: ";
      return start + "a".repeat(n - start.length - end.length) + end;
    };
    assert.equal(sized(1024).length, 1024);
    const c = rawClient(gw.port("small"));
    try {
      assert.equal(noDate(await c.request(sized(1024))), ok("/sized"));
    } finally {
      c.close();
    }
    const over = await rawExchange(gw.port("small"), sized(1025));
    assert.match(over.text, /^HTTP\/1\.1 431 /);
    const cut = await rawExchange(gw.port("small"), sized(1024, "\r\n"));
    assert.match(cut.text, /^HTTP\/1\.1 408 /);
    // A head not ended yet is refused as soon as it is longer than the limit.
    const records: ExchangeFinished[] = [];
    const off = gw.on(events.exchangeFinished, (e) => records.push(e));
    try {
      const long = await rawExchange(gw.port("small"), sized(1025, "\r\n"));
      assert.match(long.text, /^HTTP\/1\.1 431 [^]*the request head is too large/);
      await until(() => records.length === 1, 3000, "the refusal's record");
      const r = records[0]!.record;
      assert.deepEqual([r.error, r.reason, r.method, r.path], ["HF_ERR_HEAD_TOO_LARGE", "the request head is too large", "", ""]);
    } finally {
      off();
    }
  });

  test("a client that half-closes after its request gets the whole response, with Connection: close, then the connection closes", async () => {
    const c = rawClient(gw.port());
    try {
      c.socket.write("GET /held-half HTTP/1.1\r\nHost: t\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the request");
      c.socket.end();
      const gwSide = (await sessionOf(c.socket)).socket as Socket;
      await until(() => gwSide.readableEnded, 3000, "the gateway to read the client's end");
      server.release();
      const closed = once(c.socket, "close");
      const text = await c.readUntil((t) => t.endsWith("/held-half"));
      await closed;
      assert.equal(noDate(text), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n/held-half");
      await noSessionLeft();
    } finally {
      c.close();
    }
  });

  test("a client that ends its side inside a head, or between requests, is closed at once without a byte, and its timers are off", async () => {
    for (const sent of ["GET /never HTTP/1.1\r\nHost: t\r\n", "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"]) {
      const c = rawClient(gw.port("short"));
      const refusals = await refusalsDuring(async () => {
        c.socket.write(sent);
        const answer = sent.endsWith("\r\n\r\n") ? ok("/one") : "";
        if (answer !== "") assert.equal(noDate(await c.readUntil((t) => t.endsWith("/one"))), answer);
        else await partRead(c.socket, "the partial head to be read");
        const session = await sessionOf(c.socket);
        const closed = once(c.socket, "close");
        c.socket.end();
        await closed;
        timerOff(session, JSON.stringify(sent));
        assert.equal(await c.readUntil(() => true), "", JSON.stringify(sent));
        await noSessionLeft();
        // Past the head timer: a closed session's timer does not fire.
        await sleep(REQUEST_HEADERS_MS * 2);
      }).finally(() => c.close());
      assert.deepEqual(refusals, [], JSON.stringify(sent));
    }
  });

  test("a client that resets its connection before a request or inside a head: no session is left, and its timers are off", async () => {
    for (const sent of ["", "GET /never HTTP/1.1\r\n"]) {
      const refusals = await refusalsDuring(async () => {
        const c = rawClient(gw.port("short"));
        await until(() => gw.gw.sessions.size === 1, 3000, "the session");
        const session = await sessionOf(c.socket);
        if (sent !== "") {
          c.socket.write(sent);
          await partRead(c.socket, "the partial head to be read");
        }
        c.socket.resetAndDestroy();
        await noSessionLeft();
        timerOff(session, JSON.stringify(sent));
        await sleep(REQUEST_HEADERS_MS * 2);
      });
      assert.deepEqual(refusals, [], JSON.stringify(sent));
    }
  });

  test("a head refused after it came in two reads is refused once: its head timer is off", async () => {
    const refusals = await refusalsDuring(async () => {
      const c = rawClient(gw.port("short"));
      try {
        c.socket.write("GET /two-reads HTTP/1.1\r\n");
        await partRead(c.socket, "the first part to be read");
        const session = await sessionOf(c.socket);
        c.socket.write("Host: t\nX: y\r\n\r\n");
        assert.match(await c.readUntil((t) => t.includes("\r\n\r\n")), /^HTTP\/1\.1 400 /);
        await noSessionLeft();
        timerOff(session, "after the 400");
        await sleep(REQUEST_HEADERS_MS * 2);
      } finally {
        c.close();
      }
    });
    assert.deepEqual(refusals, ["400 HF_ERR_BAD_REQUEST"]);
  });

  test("a connection closed for idleness is reset by the next bytes of a client that kept its side open", async () => {
    const c = connect({ port: gw.port("short"), host: "127.0.0.1", allowHalfOpen: true });
    let error = "";
    c.on("error", (e: NodeJS.ErrnoException) => (error ||= e.code ?? e.message));
    try {
      await once(c, "connect");
      await once(c, "end");
      // The first bytes make the gateway drop the connection; the next ones get a reset.
      let closed = false;
      c.once("close", () => (closed = true));
      for (let i = 0; i < 100 && !closed; i++) {
        c.write("GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
        await sleep(30);
      }
      assert.ok(closed, "the connection closed");
      // Our side never ended: only an error closes it, the reset read or a write after it.
      assert.match(error, /^(ECONNRESET|EPIPE)$/);
      await noSessionLeft();
    } finally {
      c.destroy();
    }
  });

  test("a request pipelined behind one that waits for its server connection stays unread once that connection is made", async () => {
    const c = rawClient(gw.port("fresh"));
    try {
      c.socket.write("GET /held-fresh HTTP/1.1\r\nHost: t\r\n\r\nGET /behind HTTP/1.1\r\nHost: t\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the first request");
      assert.equal(((await sessionOf(c.socket)).socket as Socket).isPaused(), true, "the client is not read while the pipelined request waits");
      server.release();
      assert.equal(noDate(await c.readUntil((t) => t.endsWith("/behind"))), ok("/held-fresh") + ok("/behind"));
    } finally {
      c.close();
    }
  });

  test("a client that resets its connection while its request is at the server: the server's connection is closed, no session is left", async () => {
    const c = rawClient(gw.port());
    c.socket.write("GET /held-gone HTTP/1.1\r\nHost: t\r\n\r\n");
    await until(() => server.waiting === 1, 3000, "the server to hold the request");
    const held = server.socketOf("/held-gone");
    c.socket.resetAndDestroy();
    await until(() => held.closed, 3000, "the server's connection that holds the request to close");
    await noSessionLeft();
    server.release();
  });

  test("an exchange that lasts longer than timeouts.clientIdle is not cut by the session's timers", async () => {
    const c = rawClient(gw.port("short"));
    try {
      c.socket.write("GET /held-long HTTP/1.1\r\nHost: t\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the request");
      await sleep(CLIENT_IDLE_MS * 2);
      server.release();
      assert.equal(noDate(await c.readUntil((t) => t.endsWith("/held-long"))), ok("/held-long"));
    } finally {
      c.close();
    }
  });

  test("a body in reads after its head, the next request in the body's last read: both answered; a body that ends its read leaves the connection idle (closed at timeouts.clientIdle without a byte)", async () => {
    const c = rawClient(gw.port("short"));
    try {
      c.socket.write("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n");
      await until(() => server.heads.at(-1)?.startsWith("POST /body") === true, 3000, "the head to reach the server");
      c.socket.write("abc");
      await sleep(20);
      c.socket.write("defGET /then HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.equal(noDate(await c.readUntil((t) => t.endsWith("/then"))), ok("/bodyabcdef") + ok("/then"));
      c.socket.write("POST /last HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n");
      await until(() => server.heads.at(-1)?.startsWith("POST /last") === true, 3000, "the head to reach the server");
      const closed = once(c.socket, "close");
      c.socket.write("xyz");
      assert.equal(noDate(await c.readUntil((t) => t.endsWith("/lastxyz"))), ok("/lastxyz"));
      await closed;
      assert.equal(await c.readUntil(() => true), "", "nothing after the response (no 408)");
    } finally {
      c.close();
    }
  });

  test("a malformed chunk in a read after the head: 400 before the response, the server's connection closed; after the response began, the client's connection is cut", async () => {
    const before = rawClient(gw.port());
    try {
      before.socket.write("POST /held-chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the request");
      const held = server.socketOf("/held-chunked");
      const closed = once(before.socket, "close");
      before.socket.write("zz\r\n");
      const text = await before.readUntil((t) => t.includes("malformed chunked body"));
      assert.match(text, /^HTTP\/1\.1 400 /);
      await closed;
      await until(() => held.closed, 3000, "the server's connection that holds the request to close");
      server.release();
    } finally {
      before.close();
    }
    const started = rawClient(gw.port());
    try {
      started.socket.write("POST /partial HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
      const head = await started.readUntil((t) => t.endsWith("5\r\nfirst\r\n"));
      const closed = once(started.socket, "close");
      started.socket.write("zz\r\n");
      await closed;
      // A response before the whole request body closes the connection after it.
      assert.equal(noDate(head), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nfirst\r\n");
      assert.equal(await started.readUntil(() => true), "", "nothing after the cut");
    } finally {
      started.close();
    }
    await noSessionLeft();
  });

  test("an upgrade: the 101 says Connection: upgrade, bytes sent before it, with the head or in a later read, reach the server through the tunnel, and the tunnel's record (listened to alone) names the request", async () => {
    // Only the tunnel's end is listened to (not the exchanges'): its record is still built.
    let record: AccessRecord | null | undefined;
    const off = gw.on(events.tunnelClosed, (m) => (record = m.record));
    const c = rawClient(gw.port());
    try {
      // The server holds its 101 until both reads are in: the first with the head, the second on its own.
      const first = "GET /upgrade-held HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nearly;";
      c.socket.write(first);
      await until(() => server.waiting === 1, 3000, "the server to hold its 101");
      const gwSide = (await sessionOf(c.socket)).socket;
      await until(() => gwSide.bytesRead === first.length, 3000, "the head and its bytes to be read");
      c.socket.write("later;");
      await until(() => gwSide.bytesRead === first.length + "later;".length, 3000, "the later bytes to be read, before the 101");
      server.release();
      const text = await c.readUntil((t) => t.endsWith("early;later;"));
      assert.equal(text, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nearly;later;");
      await noSessionLeft();
      c.close();
      await until(() => record !== undefined, 3000, "the tunnel's end");
      assert.deepEqual([record?.method, record?.path], ["GET", "/upgrade-held"]);
    } finally {
      off();
      c.close();
    }
  });

  test("an upgrade to a backend with a sticky cookie: the 101 sets the cookie after its Connection: upgrade", async () => {
    const c = rawClient(gw.port("sticky"));
    try {
      c.socket.write("GET /upgrade HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nping");
      const text = await c.readUntil((t) => t.endsWith("ping"));
      assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\nSet-Cookie: HF_SRV=[^\r]+\r\n\r\nping$/);
    } finally {
      c.close();
    }
  });

  test("a PROXY header's client is the request's: an IPv4-mapped IPv6 address is forwarded as its IPv4 address", async () => {
    const n = server.heads.length;
    const c = rawClient(gw.port("pp"));
    try {
      c.socket.write(encodeProxyV2("::ffff:198.51.100.7", 1, "2001:db8::1", 2));
      assert.equal(noDate(await c.request("GET /pp HTTP/1.1\r\nHost: t\r\n\r\n")), ok("/pp"));
      assert.match(server.heads[n]!, /\r\nX-Forwarded-For: 198\.51\.100\.7\r\n/i);
    } finally {
      c.close();
    }
  });

  test("the gateway's own refusals are logged: a head timeout with timeouts.requestHeaders as its duration and the bytes each way; a bare LF with no duration nor request; a bad chunk with the head with its request", async () => {
    const records: ExchangeFinished[] = [];
    const off = gw.on(events.exchangeFinished, (e) => records.push(e));
    try {
      const partial = "GET /slow HTTP/1.1\r\nHost: t\r\n";
      const timedOut = await rawExchange(gw.port("short"), partial);
      // A head parsed just before: the module's one parsed head then holds its offsets.
      const warm = rawClient(gw.port("short"));
      assert.equal(noDate(await warm.request("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n")), ok("/warm"));
      warm.close();
      const bare = await rawExchange(gw.port("short"), "GET /lf HTTP/1.1\nHost: t\n\n");
      assert.match(bare.text, /^HTTP\/1\.1 400 /);
      const badChunk = await rawExchange(gw.port("short"), "POST /bad-chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
      assert.match(badChunk.text, /^HTTP\/1\.1 400 [^]*malformed chunked body/);
      await until(() => records.length === 4, 3000, "four records");
      const [t, b, k] = records.filter((r) => r.record.backend === "").map((r) => r.record);
      // A head that was parsed names its request; one that was not, none.
      assert.deepEqual([b!.method, b!.path, k!.method, k!.path, k!.error, k!.reason], ["", "", "POST", "/bad-chunk", "HF_ERR_BAD_REQUEST", "malformed chunked body"]);
      assert.deepEqual([t!.status, t!.error, t!.reason, t!.path, t!.bytesIn, t!.bytesOut, t!.durationMs],
        [408, "HF_ERR_HEAD_TIMEOUT", "the request head did not arrive in time", "", partial.length, timedOut.text.length, REQUEST_HEADERS_MS]);
      assert.deepEqual([b!.status, b!.error, b!.reason, b!.bytesIn, b!.bytesOut, b!.durationMs],
        [400, "HF_ERR_BAD_REQUEST", "bare LF or CR in the message head", "GET /lf HTTP/1.1\nHost: t\n\n".length, bare.text.length, 0]);
      await noSessionLeft();
    } finally {
      off();
    }
  });

  test("no route: 404 that says so; a route not allowed to the client: 403 that says so", async () => {
    const none = await rawExchange(gw.port("routed"), "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(none.text, /^HTTP\/1\.1 404 [^]*no route matches this request/);
    const denied = await rawExchange(gw.port("routed"), "GET /private HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(denied.text, /^HTTP\/1\.1 403 [^]*your address is not allowed on this route/);
  });

  test("Transfer-Encoding other than chunked: 501 in HTTP/1.1, 400 in HTTP/1.0", async () => {
    const v11 = await rawExchange(gw.port(), "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert.match(v11.text, /^HTTP\/1\.1 501 /);
    const v10 = await rawExchange(gw.port(), "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert.match(v10.text, /^HTTP\/1\.1 400 /);
  });

  test("closing the listener: an idle keep-alive connection closes at once without a byte; one inside its first head, or with the CR of an empty line unread, is answered with Connection: close, then closed", async () => {
    const idle = rawClient(gw.port("stop1"));
    const inHead = rawClient(gw.port("stop1"));
    const crOnly = rawClient(gw.port("stop1"));
    try {
      assert.equal(noDate(await idle.request("GET /first HTTP/1.1\r\nHost: t\r\n\r\n")), ok("/first"));
      inHead.socket.write("GET /in-head HTTP/1.1\r\n");
      // An empty line, then a CR that may start another: the session keeps that CR.
      crOnly.socket.write("\r\n\r");
      // These two sessions (another test's may still be in the set).
      const [inHeadSession, crSession] = [await sessionOf(inHead.socket), await sessionOf(crOnly.socket)];
      await until(() => !inHeadSession.idle && crSession.socket.bytesRead === 3, 3000, "the partial head and the CR to be read");
      assert.equal(crSession.idle, false, "the CR kept: not idle");
      const idleClosed = once(idle.socket, "close");
      gw.gw.data.closeListener("stop1");
      await idleClosed;
      assert.equal(await idle.readUntil(() => true), "");
      const closed = once(inHead.socket, "close");
      inHead.socket.write("Host: t\r\n\r\n");
      const text = await inHead.readUntil((t) => t.endsWith("/in-head"));
      await closed;
      assert.equal(noDate(text), "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n/in-head");
      const crClosed = once(crOnly.socket, "close");
      crOnly.socket.write("\nGET /cr HTTP/1.1\r\nHost: t\r\n\r\n");
      const cr = await crOnly.readUntil((t) => t.endsWith("/cr"));
      await crClosed;
      assert.equal(noDate(cr), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n/cr");
    } finally {
      idle.close();
      inHead.close();
      crOnly.close();
    }
  });

  test("closing the listener while an exchange runs: its response says Connection: close, then the connection closes", async () => {
    const c = rawClient(gw.port("stop2"));
    try {
      c.socket.write("GET /held-stop HTTP/1.1\r\nHost: t\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the request");
      gw.gw.data.closeListener("stop2");
      const closed = once(c.socket, "close");
      server.release();
      const text = await c.readUntil((t) => t.endsWith("/held-stop"));
      await closed;
      assert.equal(noDate(text), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n/held-stop");
    } finally {
      c.close();
    }
  });
});
