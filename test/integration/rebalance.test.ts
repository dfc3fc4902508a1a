// Rebalancing on the wire, small: a handful of WebSockets, so it runs in a few seconds
// (lifecycle.test.ts has the 900-tunnel scale-out). Which tunnels, how many per tick and
// when are src/control/rebalancer.test.ts's, on a fake clock.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket } from "ws";
import { loadConfig } from "../../src/config/load.ts";
import { wsBackend, type WsBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { until, within } from "../support/wait.ts";

const yaml = (servers: WsBackend[], maxSkew: number) => `
listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]
backends:
  b:
    balance: least-conn
    rebalance: { maxSkew: ${maxSkew}, rate: 100 }
    servers:
${servers.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;

/** A WebSocket that opens again at once when closed with 1012; `on` is the server that greeted it last. */
class Follower {
  on = "";
  readonly closes: [code: number, reason: string][] = [];
  ws!: WebSocket;
  readonly #url: string;
  constructor(url: string) {
    this.#url = url;
  }
  async connect(): Promise<void> {
    const ws = (this.ws = new WebSocket(this.#url, { perMessageDeflate: false }));
    ws.on("close", (code, reason) => {
      this.closes.push([code, String(reason)]);
      if (code === 1012) void this.connect().catch(() => {});
    });
    const greeted = new Promise<void>((resolve, reject) => {
      ws.once("message", (d) => resolve(void (this.on = String(d))));
      ws.once("error", reject);
    });
    await within(greeted, 10_000, "a WebSocket to open and be greeted");
  }
}

test("a reload that adds s2 and lowers maxSkew from 10 to 1.25: s1's WebSockets get 1012 with a retry-after until s1 and s2 hold 3 each", async () => {
  const [s1, s2] = await Promise.all([wsBackend("s1"), wsBackend("s2")]);
  const gw = await startGateway(yaml([s1], 10));
  const clients = Array.from({ length: 6 }, () => new Follower(`ws://127.0.0.1:${gw.port()}/`));
  try {
    for (const c of clients) await c.connect();
    assert.deepEqual(clients.map((c) => c.on), Array(6).fill("s1"));
    // A tick now makes the backend's rate window under maxSkew 10, before the reload
    // changes it (the runner's own timer may not have ticked yet).
    gw.gw.control.rebalancer.tick();
    const next = loadConfig(yaml([s1, s2], 1.25), { env: {}, baseDir: "." });
    assert.ok(next.ok);
    await gw.gw.reload(next.config);
    const held = (name: string) => clients.filter((c) => c.on === name && c.ws.readyState === WebSocket.OPEN).length;
    await until(() => held("s1") === 3 && held("s2") === 3, 15_000, () => `s1 and s2 to hold 3 each (they hold ${held("s1")} and ${held("s2")})`);
    // (Three clients on s2 imply three 1012s: a Follower reconnects on nothing else.)
    const closes = clients.flatMap((c) => c.closes);
    for (const [code, reason] of closes) {
      assert.equal(code, 1012);
      assert.match(reason, /^retry-after=\d+$/);
    }
  } finally {
    for (const c of clients) c.ws?.terminate();
    await gw.close();
    await Promise.all([s1.close(), s2.close()]);
  }
});
