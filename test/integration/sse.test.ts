import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { httpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";

test("an SSE stream reaches the client event by event", async () => {
  const INTERVAL = 100;
  const COUNT = 8;
  const be = await httpBackend("sse", (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    let n = 0;
    const t = setInterval(() => {
      res.write(`data: ${n}\n\n`);
      if (++n === COUNT) {
        clearInterval(t);
        res.end();
      }
    }, INTERVAL);
  });
  const gw = await startGateway(simpleConfig([{ name: "sse", port: be.port }]));
  try {
    const arrivals: [number, string][] = [];
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ port: gw.port(), host: "127.0.0.1", path: "/events" }, (res) => {
        assert.equal(res.headers["content-type"], "text/event-stream");
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          for (const ev of d.split("\n\n").filter(Boolean)) arrivals.push([Date.now() - t0, ev]);
        });
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(arrivals.map(([, e]) => e), Array.from({ length: COUNT }, (_, i) => `data: ${i}`));
    // Each event arrives on its own, about INTERVAL ms after the previous one (not batched).
    for (let i = 1; i < COUNT; i++) {
      const gap = arrivals[i]![0] - arrivals[i - 1]![0];
      assert.ok(gap >= INTERVAL * 0.5, `event ${i} arrived ${gap} ms after the previous one`);
    }
  } finally {
    await gw.close();
    await be.close();
  }
});
