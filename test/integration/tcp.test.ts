import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { deadPort, tcpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { until, within } from "../support/wait.ts";

function tcpConfig(ports: number[], extra = ""): string {
  return `
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t:
${extra}
    servers:
${ports.map((p, i) => `      - { name: s${i}, address: 127.0.0.1:${p} }`).join("\n")}
`;
}

test("TCP mode: half-close — a client that shuts its write side still receives the whole response", async () => {
  // The backend reads until EOF, then answers with the byte count and 1 MiB, then closes.
  const be = await tcpBackend((s) => {
    let n = 0;
    s.on("data", (c: Buffer) => (n += c.length));
    s.on("end", () => {
      s.write(`got ${n}\n`);
      s.end(Buffer.alloc(1024 * 1024, 0x61));
    });
  });
  const gw = await startGateway(tcpConfig([be.port]));
  try {
    const c = connect(gw.port("l4"), "127.0.0.1");
    const chunks: Buffer[] = [];
    c.on("data", (d: Buffer) => chunks.push(d));
    c.write(Buffer.alloc(100_000, 1));
    c.end(); // half-close
    await within(once(c, "close"), 10_000, "the gateway to close the connection after the response");
    const all = Buffer.concat(chunks);
    assert.equal(all.subarray(0, 11).toString(), "got 100000\n");
    assert.equal(all.length, 11 + 1024 * 1024);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TCP mode: a client that resets ends its tunnel at once: the server connection is closed though the server keeps its side open", async () => {
  let server: Socket | null = null;
  // Half-open server: it never ends its side, even after the gateway's FIN.
  const be = await tcpBackend((s) => {
    server = s;
    s.on("error", () => {});
    s.write("hello");
  });
  const gw = await startGateway(tcpConfig([be.port]));
  try {
    const c = connect(gw.port("l4"), "127.0.0.1");
    c.on("error", () => {});
    await within(once(c, "data"), 10_000, "the server's hello through the tunnel");
    assert.equal(gw.gw.tunnels.size, 1);
    const serverEnd = within(once(server!, "end"), 10_000, "the gateway to close the server connection");
    c.resetAndDestroy();
    await serverEnd;
    // Closed, not only ended: an ended one would wait for the server's FIN, which never comes.
    await until(() => gw.gw.tunnels.size === 0, 3000, "the tunnel to be closed");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TCP mode: a refused connect is retried on another server", async () => {
  const be = await tcpBackend((s) => s.end("hello\n"));
  const dead = await deadPort();
  const gw = await startGateway(tcpConfig([dead, be.port]));
  try {
    for (let i = 0; i < 4; i++) {
      const c = connect(gw.port("l4"), "127.0.0.1");
      let got = "";
      c.on("data", (d) => (got += d));
      await within(once(c, "close"), 5000, `connection ${i} to be answered and closed`);
      assert.equal(got, "hello\n", `connection ${i}`);
    }
    // Each connection answered: the dead server, when tried, was retried past.
    const [deadServer, live] = gw.gw.backends.get("t")!.servers;
    assert.ok(deadServer!.stats.connectionsCreated >= 1, "the refusing server was tried");
    assert.equal(live!.stats.connectionsCreated, 4, "every connection ended on the live server");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TCP mode: an idle stream is closed after timeouts.tunnel", async () => {
  const be = await tcpBackend((s) => s.on("data", (d) => s.write(d)));
  const gw = await startGateway(tcpConfig([be.port], "    timeouts: { tunnel: 300ms }"));
  try {
    const c = connect(gw.port("l4"), "127.0.0.1");
    c.write("x");
    await once(c, "data");
    const t0 = Date.now();
    await within(once(c, "close"), 10_000, "the idle stream to be closed");
    const took = Date.now() - t0;
    assert.ok(took >= 200 && took < 10_000, `closed after ${took} ms (timeouts.tunnel is 300 ms; the default is far longer)`);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TCP mode: bytes sent before the server connection is up are delivered first and in order", async () => {
  const be = await tcpBackend((s) => s.on("data", (d) => s.write(d)));
  const gw = await startGateway(tcpConfig([be.port]));
  try {
    const c = connect(gw.port("l4"), "127.0.0.1");
    let got = "";
    c.on("data", (d) => (got += d));
    for (let i = 0; i < 100; i++) c.write(`${i},`);
    const want = Array.from({ length: 100 }, (_, i) => `${i},`).join("");
    for (let i = 0; i < 100 && got.length < want.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, want);
    c.destroy();
  } finally {
    await gw.close();
    await be.close();
  }
});

test("TCP mode: a drain ends both sides of a tunnel while its close grace still runs: the client and the server each get a FIN with the tunnel still open, and it closes when they end theirs", async () => {
  let server: Socket | null = null;
  const be = await tcpBackend((s) => {
    server = s;
    s.on("error", () => {});
    s.write("hello");
  });
  const gw = await startGateway(tcpConfig([be.port], "    drainTimeout: 0ms\n    drainSpread: 0ms"));
  try {
    const c = connect({ port: gw.port("l4"), host: "127.0.0.1", allowHalfOpen: true });
    c.on("error", () => {});
    await within(once(c, "data"), 10_000, "the server's hello through the tunnel");
    const [t] = gw.gw.tunnels;
    // At each FIN: is the tunnel open, and how much of its close grace (3 s, on the
    // gateway's clock, which is performance.now()) is left? A tunnel cut at the end of
    // the grace has no deadline left (0) and is gone.
    const atFin = (s: Socket, who: string) =>
      within(once(s, "end"), 10_000, `the ${who}'s FIN`).then(() => ({ open: gw.gw.tunnels.has(t!), graceLeft: t!.deadline - performance.now() }));
    const fins = Promise.all([atFin(c, "client"), atFin(server!, "server")]);
    assert.ok(gw.gw.serverAction("t", "s0", "drain"));
    for (const [i, f] of (await fins).entries()) {
      assert.ok(f.open && f.graceLeft > 0, `${i === 0 ? "client" : "server"}: a FIN from end(), not a cut at the grace: ${JSON.stringify(f)}`);
    }
    c.end();
    server!.end();
    await until(() => gw.gw.tunnels.size === 0, 5000, "the tunnel to close once both ended their sides");
  } finally {
    await gw.close();
    await be.close();
  }
});
