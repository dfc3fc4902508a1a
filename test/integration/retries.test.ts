// What docs/config.md says about retries and connect failures, counted at the servers:
// a non-idempotent request is never sent twice, `retries` bounds the attempts, a
// connect that never completes is a 504 after `timeouts.connect` (a closed connection
// on a TCP listener), and a TCP listener whose servers all refuse closes the client.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { test } from "node:test";
import { deadPort, okResponse, rawHttpBackend, unacceptingPort, type RawHttpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";
import { until, within } from "../support/wait.ts";

/** A server that answers GET /warm and breaks every other request, unanswered, once it has read it all. */
const breaksAllButWarm = (): Promise<RawHttpBackend> => rawHttpBackend((r) => (r.url === "/warm" ? okResponse("warm") : null));

/** `n` servers, each breaking every request but GET /warm. */
async function breakingServers(n: number): Promise<RawHttpBackend[]> {
  return Promise.all(Array.from({ length: n }, () => breaksAllButWarm()));
}

const names = (servers: RawHttpBackend[]) => servers.map((s, i) => ({ name: `s${i}`, port: s.port }));
const closeAll = (servers: { close(): Promise<void> }[]) => Promise.all(servers.map((s) => s.close()));

test("a POST whose connection breaks before the answer is sent once and gets 502, on a reused connection as on a new one", async () => {
  // One server: the GET leaves its connection in the pool and the POST goes out on it.
  const one = await breaksAllButWarm();
  const gw = await startGateway(simpleConfig([{ name: "one", port: one.port }]));
  try {
    const c = rawClient(gw.port());
    assert.match(await c.request("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n"), /^HTTP\/1\.1 200 /);
    const r = await c.request("POST /order HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    c.close();
    assert.match(r, /^HTTP\/1\.1 502 /);
    assert.match(r, /server one closed the connection before answering/);
    const seen = one.requests.map((p) => `${p.method} ${p.url} ${p.body} @${p.conn}.${p.nth}`);
    assert.deepEqual(seen, ["GET /warm  @0.0", "POST /order hello @0.1"], "the POST sent once, on the reused connection");
    assert.equal(one.connections, 1, "no new connection for a second try");
  } finally {
    await gw.close();
    await one.close();
  }

  // Two servers, a new connection: the other server is free, and still not tried.
  const two = await breakingServers(2);
  const gw2 = await startGateway(simpleConfig(names(two)));
  try {
    const { text } = await rawExchange(gw2.port(), "POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}", 5000);
    assert.match(text, /^HTTP\/1\.1 502 /);
    assert.deepEqual(two.flatMap((s) => s.requests.map((p) => `${p.method} ${p.url} ${p.body}`)), ["POST /pay {}"], "sent to one server, once");
  } finally {
    await gw2.close();
    await closeAll(two);
  }
});

test("retries bounds the attempts: retries + 1 servers each see the request once, then 502; with one server, retries + 1 fresh connections", async () => {
  for (const retries of [0, 3]) {
    const servers = await breakingServers(5);
    const gw = await startGateway(simpleConfig(names(servers), `    retries: ${retries}`));
    try {
      const { text } = await rawExchange(gw.port(), "GET /idem HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
      assert.match(text, /^HTTP\/1\.1 502 /, `retries ${retries}`);
      const perServer = servers.map((s) => s.requests.length);
      assert.equal(perServer.reduce((a, b) => a + b, 0), retries + 1, `retries ${retries}: attempts per server ${perServer.join(",")}`);
      assert.ok(perServer.every((n) => n <= 1), `retries ${retries}: a server tried twice (${perServer.join(",")})`);
      assert.ok(servers.every((s) => s.requests.every((r) => r.method === "GET" && r.url === "/idem")));
    } finally {
      await gw.close();
      await closeAll(servers);
    }
  }
  const [only] = await breakingServers(1);
  const gw = await startGateway(simpleConfig(names([only!]), "    retries: 2"));
  try {
    const { text } = await rawExchange(gw.port(), "PUT /idem HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx", 5000);
    assert.match(text, /^HTTP\/1\.1 502 /);
    assert.deepEqual(only!.requests.map((r) => `${r.method} ${r.body} @${r.conn}.${r.nth}`), ["PUT x @0.0", "PUT x @1.0", "PUT x @2.0"], "an idempotent PUT, sent three times on three connections");
  } finally {
    await gw.close();
    await only!.close();
  }
});

test("timeouts.connect: a server that never accepts gets the HTTP client a 504 and the TCP client a closed connection", async () => {
  const stuck = await unacceptingPort();
  const config = `
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] }
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: b }
backends:
  b:
    timeouts: { connect: 200ms, server: 30s }
    servers: [ { name: stuck, address: "127.0.0.1:${stuck.port}" } ]
`;
  const gw = await startGateway(config);
  try {
    const t0 = performance.now();
    const { text, closed } = await rawExchange(gw.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 10_000);
    const took = performance.now() - t0;
    assert.match(text, /^HTTP\/1\.1 504 /, text);
    assert.match(text, /connecting to server stuck timed out/);
    assert.ok(closed);
    // The wheel ticks every 100 ms: the timeout fires at most a tick early.
    assert.ok(took >= 200 - 100, `504 after ${took.toFixed(0)} ms, before timeouts.connect (200 ms)`);

    const c = connect(gw.port("l4"), "127.0.0.1");
    let got = "";
    c.on("data", (d) => (got += d));
    c.on("error", () => {});
    await within(once(c, "close"), 10_000, "the TCP client's connection to be closed after timeouts.connect");
    assert.equal(got, "");
  } finally {
    await gw.close();
    await stuck.close();
  }
});

test("a TCP listener whose servers all refuse closes the client's connection without a byte, after trying each", async () => {
  const dead = [await deadPort(), await deadPort(), await deadPort()];
  const gw = await startGateway(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t:
    servers:
${dead.map((p, i) => `      - { name: d${i}, address: 127.0.0.1:${p} }`).join("\n")}
`);
  try {
    const c = connect(gw.port("l4"), "127.0.0.1");
    let got = "";
    c.on("data", (d) => (got += d));
    c.on("error", () => {});
    c.write("hello");
    await within(once(c, "close"), 5000, "the TCP client's connection to be closed");
    assert.equal(got, "");
    // retries: 2 (the default) after the first: every one of the three servers was tried.
    const tried = gw.gw.backends.get("t")!.servers.map((s) => s.stats.connectionsCreated);
    assert.deepEqual(tried, [1, 1, 1]);
  } finally {
    await gw.close();
  }
});

test("retries: 0 — a refused connect is not tried again on another server: the HTTP client gets 502, the TCP client a closed connection; one server tried", async () => {
  const dead = [await deadPort(), await deadPort(), await deadPort()];
  const gw = await startGateway(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: h } ] }
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
${["h", "t"].map((b) => `  ${b}:
    retries: 0
    servers:
${dead.map((p, i) => `      - { name: d${i}, address: 127.0.0.1:${p} }`).join("\n")}`).join("\n")}
`);
  const tried = (b: string) => gw.gw.backends.get(b)!.servers.map((s) => s.stats.connectionsCreated).reduce((a, n) => a + n, 0);
  try {
    const { text, closed } = await rawExchange(gw.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.match(text, /^HTTP\/1\.1 502 [^]*could not be reached \(connection refused\)/, text);
    assert.ok(closed);
    assert.equal(tried("h"), 1, "HTTP: one connect, no retry");
    const c = connect(gw.port("l4"), "127.0.0.1");
    c.on("error", () => {});
    await within(once(c, "close"), 5000, "the TCP client's connection to be closed");
    assert.equal(tried("t"), 1, "TCP: one connect, no retry");
  } finally {
    await gw.close();
  }
});

test("an idempotent PUT whose body came after its head is not in hand to send again: its broken connection gets 502, the server saw it once", async () => {
  const servers = await breakingServers(2);
  const gw = await startGateway(simpleConfig(names(servers), "    retries: 2"));
  const c = rawClient(gw.port());
  try {
    c.socket.write("PUT /later HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    // The exchange began with the head and "hello": the rest comes in a later read.
    await until(() => servers.some((s) => s.connections > 0), 5000, "a server connection for the PUT");
    const r = await c.request("world");
    assert.match(r, /^HTTP\/1\.1 502 [^]*closed the connection before answering/);
    assert.deepEqual(servers.flatMap((s) => s.requests.map((p) => `${p.method} ${p.url} ${p.body}`)), ["PUT /later helloworld"], "sent to one server, once");
  } finally {
    c.close();
    await gw.close();
    await closeAll(servers);
  }
});
