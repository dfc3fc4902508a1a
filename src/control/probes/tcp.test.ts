import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { tcpProbe } from "./tcp.ts";

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe("tcpProbe", () => {
  const server = createServer((socket) => socket.destroy());
  let port = 0;
  let refusedPort = 0;
  before(async () => {
    port = await listen(server);
    const closed = createServer();
    refusedPort = await listen(closed);
    await close(closed);
  });
  after(() => close(server));

  it("passes when the handshake completes", async () => {
    const r = await tcpProbe()({ host: "127.0.0.1", port }, AbortSignal.timeout(2000));
    assert.equal(r.ok, true);
    assert.equal(r.reason, "connected");
    assert.ok(r.latencyMs >= 0);
  });

  it("fails with connect refused on a closed port", async () => {
    const r = await tcpProbe()({ host: "127.0.0.1", port: refusedPort }, AbortSignal.timeout(2000));
    assert.deepEqual([r.ok, r.reason], [false, "connect refused"]);
  });

  it("fails with the timeout when the signal aborts first", async () => {
    const ac = new AbortController();
    const pending = tcpProbe()({ host: "127.0.0.1", port }, ac.signal);
    ac.abort(new DOMException("timeout after 150ms", "TimeoutError"));
    assert.deepEqual([(await pending).ok, (await pending).reason], [false, "timeout after 150ms"]);
  });

  it("does not connect with an already aborted signal", async () => {
    const r = await tcpProbe()({ host: "127.0.0.1", port }, AbortSignal.abort());
    assert.deepEqual([r.ok, r.reason], [false, "aborted"]);
  });
});
