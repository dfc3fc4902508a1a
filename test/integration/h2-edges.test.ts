// The edges of an HTTP/2 stream and session (src/gateway/h2/stream.ts, session.ts) on a
// real gateway: the gateway's own answers and what they count, a body in several DATA
// frames, empty responses, interim responses, a response head HTTP/2
// cannot carry, an answer before the request body, a server gone mid-body, the client's
// address (trusted proxies, IPv4-mapped, PROXY to the servers) and the idle timeout.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from "node:http2";
import { createServer } from "node:http";
import { connect as netConnect, type AddressInfo, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { WebSocketServer } from "ws";
import { wsFrame } from "../../src/codec/ws/testing.kit.ts";
import { loadConfig } from "../../src/config/load.ts";
import { ERROR_CODE_LIST, type ErrorCode } from "../../src/errors.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events, on } from "../../src/gateway/diagnostics.ts";
import { H2Session } from "../../src/gateway/h2/session.ts";
import { closeServer, deadPort, httpBackend, tcpBackend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { RawH2 } from "../support/h2raw.ts";
import { until, within } from "../support/wait.ts";

/** What a raw server read on one connection, and how it answers each request by its path. */
interface Seen {
  head: string;
}

// Answers by path, bytes exact. A request's body is not read: the answer goes out on its head.
const ANSWERS: Record<string, string> = {
  "/ok": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  "/head": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
  "/204": "HTTP/1.1 204 No Content\r\n\r\n",
  "/304": "HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n",
  "/empty": "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  "/chunked-empty": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "/hints": "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
  "/h2-settings": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\nno",
  "/h2-settings-body": "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\nno",
  "/hints-h2-settings": "HTTP/1.1 103 Early Hints\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
  "/early": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly",
  "/cut": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
  "/cut-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n",
  "/hang": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
};

/** A byte-level server: answers each request head by its path ({@link ANSWERS}); `/cut…` close after their bytes. */
async function rawServer() {
  const seen: Seen[] = [];
  const b = await tcpBackend((s) => {
    let buf = "";
    let skip = 0; // body bytes of the last request still to come
    s.setEncoding("latin1");
    s.on("error", () => {});
    s.on("data", (c: string) => {
      buf += c;
      for (;;) {
        const n = Math.min(skip, buf.length);
        [buf, skip] = [buf.slice(n), skip - n];
        const end = buf.indexOf("\r\n\r\n");
        if (skip > 0 || end < 0) return;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        skip = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        seen.push({ head });
        const path = head.split(" ")[1]!.replace(/\?.*/, "");
        const out = ANSWERS[path] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        if (path.startsWith("/cut")) return void s.end(out);
        s.write(out);
      }
    });
  });
  return { ...b, seen };
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  /** Interim (1xx) header blocks before the response. */
  interim: Record<string, unknown>[];
  /** RST_STREAM code the stream closed with (0 for none or NO_ERROR). */
  rstCode: number;
}

/** One request on `c`; resolves when the stream closes, however it ends. */
function ask(c: ClientHttp2Session, headers: OutgoingHttpHeaders, opts: { body?: Buffer; endStream?: boolean; ms?: number } = {}): Promise<Answer> {
  const endStream = opts.endStream ?? opts.body === undefined;
  const s: ClientHttp2Stream = c.request(headers, { endStream });
  if (opts.body !== undefined) s.write(opts.body);
  if (opts.body !== undefined && opts.endStream !== false) s.end();
  const a: Answer = { status: 0, headers: {}, body: "", interim: [], rstCode: 0 };
  s.on("headers", (h) => a.interim.push(h));
  s.on("response", (h) => {
    a.status = Number(h[":status"]);
    a.headers = h;
  });
  s.setEncoding("latin1");
  s.on("data", (d: string) => (a.body += d));
  s.on("error", () => {});
  return within(new Promise<Answer>((resolve) => s.on("close", () => resolve({ ...a, rstCode: s.rstCode ?? 0 }))), opts.ms ?? 10_000, `${String(headers[":path"])}: the stream to close`);
}

const errors = (gw: TestGateway, code: ErrorCode): number => gw.gw.data.counters.errors[ERROR_CODE_LIST.indexOf(code)]!;

describe("HTTP/2 streams: edges", () => {
  let be: Awaited<ReturnType<typeof rawServer>>;
  let gw: TestGateway;
  let url: string;
  let c: ClientHttp2Session;
  before(async () => {
    be = await rawServer();
    const dead = await deadPort();
    gw = await startGateway(`
listeners:
  - name: mesh
    mode: http
    listen: 127.0.0.1:0
    protocols: [h2c]
    routes:
      - { match: { pathPrefix: /private/ }, allow: [10.0.0.0/8], backend: b }
      - { match: { pathPrefix: /dead }, backend: dead }
      - { match: { host: h2.test }, backend: b }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
  dead: { servers: [{ name: d, address: 127.0.0.1:${dead} }] }
`);
    url = `http://127.0.0.1:${gw.port("mesh")}`;
    c = connect(url);
    c.on("error", () => {});
  });
  after(async () => {
    c.close();
    await gw.close();
    await be.close();
  });

  const get = (path: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders => ({ ":path": path, ":authority": "h2.test", ...extra });

  test("the gateway's own answers: 404 no route, 403 not allowed, 400 for an unknown method and for more than 100 fields; each counted by its code", async () => {
    const before = { route: errors(gw, "HF_ERR_NO_ROUTE"), forbidden: errors(gw, "HF_ERR_FORBIDDEN"), bad: errors(gw, "HF_ERR_BAD_REQUEST") };
    const lost = await ask(c, { ":path": "/x", ":authority": "other.test" });
    assert.equal(lost.status, 404);
    assert.equal(lost.headers["x-holdfast-error"], "HF_ERR_NO_ROUTE");
    assert.equal(lost.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(lost.body, "no route matches this request\n");
    const denied = await ask(c, get("/private/x"));
    assert.equal(denied.status, 403);
    assert.equal(denied.headers["x-holdfast-error"], "HF_ERR_FORBIDDEN");
    assert.equal(denied.body, "your address is not allowed on this route\n");
    const brew = await ask(c, get("/ok", { ":method": "BREW" }));
    assert.equal(brew.status, 400);
    assert.equal(brew.headers["x-holdfast-error"], "HF_ERR_BAD_REQUEST");
    assert.equal(brew.body, "unsupported request method\n");
    const many: OutgoingHttpHeaders = get("/ok");
    for (let i = 0; i < 101; i++) many[`x-f${i}`] = "1";
    const crowded = await ask(c, many);
    assert.equal(crowded.status, 400);
    assert.equal(crowded.body, "too many header fields\n");
    const malformed = await ask(c, get("/ok", { host: "evil.test" }));
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body, "malformed HTTP/2 request: :authority and host differ\n");
    assert.deepEqual(
      { route: errors(gw, "HF_ERR_NO_ROUTE"), forbidden: errors(gw, "HF_ERR_FORBIDDEN"), bad: errors(gw, "HF_ERR_BAD_REQUEST") },
      { route: before.route + 1, forbidden: before.forbidden + 1, bad: before.bad + 3 },
    );
    assert.equal(be.seen.filter((s) => /\/(x|private)/.test(s.head)).length, 0, "nothing refused reached the server");
  });

  test("a refusal before the request body is through ends the stream with NO_ERROR: the client need not send the rest", async () => {
    const r = await ask(c, { ":method": "POST", ":path": "/x", ":authority": "other.test" }, { endStream: false });
    assert.equal(r.status, 404);
    assert.equal(r.body, "no route matches this request\n");
    assert.equal(r.rstCode, constants.NGHTTP2_NO_ERROR);
    assert.equal((await ask(c, get("/ok"))).body, "ok", "the connection goes on");
  });

  test("a refused request whose DATA follows its HEADERS at once: answered, the DATA dropped, nothing thrown; the connection goes on", async () => {
    const thrown: Error[] = [];
    const monitor = (e: Error) => thrown.push(e);
    process.on("uncaughtExceptionMonitor", monitor);
    const h2 = await RawH2.open(gw.port("mesh"));
    try {
      const id = h2.request([[":method", "POST"], [":scheme", "http"], [":authority", "other.test"], [":path", "/x"]], [Buffer.from("abc"), Buffer.from("def")]);
      const r = await h2.done(id);
      assert.equal(r.data, "no route matches this request\n");
      const ok = await h2.done(h2.request([[":method", "GET"], [":scheme", "http"], [":authority", "h2.test"], [":path", "/ok"]]));
      assert.equal(ok.data, "ok");
    } finally {
      h2.close();
      process.off("uncaughtExceptionMonitor", monitor);
    }
    assert.deepEqual(thrown.map((e) => e.message), []);
  });

  test("a server that answers before the request body is through: the answer, then the stream closed with NO_ERROR", async () => {
    const r = await ask(c, get("/early", { ":method": "POST" }), { body: Buffer.from("part"), endStream: false });
    assert.equal(r.status, 200);
    assert.equal(r.body, "early");
    assert.equal(r.rstCode, constants.NGHTTP2_NO_ERROR);
  });

  test("a body as long as its content-length, in several DATA frames, reaches the server with its length", async () => {
    const h2 = await RawH2.open(gw.port("mesh"));
    try {
      const id = h2.request([[":method", "POST"], [":scheme", "http"], [":authority", "h2.test"], [":path", "/ok?exact"], ["content-length", "6"]], [Buffer.from("abc"), Buffer.from("def")]);
      const r = await h2.done(id);
      assert.deepEqual(r, { headers: true, data: "ok", ended: true, endedOnHeaders: false, reset: -1 });
      assert.match(be.seen.at(-1)!.head, /^POST \/ok\?exact HTTP\/1\.1\r\n[^]*content-length: 6/);
    } finally {
      h2.close();
    }
  });

  test("responses without a body end with their HEADERS frame: HEAD, 204, 304, content-length 0; a chunked one and one with a body do not", async () => {
    const h2 = await RawH2.open(gw.port("mesh"));
    try {
      const cases = [["/head", "HEAD", true, ""], ["/204", "GET", true, ""], ["/304", "GET", true, ""], ["/empty", "GET", true, ""], ["/chunked-empty", "GET", false, ""], ["/ok", "GET", false, "ok"]] as const;
      for (const [path, method, endedOnHeaders, data] of cases) {
        const r = await h2.done(h2.request([[":method", method], [":scheme", "http"], [":authority", "h2.test"], [":path", path]]));
        assert.deepEqual(r, { headers: true, data, ended: true, endedOnHeaders, reset: -1 }, `${method} ${path}`);
      }
    } finally {
      h2.close();
    }
  });

  test("an interim 103 reaches the client as its own header block before the response", async () => {
    const r = await ask(c, get("/hints"));
    assert.equal(r.interim.length, 1);
    assert.equal(r.interim[0]![":status"], 103);
    assert.equal(r.interim[0]!.link, "</s.css>; rel=preload");
    assert.equal(r.status, 200);
    assert.equal(r.body, "final");
  });

  test("a response head HTTP/2 cannot carry (HTTP2-Settings), whole or with its body to come: the stream is reset with INTERNAL_ERROR, the gateway throws nothing, the connection goes on", async () => {
    const thrown: Error[] = [];
    const monitor = (e: Error) => thrown.push(e);
    process.on("uncaughtExceptionMonitor", monitor);
    try {
      for (const path of ["/h2-settings", "/h2-settings-body"]) {
        const r = await ask(c, get(path));
        assert.equal(r.status, 0, `${path}: no response`);
        assert.equal(r.rstCode, constants.NGHTTP2_INTERNAL_ERROR, path);
        assert.equal((await ask(c, get("/ok"))).body, "ok");
      }
      // An interim response with such a field is dropped: the final one goes through.
      const hints = await ask(c, get("/hints-h2-settings"));
      assert.deepEqual([hints.interim.length, hints.status, hints.body], [0, 200, "final"]);
    } finally {
      process.off("uncaughtExceptionMonitor", monitor);
    }
    assert.deepEqual(thrown.map((e) => e.message), [], "no exception escaped the gateway");
  });

  test("a server gone mid-body (content-length or chunked): the stream is reset with INTERNAL_ERROR after the bytes it had, never ended as if whole", async () => {
    for (const path of ["/cut", "/cut-chunked"]) {
      const r = await ask(c, get(path));
      assert.equal(r.status, 200, path);
      assert.equal(r.body, "12345", path);
      assert.equal(r.rstCode, constants.NGHTTP2_INTERNAL_ERROR, `${path}: the client sees a broken stream`);
    }
  });

  test("a server that refuses the connection: 502 from the gateway, its own answer read back into HTTP/2", async () => {
    const r = await ask(c, get("/dead"));
    assert.equal(r.status, 502);
    assert.equal(r.headers["x-holdfast-error"], "HF_ERR_CONNECT_REFUSED");
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.match(r.body, /\S\n$/);
  });
});

test("a request body in several DATA frames behind its HEADERS, each on a new server connection (the stream held while it connects, then released): all of it reaches the server, with content-length and chunked", async () => {
  const be = await httpBackend("a");
  const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { keepAlive: { maxIdle: 0 }, servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
  const h2 = await RawH2.open(gw.port("mesh"));
  try {
    const parts = [Buffer.from("abc"), Buffer.from("defg"), Buffer.alloc(16_000, 0x61)];
    const fields = [[":method", "POST"], [":scheme", "http"], [":authority", "h2.test"], [":path", "/up"]] as const;
    const sized = await h2.done(h2.request([...fields, ["content-length", "16007"]], parts));
    assert.equal(sized.data, "a POST /up 16007");
    const chunked = await h2.done(h2.request(fields, parts));
    assert.equal(chunked.data, "a POST /up 16007");
    assert.equal(be.connections, 2, "a new server connection for each");
    assert.equal(be.requests[1]!.headers["transfer-encoding"], "chunked");
  } finally {
    h2.close();
    await gw.close();
    await be.close();
  }
});

test("a response whose body comes after its head (content-length; chunked, a chunk's size line first): the client gets the head, then the rest once the server sends it", async () => {
  const sockets: Socket[] = [];
  const be = await tcpBackend((sock) => {
    sock.on("error", () => {});
    sock.on("data", (d: Buffer) => {
      sockets.push(sock);
      const chunked = d.toString("latin1").startsWith("GET /chunked ");
      sock.write(chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    });
  });
  const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
  const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
  c.on("error", () => {});
  try {
    for (const [path, rest] of [["/length", "hello"], ["/chunked", "hello\r\n0\r\n\r\n"]] as const) {
      const s = c.request({ ":path": path });
      s.on("error", () => {});
      s.setEncoding("latin1");
      let body = "";
      s.on("data", (d: string) => (body += d));
      const [headers] = (await within(once(s, "response"), 10_000, `${path}: the head`)) as [Record<string, unknown>];
      assert.equal(headers[":status"], 200, path);
      sockets.at(-1)!.write(rest);
      await within(once(s, "end"), 10_000, `${path}: the body`);
      assert.equal(body, "hello", path);
    }
  } finally {
    c.destroy();
    await gw.close();
    await be.close();
  }
});

describe("HTTP/2 sessions: the client's address and the idle timeout", () => {
  test("X-Forwarded-For: a trusted client's list is extended; an IPv4-mapped client is named by its IPv4 address", async () => {
    const be = await rawServer();
    const gw = await startGateway(`
listeners:
  - { name: trusted, mode: http, listen: 127.0.0.1:0, protocols: [h2c], trustedProxies: [127.0.0.0/8], routes: [{ backend: b }] }
  - { name: dual, mode: http, listen: "[::]:0", protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
    try {
      for (const [listener, xff] of [["trusted", "6.6.6.6, 127.0.0.1"], ["dual", "127.0.0.1"]] as const) {
        const c = connect(`http://127.0.0.1:${gw.port(listener)}`);
        try {
          const r = await ask(c, { ":path": `/ok?${listener}`, "x-forwarded-for": "6.6.6.6" });
          assert.equal(r.body, "ok");
        } finally {
          c.close();
        }
        const head = be.seen.find((s) => s.head.includes(`/ok?${listener}`))!.head;
        assert.equal(/\r\nx-forwarded-for: ([^\r]*)/i.exec(head)?.[1], xff, listener);
        assert.equal(/\r\nx-forwarded-proto: ([^\r]*)/i.exec(head)?.[1], "http");
      }
    } finally {
      await gw.close();
      await be.close();
    }
  });

  test("sessions are registered by listener while open: a reload that removes one listener sends GOAWAY to its sessions only; closed sessions leave the registry", async () => {
    const be = await rawServer();
    const two = (both: boolean) => `
listeners:
  - { name: keep, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
${both ? "  - { name: gone, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }" : ""}
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`;
    const gw = await startGateway(two(true));
    const [keep, gone] = [connect(`http://127.0.0.1:${gw.port("keep")}`), connect(`http://127.0.0.1:${gw.port("gone")}`)];
    try {
      for (const c of [keep, gone]) {
        c.on("error", () => {});
        assert.equal((await ask(c, { ":path": "/ok" })).body, "ok");
      }
      const mine = () => [...gw.gw.sessions].map((x) => `${x.listener} ${x instanceof H2Session ? x.clientIp : "not h2"}`).sort();
      assert.deepEqual(mine(), ["gone 127.0.0.1", "keep 127.0.0.1"]);
      let keptGoaway = false;
      keep.on("goaway", () => (keptGoaway = true));
      const goaway = once(gone, "goaway");
      const next = loadConfig(two(false), { env: {}, baseDir: "/" });
      assert.ok(next.ok);
      await gw.gw.reload(next.config);
      await within(goaway, 10_000, "GOAWAY on the removed listener's session");
      assert.equal((await ask(keep, { ":path": "/ok" })).body, "ok", "the other listener's session goes on");
      assert.equal(keptGoaway, false);
      keep.close();
      await within(once(keep, "close"), 10_000, "the client to close");
      await until(() => gw.gw.sessions.size === 0, 10_000, () => `the registry to empty: ${JSON.stringify(mine())}`);
    } finally {
      keep.destroy();
      gone.destroy();
      await gw.close();
      await be.close();
    }
  });

  test("WebSocket over HTTP/2: the 200 carries the server's subprotocol and no HTTP/1.1 upgrade fields; once the tunnel ends, the connection idles out", async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, handleProtocols: () => "chat" });
    wss.on("connection", (ws) => ws.on("message", (d) => ws.send(`echo ${String(d)}`)));
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], timeouts: { clientIdle: 300ms }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${(http.address() as AddressInfo).port} }] }
`);
    const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
    c.on("error", () => {});
    try {
      await within(once(c, "remoteSettings"), 10_000, "the gateway's SETTINGS");
      const s = c.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": "/ws", ":scheme": "http", "sec-websocket-version": "13", "sec-websocket-protocol": "chat, other" }, { endStream: false });
      s.on("error", () => {});
      const [headers] = (await within(once(s, "response"), 10_000, "the 200")) as [Record<string, unknown>];
      assert.equal(headers[":status"], 200);
      assert.equal(headers["sec-websocket-protocol"], "chat");
      for (const name of ["sec-websocket-accept", "upgrade", "connection"]) assert.equal(headers[name], undefined, name);
      s.write(wsFrame({ opcode: 1, payload: Buffer.from("hi"), mask: true }));
      const [frame] = (await within(once(s, "data"), 10_000, "the echo")) as [Buffer];
      assert.equal(frame.subarray(2, 2 + frame[1]!).toString(), "echo hi");
      const goaway = once(c, "goaway");
      s.close();
      await within(goaway, 10_000, "GOAWAY once the connection has no stream left");
    } finally {
      c.destroy();
      await gw.close();
      for (const x of wss.clients) x.terminate();
      await closeServer(http);
    }
  });

  test("WebSocket over HTTP/2 refused by admission: a 200 without upgrade fields, then a close frame 1013 with the retry delay and the stream's end; counted, nothing thrown, nothing reaches the server, the connection goes on", async () => {
    const http = createServer((_req, res) => res.end("ok"));
    const wss = new WebSocketServer({ server: http });
    let upgrades = 0;
    wss.on("connection", () => upgrades++);
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    // One token and (practically) no refill: the first extended CONNECT takes it.
    const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { admission: { rate: 0.001, burst: 1 }, servers: [{ name: a, address: 127.0.0.1:${(http.address() as AddressInfo).port} }] }
`);
    const thrown: Error[] = [];
    const monitor = (e: Error) => thrown.push(e);
    process.on("uncaughtExceptionMonitor", monitor);
    const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
    c.on("error", () => {});
    const ws = (): ClientHttp2Stream => c.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": "/ws", ":scheme": "http", "sec-websocket-version": "13" }, { endStream: false });
    try {
      await within(once(c, "remoteSettings"), 10_000, "the gateway's SETTINGS");
      const admitted = ws();
      admitted.on("error", () => {});
      const [first] = (await within(once(admitted, "response"), 10_000, "the admitted 200")) as [Record<string, unknown>];
      assert.equal(first[":status"], 200);
      admitted.close();
      await until(() => upgrades === 1, 5000, "the admitted tunnel");
      const refused = ws();
      refused.on("error", () => {});
      let headers: Record<string, unknown> = {};
      refused.on("response", (h) => (headers = h));
      const chunks: Buffer[] = [];
      refused.on("data", (d: Buffer) => chunks.push(d));
      const ended = once(refused, "end");
      await within(once(refused, "close"), 10_000, "the refused stream to close");
      assert.equal(headers[":status"], 200);
      for (const name of ["sec-websocket-accept", "upgrade", "connection"]) assert.equal(headers[name], undefined, name);
      await within(ended, 1000, "the stream's end");
      const frame = Buffer.concat(chunks);
      assert.deepEqual([frame[0], frame[1], frame.length], [0x88, frame.length - 2, frame[1]! + 2], "one unmasked close frame");
      assert.equal(frame.readUInt16BE(2), 1013);
      assert.match(frame.subarray(4).toString(), /^retry-after=\d+$/);
      assert.equal(errors(gw, "HF_ERR_ADMISSION"), 1);
      assert.equal(upgrades, 1, "the refused upgrade did not reach the server");
      const again = c.request({ ":path": "/" });
      again.on("error", () => {});
      again.resume();
      const [next] = (await within(once(again, "response"), 10_000, "the connection goes on")) as [Record<string, unknown>];
      assert.equal(next[":status"], 200);
    } finally {
      process.off("uncaughtExceptionMonitor", monitor);
      c.destroy();
      await gw.close();
      for (const x of wss.clients) x.terminate();
      await closeServer(http);
    }
    assert.deepEqual(thrown.map((e) => e.message), [], "no exception escaped the gateway");
  });

  test("WebSocket over HTTP/2 with only holdfast:tunnel:closed subscribed: the tunnel's close carries the access record of its request (client, listener, GET, host, path, backend, server)", async () => {
    const http = createServer();
    new WebSocketServer({ server: http });
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${(http.address() as AddressInfo).port} }] }
`);
    const records: (AccessRecord | null)[] = [];
    const off = on(events.tunnelClosed, (m) => records.push(m.record));
    const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
    c.on("error", () => {});
    try {
      assert.equal(events.exchangeFinished.hasSubscribers, false, "no exchange subscriber in this file");
      await within(once(c, "remoteSettings"), 10_000, "the gateway's SETTINGS");
      const s = c.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": "/ws?x=1", ":scheme": "http", ":authority": "h2.test", "sec-websocket-version": "13" }, { endStream: false });
      s.on("error", () => {});
      await within(once(s, "response"), 10_000, "the 200");
      s.close();
      await until(() => records.length === 1, 5000, "the tunnel's close");
      const r = records[0];
      assert.ok(r !== null && r !== undefined, "a record");
      assert.deepEqual(
        { client: r.client, listener: r.listener, method: r.method, host: r.host, path: r.path, backend: r.backend, server: r.server },
        { client: "127.0.0.1", listener: "mesh", method: "GET", host: "h2.test", path: "/ws?x=1", backend: "b", server: "a" },
      );
    } finally {
      off();
      c.destroy();
      await gw.close();
      await closeServer(http);
    }
  });

  test("source stickiness over HTTP/2: a retry re-pins the client's address to the server that answered, so its next requests go there first", async () => {
    // s1 (weight 3, picked first) takes each connection and drops it on the request's
    // first bytes: a GET is retried on s2, which answers.
    let s1Connections = 0;
    const s1 = await tcpBackend((sock) => {
      s1Connections++;
      sock.on("error", () => {});
      sock.once("data", () => sock.destroy());
    });
    const s2 = await rawServer();
    const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b:
    sticky: { source: true, ttl: 30m }
    retries: 1
    servers:
      - { name: s1, address: 127.0.0.1:${s1.port}, weight: 3 }
      - { name: s2, address: 127.0.0.1:${s2.port} }
`);
    const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
    c.on("error", () => {});
    try {
      const first = await ask(c, { ":path": "/ok", ":authority": "h2.test" });
      assert.deepEqual([first.status, first.body, s1Connections], [200, "ok", 1], "tried on s1, answered by s2");
      for (let i = 0; i < 3; i++) assert.equal((await ask(c, { ":path": "/ok", ":authority": "h2.test" })).body, "ok");
      assert.equal(s1Connections, 1, "the next requests went to s2 first");
      assert.equal(s2.seen.length, 4);
    } finally {
      c.destroy();
      await gw.close();
      await s1.close();
      await s2.close();
    }
  });

  test("backends.*.proxyProtocol from an h2c client: the server connection starts with the client's address and port", async () => {
    const heads: string[] = [];
    const be = await tcpBackend((s) => {
      let buf = "";
      s.setEncoding("latin1");
      s.on("error", () => {});
      s.on("data", (d: string) => {
        buf += d;
        if (buf.includes("\r\n\r\n")) {
          heads.push(buf);
          s.write(ANSWERS["/ok"]!);
          buf = "";
        }
      });
    });
    const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { proxyProtocol: v1, servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
    const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
    try {
      await once(c, "connect");
      assert.equal((await ask(c, { ":path": "/pp" })).body, "ok");
      assert.equal(heads.length, 1);
      assert.ok(heads[0]!.startsWith(`PROXY TCP4 127.0.0.1 127.0.0.1 ${c.socket.localPort} ${gw.port("mesh")}\r\nGET /pp HTTP/1.1\r\n`), JSON.stringify(heads[0]));
    } finally {
      c.close();
      await gw.close();
      await be.close();
    }
  });

  test("timeouts.clientIdle: a connection with no stream is sent GOAWAY and closed after a request; one with a stream in flight is not", async () => {
    const be = await rawServer();
    const gw = await startGateway(`
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], timeouts: { clientIdle: 300ms }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
    try {
      // A stream in flight (the server sent half its body and went quiet).
      const busy = connect(`http://127.0.0.1:${gw.port("mesh")}`);
      busy.on("error", () => {});
      let busyGoaway = false;
      busy.on("goaway", () => (busyGoaway = true));
      const hang = busy.request({ ":path": "/hang" }, { endStream: true });
      hang.on("error", () => {});
      await within(once(hang, "response"), 10_000, "/hang: the response head");
      // A connection whose only request is done, after busy's last bytes: GOAWAY, then closed.
      const idle = connect(`http://127.0.0.1:${gw.port("mesh")}`);
      idle.on("error", () => {});
      const goaway = once(idle, "goaway");
      const closed = once(idle, "close");
      assert.equal((await ask(idle, { ":path": "/ok" })).body, "ok");
      await within(goaway, 10_000, "GOAWAY on the idle connection");
      await within(closed, 10_000, "the idle connection to close");
      // busy went quiet before idle did: its idle time is up too. A ping's answer comes
      // after any GOAWAY the gateway sent it (one connection, in order).
      await within(new Promise<void>((resolve, reject) => void busy.ping((e) => (e ? reject(new Error(`busy's ping failed (GOAWAY ${busyGoaway}): ${e.message}`)) : resolve()))), 10_000, "busy's ping answer");
      assert.equal(busyGoaway, false, "no GOAWAY while a stream is open");
      assert.equal(busy.closed || busy.destroyed, false);
      hang.close();
      busy.close();
    } finally {
      await gw.close();
      await be.close();
    }
  });

  test("a session error (a SETTINGS frame of 5 bytes) closes that connection only and is logged at debug with its listener; without a logger too", async () => {
    const be = await rawServer();
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "debug", base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const yaml = `
listeners:
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [h2c], routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`;
    for (const logger of [log, undefined]) {
      const gw = await startGateway(yaml, logger);
      const c = connect(`http://127.0.0.1:${gw.port("mesh")}`);
      c.on("error", () => {});
      try {
        assert.equal((await ask(c, { ":path": "/ok" })).body, "ok");
        const bad = netConnect(gw.port("mesh"), "127.0.0.1");
        bad.on("error", () => {});
        bad.resume();
        bad.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), Buffer.of(0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5)]));
        await within(once(bad, "close"), 10_000, "the broken connection to close");
        assert.equal((await ask(c, { ":path": "/ok" })).body, "ok", "the other connection goes on");
      } finally {
        c.close();
        await gw.close();
      }
    }
    await be.close();
    assert.deepEqual(lines.filter((l) => l.msg === "HTTP/2 session error").map((l) => [l.level, l.listener, l.err]), [[20, "mesh", "Protocol error"]]);
  });
});
