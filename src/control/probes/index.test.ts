import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { HealthConfig } from "../../config/types.ts";
import { probeFor } from "./index.ts";

const health: HealthConfig = {
  type: "http", method: "GET", path: "/ready", host: undefined, interval: 5000, timeout: 2000, rise: 2, fall: 3, jitter: 0.1,
  expect: { status: [204], maxLatency: undefined, json: undefined },
};
const server = createServer((req, res) => res.writeHead(req.url === "/ready" ? 204 : 404).end());
let port = 0;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise((resolve) => server.close(resolve)));

it("probeFor builds the probe the config names, with its options", async () => {
  const want = { tcp: "connected", http: "status 204" };
  for (const type of ["tcp", "http"] as const) {
    const r = await probeFor({ ...health, type })({ host: "127.0.0.1", port }, AbortSignal.timeout(2000));
    assert.deepEqual([r.ok, r.reason], [true, want[type]]);
  }
});
