// Half-close from the server's side through a TCP listener, to a clear-text server and
// to a TLS one: a server that ends its side first still receives what the client sends
// after that (the gateway's server connection is half-open, as the client's is).
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type AddressInfo, type Socket } from "node:net";
import { test } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import { closeServer, tcpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { makeCa } from "../support/tls.ts";
import { within } from "../support/wait.ts";

/** A server side that says "bye", ends its side at once, then reports all it reads until the client's end. */
function byeFirst(s: Socket, got: (text: string) => void): void {
  let text = "";
  s.on("data", (d: Buffer) => (text += d.toString()));
  s.on("end", () => got(text));
  s.end("bye");
}

/** Through the gateway's l4 listener: reads until the server's end, then sends `more` and ends. */
async function clientAfterServerEnd(port: number): Promise<string> {
  const c = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  let got = "";
  c.on("data", (d: Buffer) => (got += d.toString()));
  await within(once(c, "end"), 5000, "the server's end through the gateway");
  c.end("more after your end");
  await within(once(c, "close"), 5000, "the connection to close after both ends");
  return got;
}

const tcpConfig = (port: number, tls = "") => `
listeners: [ { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t } ]
backends:
  t:
${tls}
    servers: [ { name: s, address: "127.0.0.1:${port}" } ]
`;

test("a clear-text server that ends its side first still receives what the client sends after", async () => {
  let received!: Promise<string>;
  const be = await tcpBackend((s) => (received = new Promise((r) => byeFirst(s, r))));
  const gw = await startGateway(tcpConfig(be.port));
  try {
    assert.equal(await clientAfterServerEnd(gw.port("l4")), "bye");
    assert.equal(await within(received, 5000, "the server to read the client's bytes and end"), "more after your end");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a TLS server that ends its side first still receives what the client sends after", async () => {
  const ca = makeCa();
  const pem = ca.issue(["db.internal"]);
  let received!: Promise<string>;
  const server = createTlsServer({ cert: pem.cert, key: pem.key, allowHalfOpen: true }, (s) => (received = new Promise((r) => byeFirst(s, r))));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const gw = await startGateway(tcpConfig((server.address() as AddressInfo).port, `    tls: { ca: ${ca.certPath}, servername: db.internal }`));
  try {
    assert.equal(await clientAfterServerEnd(gw.port("l4")), "bye");
    assert.equal(await within(received, 5000, "the server to read the client's bytes and end"), "more after your end");
  } finally {
    await gw.close();
    await closeServer(server);
  }
});
