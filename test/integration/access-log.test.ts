import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { WebSocket, WebSocketServer } from "ws";
import { once } from "node:events";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { ERROR_CODE_LIST, type ErrorCode } from "../../src/errors.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events } from "../../src/gateway/diagnostics.ts";
import { httpBackend, tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";
import { until } from "../support/wait.ts";

test("access logs: one JSON line per request and per tunnel, only on listeners that ask", async () => {
  // /one is answered 60 ms late: its durationMs is at least that, and at most what the
  // client measured around the whole exchange.
  const DELAY = 60;
  const a = await httpBackend("a", (req, res) => {
    const answer = () => req.resume().on("end", () => res.end(`a ${req.method} ${req.url}`));
    if (req.url!.startsWith("/one")) setTimeout(answer, DELAY);
    else answer();
  });
  const wss = new WebSocketServer({ server: a.server });
  wss.on("connection", (ws) => ws.on("message", (d) => ws.send(d)));
  const file = join(mkdtempSync(join(tmpdir(), "hf-access-")), "access.log");
  const accessLog = pino({ base: undefined }, pino.destination({ dest: file, sync: true }));
  // A second listener that does not ask for access logs (its own backend, so a's
  // connection stays unused until /one): its request must not be logged.
  const q = await httpBackend("q");
  const quiet = "  - name: quiet\n    mode: http\n    listen: 127.0.0.1:0\n    routes: [ { backend: q } ]";
  const yaml = `${simpleConfig([{ name: "a", port: a.port }], "", `    accessLog: true\n${quiet}`)}  q:\n    servers: [ { name: q, address: 127.0.0.1:${q.port} } ]\n`;
  const loaded = loadConfig(yaml, { env: {}, baseDir: "." });
  assert.ok(loaded.ok);
  const gw = new Gateway(loaded.config, undefined, { accessLog });
  await gw.start();
  try {
    const port = gw.address("web").port;
    const qc = rawClient(gw.address("quiet").port);
    assert.match(await qc.request("GET /quiet HTTP/1.1\r\nHost: example.test\r\n\r\n"), /^HTTP\/1\.1 200 /);
    qc.close();
    const c = rawClient(port);
    const t1 = performance.now();
    await c.request("GET /one?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
    const clientMs = performance.now() - t1;
    const t3 = performance.now();
    await c.request("POST /two HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello");
    const twoClientMs = performance.now() - t3;
    c.close();
    const t2 = performance.now();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(ws, "open");
    ws.send("ping");
    await once(ws, "message");
    await new Promise((r) => setTimeout(r, DELAY)); // the tunnel lives at least this long
    ws.close();
    await once(ws, "close");
    const tunnelClientMs = performance.now() - t2;
    for (let i = 0; i < 50 && readFileSync(file, "utf8").split("\n").filter(Boolean).length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(lines.length, 3, "one line per exchange on web, none for the request on quiet");
    assert.deepEqual(lines.filter((l) => l.path === "/quiet"), [], "the listener without accessLog logs nothing");
    const [one, two, tun] = lines;
    assert.equal(one.method, "GET");
    assert.equal(one.path, "/one?x=1");
    assert.equal(one.host, "example.test");
    assert.equal(one.status, 200);
    assert.equal(one.client, "127.0.0.1");
    assert.equal(one.backend, "b");
    assert.equal(one.server, "a");
    assert.equal(one.upstreamReused, false);
    assert.equal(two.upstreamReused, true);
    assert.equal(two.method, "POST");
    assert.ok(two.bytesIn > 5 && two.bytesOut > 0);
    assert.ok(one.durationMs >= DELAY && one.durationMs <= clientMs, `durationMs ${one.durationMs}: the server took ${DELAY} ms, the client saw ${clientMs.toFixed(1)}`);
    assert.ok(two.durationMs >= 0 && two.durationMs <= twoClientMs, `durationMs ${two.durationMs}, the client saw ${twoClientMs.toFixed(1)}`);
    assert.equal(tun.status, 101);
    assert.deepEqual([tun.server, tun.retries, tun.path], ["a", 0, "/ws"]);
    assert.ok(tun.durationMs >= 0 && tun.durationMs <= tunnelClientMs, `durationMs ${tun.durationMs} (to the 101), the client saw ${tunnelClientMs.toFixed(1)}`);
    assert.ok(tun.tunnelMs >= DELAY && tun.tunnelMs <= tunnelClientMs, `tunnelMs ${tun.tunnelMs}: held ${DELAY} ms, the client saw ${tunnelClientMs.toFixed(1)}`);
    assert.ok(tun.bytesIn > 0 && tun.bytesOut > 0);
  } finally {
    await gw.stop();
    for (const c of wss.clients) c.terminate();
    wss.close();
    await a.close();
    await q.close();
  }
});

test("regression: requests refused before a backend is chosen are logged, with the HF_ERR code and the reason", async () => {
  const a = await httpBackend("a");
  const file = join(mkdtempSync(join(tmpdir(), "hf-access-")), "access.log");
  const accessLog = pino({ base: undefined }, pino.destination({ dest: file, sync: true }));
  const yaml = simpleConfig([{ name: "a", port: a.port }], "", "    accessLog: true\n    maxHeaderSize: 1024")
    .replace("routes: [ { backend: b } ]", "routes: [ { match: { pathPrefix: /ok }, backend: b }, { match: { pathPrefix: /private }, allow: [10.0.0.0/8], backend: b } ]");
  const loaded = loadConfig(yaml, { env: {}, baseDir: "." });
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.issues));
  const gw = new Gateway(loaded.config, undefined, { accessLog });
  await gw.start();
  try {
    const port = gw.address("web").port;
    const { rawExchange } = await import("../support/raw.ts");
    const sent = [
      "GET /ok HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", // obs-fold
      "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", // no route
      "GET /private HTTP/1.1\r\nHost: t\r\n\r\n", // not allowed
      `GET /ok HTTP/1.1\r\nHost: t\r\nX-Big: ${"x".repeat(2000)}\r\n\r\n`, // too large
    ];
    for (const req of sent) await rawExchange(port, req);
    for (let i = 0; i < 50 && readFileSync(file, "utf8").split("\n").filter(Boolean).length < sent.length; i++) await new Promise((r) => setTimeout(r, 20));
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l.status, l.error, l.path]), [
      [400, "HF_ERR_BAD_REQUEST", ""],
      [404, "HF_ERR_NO_ROUTE", "/nowhere"],
      [403, "HF_ERR_FORBIDDEN", "/private"],
      [431, "HF_ERR_HEAD_TOO_LARGE", ""],
    ]);
    assert.equal(lines[0]!.reason, "obsolete header line folding is not allowed");
    for (const l of lines) {
      assert.equal(l.backend, "");
      assert.equal(l.client, "127.0.0.1");
      assert.ok((l.bytesIn as number) > 0 && (l.bytesOut as number) > 0);
    }
  } finally {
    await gw.stop();
    await a.close();
  }
});

