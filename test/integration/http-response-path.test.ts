// The response path of an HTTP/1.1 exchange on real sockets, byte-exact on both sides:
// interim (1xx) responses, a response head in pieces, bytes a server sends past its
// response, and a body delimited by the server's close. Written for mutants of
// src/gateway/http/exchange.ts that no other test told apart (issue 15).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { after, before, describe, test } from "node:test";
import { okResponse, rawHttpBackend, tcpBackend, type RawHttpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";

/** Writes a request on `c` and reads until `done` holds (failing with the bytes after 5 s). */
function ask(c: ReturnType<typeof rawClient>, request: string, done: (text: string) => boolean): Promise<string> {
  c.socket.write(request);
  return c.readUntil(done, 5000);
}

/** A server that answers the first bytes of each connection with `pieces`, one write each, `gapMs` apart. */
function piecewiseServer(pieces: string[], gapMs = 20): ReturnType<typeof tcpBackend> {
  return tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        await sleep(gapMs);
      }
    });
  });
}

describe("HTTP/1.1 response path", () => {
  let b: RawHttpBackend;
  let gw: TestGateway;
  before(async () => {
    b = await rawHttpBackend((r) => {
      switch (r.url) {
        case "/early":
          return "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + okResponse("final");
        case "/two-interim":
          return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + okResponse("two");
        case "/trailing-bytes":
          return okResponse("hi") + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale";
        case "/until-close":
          return { bytes: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", close: true };
        default:
          return okResponse(`ok ${r.url}`);
      }
    });
    gw = await startGateway(simpleConfig([{ name: "a", port: b.port }]));
  });
  after(async () => {
    await gw.close();
    await b.close();
  });

  test("interim responses are forwarded, then the final one; the connection serves the next request", async () => {
    const c = rawClient(gw.port());
    try {
      const early = await ask(c, "GET /early HTTP/1.1\r\nHost: t\r\n\r\n", (t) => t.endsWith("final"));
      assert.match(early, /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/s\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      const two = await ask(c, "GET /two-interim HTTP/1.1\r\nHost: t\r\n\r\n", (t) => t.endsWith("two"));
      assert.match(two, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 103 Early Hints\r\nLink: <\/a>\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      const next = await c.request("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.ok(next.endsWith("ok /after"), next);
    } finally {
      c.close();
    }
  });

  test("bytes a server sends past its response are not forwarded, and its connection is not reused", async () => {
    const c = rawClient(gw.port());
    try {
      const res = await c.request("GET /trailing-bytes HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(res.endsWith("\r\n\r\nhi"), res);
      const next = await c.request("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.ok(next.endsWith("ok /next"), `the stale bytes were not taken for the next response: ${next}`);
      const conn = (url: string) => b.requests.findLast((r) => r.url === url)!.conn;
      assert.notEqual(conn("/next"), conn("/trailing-bytes"), "the out-of-sync connection is not reused");
    } finally {
      c.close();
    }
  });

  test("a body delimited by the server's close reaches the client whole, then the client's connection closes", async () => {
    const { text, closed } = await rawExchange(gw.port(), "GET /until-close HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.equal(closed, true, "the client's connection ends where the body ends");
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\nConnection: close\r\n/i);
    assert.ok(text.endsWith("\r\n\r\nuntil the end"), text);
  });
});

describe("HTTP/1.1 response head in pieces", () => {
  test("a head split across writes, and an interim response split from its final one, are put together", async () => {
    const pieces = ["HTTP/1.1 100 Cont", "inue\r\n\r\n", "HTTP/1.1 200 OK\r\nConte", "nt-Length: 5\r\n", "\r\nhel", "lo"];
    const server = await piecewiseServer(pieces);
    const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
    try {
      const c = rawClient(gw.port());
      try {
        const text = await ask(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", (t) => t.endsWith("hello"));
        assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
        assert.match(text, /\r\nContent-Length: 5\r\n/);
      } finally {
        c.close();
      }
    } finally {
      await gw.close();
      await server.close();
    }
  });
});

test("the access log counts the bytes from and to the client exactly, a body in several writes included", async () => {
  const chunked = ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n", "6\r\n world\r\n", "0\r\n\r\n"];
  const server = await piecewiseServer(chunked);
  const file = join(mkdtempSync(join(tmpdir(), "hf-bytes-")), "access.log");
  const accessLog = pino({ base: undefined }, pino.destination({ dest: file, sync: true }));
  const loaded = loadConfig(simpleConfig([{ name: "a", port: server.port }], "", "    accessLog: true"), { env: {}, baseDir: "." });
  assert.ok(loaded.ok);
  const gw = new Gateway(loaded.config, undefined, { accessLog });
  await gw.start();
  try {
    const request = "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody";
    const c = rawClient(gw.address("web").port);
    const got = await ask(c, request, (t) => t.endsWith("0\r\n\r\n"));
    c.close();
    assert.equal(got, chunked.join(""), "the response is forwarded as the server sent it");
    let line: { bytesIn: number; bytesOut: number } | undefined;
    for (let i = 0; i < 100 && line === undefined; i++) {
      const text = readFileSync(file, "utf8").trim();
      if (text !== "") line = JSON.parse(text);
      else await sleep(20);
    }
    assert.ok(line !== undefined, "one access-log line");
    assert.deepEqual([line.bytesIn, line.bytesOut], [Buffer.byteLength(request), Buffer.byteLength(got)]);
  } finally {
    await gw.stop();
    await server.close();
  }
});

describe("passive on5xx counts the response status", () => {
  const passive = "    passive: { consecutiveFailures: 2, ejectTime: 10s, maxEjectedPercent: 100, on5xx: true }";
  const answering = (status: (nth: number) => number) =>
    rawHttpBackend((r) => `HTTP/1.1 ${status(r.nth)} X\r\nContent-Length: 0\r\n\r\n`);

  test("two 500s in a row eject a server; 499s never do", async () => {
    const s500 = await answering(() => 500);
    const s499 = await answering(() => 499);
    const gw = await startGateway(simpleConfig([{ name: "s500", port: s500.port }, { name: "s499", port: s499.port }], passive));
    try {
      const c = rawClient(gw.port());
      for (let i = 0; i < 4; i++) await ask(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", (t) => t.endsWith("\r\n\r\n"));
      c.close();
      const up = Object.fromEntries(gw.gw.backends.get("b")!.servers.map((s) => [s.name, s.up]));
      assert.deepEqual(up, { s500: false, s499: true });
    } finally {
      await gw.close();
      await Promise.all([s500.close(), s499.close()]);
    }
  });

  test("a success between two 500s resets the count: the server stays", async () => {
    const flaky = await answering((nth) => (nth % 2 === 0 ? 500 : 200));
    const gw = await startGateway(simpleConfig([{ name: "flaky", port: flaky.port }], passive));
    try {
      const c = rawClient(gw.port());
      const statuses: string[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await ask(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", (t) => t.endsWith("\r\n\r\n"))).slice(9, 12));
      c.close();
      assert.deepEqual(statuses, ["500", "200", "500", "200", "500", "200"]);
      assert.equal(gw.gw.backends.get("b")!.servers[0]!.up, true);
    } finally {
      await gw.close();
      await flaky.close();
    }
  });
});

test("timeouts.server is pushed back by every byte: a body trickling for longer than it arrives whole", async () => {
  // 15 chunks 100 ms apart: 1.5 s in all, never 1 s of silence.
  const pieces = ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ...Array.from({ length: 15 }, (_, i) => `1\r\n${i.toString(16)}\r\n`), "0\r\n\r\n"];
  const server = await piecewiseServer(pieces, 100);
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    timeouts: { server: 1s }"));
  try {
    const c = rawClient(gw.port());
    try {
      const text = await ask(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", (t) => t.endsWith("0\r\n\r\n"));
      assert.equal(text, pieces.join(""));
    } finally {
      c.close();
    }
  } finally {
    await gw.close();
    await server.close();
  }
});

test("silence in the middle of a response cuts the client's connection after timeouts.server", async () => {
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.once("data", () => s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")); // then nothing
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    timeouts: { server: 300ms }"));
  try {
    const t0 = performance.now();
    const { text, closed } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    const took = performance.now() - t0;
    assert.equal(closed, true, "cut, not left waiting (timeouts.tunnel is an hour)");
    assert.ok(took >= 250, `cut after ${Math.round(took)} ms: not before timeouts.server (300 ms)`);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.endsWith("\r\n\r\nhalf"), text);
  } finally {
    await gw.close();
    await server.close();
  }
});

test("a server that answers before the whole request body: the client's connection closes and the server's is not reused", async () => {
  // Answers each connection's first bytes at once, without reading the body it announced.
  const seen: string[] = []; // "connection: first bytes" of each read
  let conns = 0;
  const server = await tcpBackend((s) => {
    const conn = conns++;
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      seen.push(`${conn}: ${d.toString("latin1").slice(0, 9)}`);
      s.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }]));
  try {
    const early = await rawExchange(gw.port(), "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n0123456789", 5000);
    assert.equal(early.closed, true, "the rest of the body would be taken for a request");
    assert.match(early.text, /^HTTP\/1\.1 413 /);
    assert.match(early.text, /\r\nConnection: close\r\n/i);
    const next = await rawExchange(gw.port(), "GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
    assert.match(next.text, /^HTTP\/1\.1 413 /);
    assert.deepEqual(seen, ["0: POST /big", "1: GET /next"], "each request on a connection of its own");
  } finally {
    await gw.close();
    await server.close();
  }
});
