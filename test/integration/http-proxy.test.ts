import assert from "node:assert/strict";
import { once } from "node:events";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { closeServer, deadPort, httpBackend, okResponse, rawHttpBackend, type Backend } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";
import { until, within } from "../support/wait.ts";

describe("HTTP/1.1 proxy", () => {
  let a: Backend;
  let gw: TestGateway;
  before(async () => {
    a = await httpBackend("a");
    gw = await startGateway(simpleConfig([{ name: "a", port: a.port }]));
  });
  after(async () => {
    await gw.close();
    await a.close();
  });

  test("1,000 sequential requests on one client connection reuse one upstream connection", async () => {
    const before = a.connections;
    const stats = gw.gw.backends.get("b")!.servers[0]!.stats;
    const reusedBefore = stats.connectionsReused;
    const c = rawClient(gw.port());
    for (let i = 0; i < 1000; i++) {
      const res = await c.request(`GET /r${i} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.match(res, /^HTTP\/1\.1 200 /);
      assert.ok(res.endsWith(`a GET /r${i} 0`), res);
    }
    c.close();
    assert.equal(a.connections - before, 1, "upstream connections opened");
    assert.equal(stats.connectionsReused - reusedBefore, 999, "every request after the first reused it");
  });

  test("hop-by-hop headers are removed and X-Forwarded-* set", async () => {
    const c = rawClient(gw.port());
    const n = a.requests.length;
    await c.request(
      "GET /h HTTP/1.1\r\nHost: example.test:8080\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n" +
        "TE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-Proto: https\r\nX-Keep: yes\r\n\r\n",
    );
    c.close();
    const h = a.requests[n]!.headers;
    for (const gone of ["x-secret", "keep-alive", "te", "proxy-connection", "upgrade"]) assert.equal(h[gone], undefined, gone);
    // Not a trusted proxy: its X-Forwarded-For is replaced, not appended to.
    assert.equal(h["x-forwarded-for"], "127.0.0.1");
    assert.equal(h["x-forwarded-proto"], "http");
    assert.equal(h["x-forwarded-host"], "example.test:8080");
    assert.equal(h["x-keep"], "yes");
    assert.equal(h.host, "example.test:8080");
  });

  test("regression: a client's X-Forwarded-* are believed only from trustedProxies", async () => {
    const trusting = await startGateway(simpleConfig([{ name: "a", port: a.port }], "", "    trustedProxies: [127.0.0.0/8]"));
    const other = await startGateway(simpleConfig([{ name: "a", port: a.port }], "", "    trustedProxies: [10.0.0.0/8]"));
    try {
      const send = async (port: number) => {
        const c = rawClient(port);
        const n = a.requests.length;
        await c.request("GET /t HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example\r\nForwarded: for=203.0.113.9\r\n\r\n");
        c.close();
        return a.requests[n]!.headers;
      };
      const t = await send(trusting.port());
      assert.deepEqual([t["x-forwarded-for"], t["x-forwarded-proto"], t["x-forwarded-host"], t.forwarded], ["203.0.113.9, 127.0.0.1", "https", "www.example", "for=203.0.113.9"]);
      const u = await send(other.port());
      assert.deepEqual([u["x-forwarded-for"], u["x-forwarded-proto"], u["x-forwarded-host"], u.forwarded], ["127.0.0.1", "http", "app.test", undefined]);
    } finally {
      await trusting.close();
      await other.close();
    }
  });

  test("pipelined requests are answered in order", async () => {
    const { text } = await rawExchange(
      gw.port(),
      "GET /p1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /p3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    const bodies = [...text.matchAll(/a (\w+) (\/p\d) (\d+)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    assert.deepEqual(bodies, ["GET /p1 0", "POST /p2 3", "GET /p3 0"]);
    assert.match(text, /Connection: close/);
  });

  test("chunked request bodies are forwarded intact", async () => {
    const echo = await httpBackend("echo", (req, res) => {
      let body = "";
      req.setEncoding("latin1");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => res.end(JSON.stringify(body)));
    });
    const egw = await startGateway(simpleConfig([{ name: "echo", port: echo.port }]));
    try {
      const { text } = await rawExchange(
        egw.port(),
        "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
      );
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.ok(text.endsWith('\r\n\r\n"hello world"'), `the server read exactly the chunks' data: ${JSON.stringify(text)}`);
    } finally {
      await egw.close();
      await echo.close();
    }
  });

  test("HTTP/1.0 without keep-alive gets its connection closed after the response", async () => {
    const { text, closed } = await rawExchange(gw.port(), "GET /old HTTP/1.0\r\n\r\n");
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /Connection: close/i);
    assert.ok(closed);
  });

  test("a HEAD response has no body and the connection stays usable", async () => {
    // The server's HEAD answer says Content-Length: 11 and sends no body; a gateway that
    // waited for those 11 bytes would never answer the GET that follows.
    const h = await httpBackend("h", (req, res) => {
      if (req.method === "HEAD") return void res.writeHead(200, { "content-length": "11" }).end();
      res.end(`h ${req.method} ${req.url}`);
    });
    const hgw = await startGateway(simpleConfig([{ name: "h", port: h.port }]));
    const c = rawClient(hgw.port());
    try {
      c.socket.write("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
      const head = await c.readUntil((t) => t.includes("\r\n\r\n"));
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.match(head, /\r\ncontent-length: 11\r\n/i);
      assert.ok(head.endsWith("\r\n\r\n"), `nothing after the HEAD's head: ${JSON.stringify(head)}`);
      c.socket.write("GET /after-head HTTP/1.1\r\nHost: t\r\n\r\n");
      const get = await c.readUntil((t) => t.endsWith("h GET /after-head"));
      assert.match(get, /^HTTP\/1\.1 200 /, "the GET's response is the next thing on the connection");
      assert.equal(get.split("HTTP/1.1 ").length, 2, `one response: ${JSON.stringify(get)}`);
      assert.equal(h.connections, 1, "both on one upstream connection");
    } finally {
      c.close();
      await hgw.close();
      await h.close();
    }
  });
});

describe("bad requests get 400 (501 for an unknown transfer coding), a closed connection, and nothing forwarded (a bad chunk: nothing after the head)", () => {
  let a: Backend;
  let gw: TestGateway;
  before(async () => {
    a = await httpBackend("a");
    gw = await startGateway(simpleConfig([{ name: "a", port: a.port }]));
  });
  after(async () => {
    await gw.close();
    await a.close();
  });

  const cases: [string, string, number][] = [
    ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["two different Content-Lengths", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400],
    ["a NUL byte in a header value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\u0000b\r\n\r\n", 400],
    ["a space before the colon", "GET / HTTP/1.1\r\nHost: t\r\nX-A : b\r\n\r\n", 400],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n", 400],
    ["bare LF line endings", "GET / HTTP/1.1\nHost: t\n\n", 400],
    ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["a malformed request line", "GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400],
    ["Content-Length with a sign", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc", 400],
    ["an obfuscated Transfer-Encoding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n", 501],
    ["a bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
  ];
  for (const [name, raw, status] of cases) {
    test(name, async () => {
      const before = a.requests.length;
      const { text, closed } = await rawExchange(gw.port(), raw);
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text);
      assert.match(text, /Connection: close/);
      assert.ok(closed, "connection closed");
      // a bad chunk is seen only after the head was forwarded; every other case forwards nothing
      if (name !== "a bad chunk size") assert.equal(a.requests.length, before, "nothing forwarded");
    });
  }

  test("a request head larger than maxHeaderSize gets 431", async () => {
    const before = a.requests.length;
    const { text, closed } = await rawExchange(gw.port(), `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431 /);
    assert.ok(closed);
    assert.equal(a.requests.length, before, "nothing forwarded");
  });
});

describe("failures: backend down, retry, timeouts", () => {
  test("a refused connect is retried on another server; all refused gives 502", async () => {
    const a = await httpBackend("a");
    const dead = await deadPort();
    const gw = await startGateway(simpleConfig([{ name: "dead", port: dead }, { name: "a", port: a.port }]));
    try {
      for (let i = 0; i < 6; i++) {
        const { text } = await rawExchange(gw.port(), `GET /${i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
        assert.match(text, /^HTTP\/1\.1 200 /, `request ${i}: ${text}`);
      }
    } finally {
      await gw.close();
    }
    const gw2 = await startGateway(simpleConfig([{ name: "dead", port: dead }]));
    try {
      const { text, closed } = await rawExchange(gw2.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(text, /^HTTP\/1\.1 502 /);
      assert.match(text, /could not be reached \(connection refused\)/);
      assert.ok(closed);
    } finally {
      await gw2.close();
      await a.close();
    }
  });

  test("no available server gives 503 with Retry-After", async () => {
    const a = await httpBackend("a");
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }]));
    try {
      gw.gw.backends.get("b")!.servers[0]!.up = false;
      const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(text, /^HTTP\/1\.1 503 /);
      assert.match(text, /Retry-After: \d+/);
      assert.match(text, /no server is available for backend b/);
    } finally {
      await gw.close();
      await a.close();
    }
  });

  test("a slow backend gives 504 after timeouts.server", async () => {
    const slow = await httpBackend("slow", (_req, res) => setTimeout(() => res.end("late"), 15_000).unref());
    const gw = await startGateway(simpleConfig([{ name: "slow", port: slow.port }], "    timeouts: { server: 300ms }"));
    try {
      const t0 = Date.now();
      const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(text, /^HTTP\/1\.1 504 /);
      assert.match(text, /did not answer in time/);
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 10_000, `took ${took} ms (timeouts.server 300 ms; the backend answers after 15 s)`);
    } finally {
      await gw.close();
      await slow.close();
    }
  });

  test("a slowloris client gets 408 after timeouts.requestHeaders", async () => {
    const a = await httpBackend("a");
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }], "", "    timeouts: { requestHeaders: 300ms }"));
    try {
      const t0 = Date.now();
      const { text, closed } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n", 2000);
      const took = Date.now() - t0;
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.ok(closed);
      assert.ok(took >= 250, `answered after ${took} ms: not before timeouts.requestHeaders (300 ms)`);
    } finally {
      await gw.close();
      await a.close();
    }
  });

  test("an idle keep-alive client is closed after timeouts.clientIdle", async () => {
    const a = await httpBackend("a");
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }], "", "    timeouts: { clientIdle: 300ms }"));
    try {
      const c = rawClient(gw.port());
      await c.request("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      const t0 = Date.now();
      await once(c.socket, "close");
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 1500, `closed after ${took} ms`);
    } finally {
      await gw.close();
      await a.close();
    }
  });

  test("a malformed response head, one over 64 KiB and a 101 nobody asked for each give 502; nothing of them reaches the client", async () => {
    const bad: Record<string, string> = {
      "/garbage": "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
      // Just over 64 KiB: its end is in the buffer when it is looked at.
      "/oversized": `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(70_000)}\r\nContent-Length: 2\r\n\r\nok`,
      // Far over: refused before its end arrives.
      "/oversized-long": `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(300_000)}\r\nContent-Length: 2\r\n\r\nok`,
      "/switch": "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    };
    const a = await rawHttpBackend((r) => bad[r.url] ?? okResponse("fine"));
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }], "    retries: 0"));
    try {
      for (const path of Object.keys(bad)) {
        const { text, closed } = await rawExchange(gw.port(), `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`, 5000);
        assert.match(text, /^HTTP\/1\.1 502 /, `${path}: ${text.slice(0, 200)}`);
        assert.ok(!/X-Big|Switching|2OO/.test(text), `${path}: nothing of the server's head forwarded`);
        assert.ok(closed, path);
      }
      assert.deepEqual(a.requests.map((r) => r.url), Object.keys(bad), "each sent once");
      assert.equal(a.connections, Object.keys(bad).length, "a connection that answered badly is not reused");
      // The gateway still serves.
      assert.match((await rawExchange(gw.port(), "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000)).text, /^HTTP\/1\.1 200 [^]*fine$/);
    } finally {
      await gw.close();
      await a.close();
    }
  });

  for (const retries of [2, 0]) test(`a backend that closes a reused keep-alive connection does not fail an idempotent request (retries: ${retries}: that attempt is not counted)`, async () => {
    // The race made certain: the server keeps each connection open after its answer (no
    // FIN, so the gateway pools it and reuses it) and closes it, unanswered, when a
    // second request arrives on it. Every request after the first therefore goes out on
    // a connection that breaks, and is answered only through the retry on a new one.
    const a = await rawHttpBackend((r) => (r.nth === 0 ? okResponse(`ok ${r.url}`) : null));
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }], `    retries: ${retries}`));
    const N = 10;
    try {
      const c = rawClient(gw.port());
      for (let i = 0; i < N; i++) {
        const r = await c.request(`GET /${i} HTTP/1.1\r\nHost: t\r\n\r\n`);
        assert.match(r, /^HTTP\/1\.1 200 /, `request ${i}`);
        assert.ok(r.endsWith(`ok /${i}`), r);
      }
      c.close();
      // Request i > 0 reached the server twice: on the reused connection (closed) and on a new one.
      const seen = a.requests.map((r) => `${r.url}@${r.conn}.${r.nth}`);
      const want = [`/0@0.0`];
      for (let i = 1; i < N; i++) want.push(`/${i}@${i - 1}.1`, `/${i}@${i}.0`);
      assert.deepEqual(seen, want);
      assert.equal(a.connections, N);
      const stats = gw.gw.backends.get("b")!.servers[0]!.stats;
      assert.equal(stats.retries, N - 1, "one retry per broken reused connection, counted in the statistics");
      assert.equal(stats.connectionsReused, N - 1);
    } finally {
      await gw.close();
      await a.close();
    }
  });

  test("retries: 0 — after a broken reused connection, the fresh connection's own break is not retried: 502, and a POST is never sent twice", async () => {
    // The server answers /warm and closes the connection unanswered on anything else,
    // whether the connection is pooled or fresh.
    const a = await rawHttpBackend((r) => (r.url === "/warm" ? okResponse("warm") : null));
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }], "    retries: 0"));
    try {
      const c = rawClient(gw.port());
      assert.match(await c.request("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 /);
      const r = await c.request("GET /dies HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.match(r, /^HTTP\/1\.1 502 [^]*server a closed the connection before answering/);
      c.close();
      // /dies: once on the pooled connection (not counted), once on a fresh one (the retry
      // retries: 0 allows no more after).
      assert.deepEqual(a.requests.map((q) => `${q.url}@${q.conn}.${q.nth}`), ["/warm@0.0", "/dies@0.1", "/dies@1.0"]);
      const c2 = rawClient(gw.port());
      assert.match(await c2.request("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 /);
      const post = await c2.request("POST /once HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
      assert.match(post, /^HTTP\/1\.1 502 /);
      c2.close();
      assert.equal(a.requests.filter((q) => q.url === "/once").length, 1, "the POST went out once");
    } finally {
      await gw.close();
      await a.close();
    }
  });
});

test("an upload streams through with backpressure (64 MiB, no buffering)", async () => {
  // The server does not read until released: a gateway that streams with backpressure
  // stops taking the client's bytes once the socket buffers on the way are full; one
  // that buffered would take the whole body.
  let received = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const a = await httpBackend("a", (req, res) => {
    req.pause();
    void released.then(() => {
      req.on("data", (c: Buffer) => (received += c.length));
      req.on("end", () => res.end(String(received)));
      req.resume();
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }]));
  try {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const body = new Promise<string>((resolve, reject) => {
      const req = request({ port: gw.port(), host: "127.0.0.1", method: "POST", path: "/up", headers: { "content-length": total } }, (res) => {
        let s = "";
        res.on("data", (c: Buffer) => (s += c));
        res.on("end", () => resolve(s));
      });
      req.on("error", reject);
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    // Wait until the client is held back (nothing more taken for 500 ms).
    let last = -1;
    await until(() => {
      const still = sent === last;
      last = sent;
      return still;
    }, 20_000, "the upload to stall while the server does not read", 500);
    assert.ok(sent < total / 2, `the client could hand over only socket buffers' worth while the server did not read: ${sent / 1024 / 1024} MiB of 64`);
    release();
    assert.equal(await within(body, 60_000, "the upload to complete once the server reads"), String(total));
  } finally {
    release();
    await gw.close();
    await closeServer(a.server);
  }
});