test("an exchange the gateway ends before any response is logged with its HF_ERR code, the status the client got and its server: a malformed chunk after the head (400), a server that does not answer (504; its connection closed)", async () => {
  const heads: string[] = [];
  const closed: string[] = []; // the request line of each server connection the gateway closed
  const server = await tcpBackend((s) => {
    let line = "";
    s.on("error", () => {});
    s.on("end", () => closed.push(line));
    s.once("data", (d: Buffer) => heads.push((line = d.toString("latin1").split("\r\n")[0]!)));
  });
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    retries: 0\n    timeouts: { server: 300ms }"));
  const records: AccessRecord[] = [];
  const errors = gw.gw.data.counters.errors;
  const count = (code: ErrorCode) => errors[ERROR_CODE_LIST.indexOf(code)];
  /** A chunked upload whose second chunk is malformed, sent once the server has its head: 400, and the server's connection closed. */
  const malformed = async (path: string) => {
    const c = rawClient(gw.port());
    const head = `POST ${path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`;
    c.socket.write(head);
    await until(() => heads.includes(`POST ${path} HTTP/1.1`), 5000, "the server to get the head");
    c.socket.write("zz\r\n");
    const text = await c.readUntil((t) => t.endsWith("\r\n\r\n400 Bad Request: malformed chunked body\n"), 5000);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    await until(() => closed.includes(`POST ${path} HTTP/1.1`), 5000, "the gateway to close the server's connection");
    c.close();
    return Buffer.byteLength(head); // what was read before the malformed chunk
  };
  try {
    // Without a listener for the records (no access record is built).
    await malformed("/unlogged");
    assert.equal(count("HF_ERR_BAD_REQUEST"), 1);
    const off = gw.on(events.exchangeFinished, ({ record }) => records.push({ ...record }));
    try {
      const uploaded = await malformed("/logged");
      const slow = "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n";
      const { text } = await rawExchange(gw.port(), slow, 5000);
      assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
      await until(() => closed.includes("GET /slow HTTP/1.1"), 5000, "the gateway to close the connection of the server that timed out");
      assert.deepEqual(records.map((r) => [r.path, r.status, r.error, r.backend, r.server, r.bytesIn]), [
        ["/logged", 400, "HF_ERR_BAD_REQUEST", "b", "a", uploaded],
        ["/slow", 504, "HF_ERR_UPSTREAM_TIMEOUT", "b", "a", Buffer.byteLength(slow)],
      ]);
      assert.deepEqual([count("HF_ERR_BAD_REQUEST"), count("HF_ERR_UPSTREAM_TIMEOUT")], [2, 1]);
    } finally {
      off();
    }
  } finally {
    await gw.close();
    await server.close();
  }
});
