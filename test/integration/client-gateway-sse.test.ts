import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "../../src/client/index.ts";
import { MemoryStore } from "../../src/hub/broker/memory.ts";
import { token } from "../hub/support.ts";
import { waitFor, within } from "../support/client.ts";
import { hubNode, record } from "../support/client-hub.ts";
import { startGateway } from "../support/gateway.ts";

// SSE through the gateway in front of two hub nodes: `POST /send` must reach the node
// that holds the stream's session. The gateway's sticky cookie does it (docs/client.md,
// "Transports"): a browser returns the cookie by itself; the SDK returns it in Node.
// Without it, a random pick sends about half of the sends to the wrong node (404).

test("SSE through the gateway with two hub nodes: the sticky cookie takes every send to the stream's node", { timeout: 30_000 }, async () => {
  const store = new MemoryStore();
  const a = await hubNode(0, { store, env: { NODE: "hub-a" } });
  const b = await hubNode(0, { store, env: { NODE: "hub-b" } });
  const servers = `
    servers:
      - { name: hub-a, address: 127.0.0.1:${a.address.port} }
      - { name: hub-b, address: 127.0.0.1:${b.address.port} }`;
  const gw = await startGateway(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /sse }, backend: hub-sse }
      - { match: { pathPrefix: /send }, backend: hub-sse }
      - { backend: hub }
backends:
  hub:
    balance: round-robin${servers}
  hub-sse:
    balance: random
    sticky: { cookie: HF_HUB, ttl: 1h }${servers}
`);
  const clients = Array.from({ length: 4 }, (_, i) => connect(`ws://127.0.0.1:${gw.port()}/connect`, { transports: ["sse"], token: () => token(`sse-${i}`) }));
  const reconnects: string[] = [];
  clients.forEach((c, i) => c.on("state", (st, info) => void (st === "reconnecting" && reconnects.push(`client ${i}: ${info.reason}`))));
  try {
    const recs = clients.map((c) => record(c.subscribe("chat:sticky")));
    await waitFor("every client subscribed over SSE", () => clients.every((c) => c.getSubscription("chat:sticky")?.state === "subscribed"));
    assert.ok(clients.every((c) => c.session?.transport === "sse"));
    for (let i = 0; i < 10; i++) await within(clients[i % 4]!.publish("chat:sticky", i), 5000, `publish ${i}`);
    await waitFor("10 messages everywhere", () => recs.every((r) => r.data.length === 10));
    for (const r of recs) assert.deepEqual(r.data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(reconnects, [], "no send was refused (404 on another node) and no session lost");
  } finally {
    for (const c of clients) c.close();
    await gw.close();
    await a.stop();
    await b.stop();
  }
});
