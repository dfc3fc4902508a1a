import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { httpProbe, type HttpProbeOptions } from "./http.ts";
import { HealthChecker } from "../../core/health/checker.ts";
import { createHealthRecord } from "../../core/health/state.ts";
import type { ProbeResult } from "../../core/health/types.ts";

const SLOW_MS = 200;

function handler(req: IncomingMessage, res: ServerResponse): void {
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  switch (req.url) {
    case "/health": return json(200, { status: "healthy", db: { connected: true, latency_ms: 5 } });
    case "/degraded": return json(200, { status: "degraded", db: { connected: false } });
    case "/unavailable": return json(503, { status: "degraded" });
    case "/html": res.writeHead(200, { "content-type": "text/html" }).end("<html>oops</html>"); return;
    case "/weight": return json(200, { status: "healthy", weight: 42 });
    case "/bad-weight": return json(200, { status: "healthy", weight: 300 });
    case "/big": res.writeHead(200).end(`{"status":"healthy","pad":"${"x".repeat(100_000)}"}`); return;
    case "/redirect": res.writeHead(302, { location: "/health" }).end(); return;
    case "/headers": return json(200, { host: req.headers.host, connection: req.headers.connection, method: req.method });
    case "/hangup": req.socket.destroy(); return;
    case "/slow": {
      const t = setTimeout(() => json(200, { status: "healthy" }), SLOW_MS);
      res.on("close", () => clearTimeout(t)); // the aborted probe must not keep the test alive
      return;
    }
    default: return json(404, { error: "not found" });
  }
}

describe("httpProbe", () => {
  const server = createServer(handler);
  let port = 0;
  let refusedPort = 0;
  const check = (opts: HttpProbeOptions, ms = 2000, p = port): Promise<ProbeResult> =>
    httpProbe(opts)({ host: "127.0.0.1", port: p }, AbortSignal.timeout(ms));
  const healthy = { status: "healthy" };

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    refusedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
  });
  after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });

  const cases: { name: string; opts: HttpProbeOptions; ok: boolean; reason: string | RegExp; weight?: number }[] = [
    { name: "healthy JSON", opts: { path: "/health", expect: { status: [200], json: healthy } }, ok: true, reason: "status 200" },
    { name: "nested assertion, extra keys ignored", opts: { path: "/health", expect: { json: { db: { connected: true } } } }, ok: true, reason: "status 200" },
    { name: "degraded", opts: { path: "/degraded", expect: { json: healthy } }, ok: false, reason: 'json: status expected "healthy", got "degraded"' },
    { name: "nested mismatch names its path", opts: { path: "/degraded", expect: { json: { db: { connected: true } } } }, ok: false, reason: "json: db.connected expected true, got false" },
    { name: "503", opts: { path: "/unavailable", expect: { json: healthy } }, ok: false, reason: "status 503" },
    { name: "non-JSON with assertions", opts: { path: "/html", expect: { json: healthy } }, ok: false, reason: 'body is not JSON (starts with "<html>oops</html>")' },
    { name: "non-JSON without assertions", opts: { path: "/html" }, ok: true, reason: "status 200" },
    { name: "404", opts: { path: "/nope" }, ok: false, reason: "status 404" },
    { name: "3xx passes when no status is listed", opts: { path: "/redirect" }, ok: true, reason: "status 302" },
    { name: "3xx fails when 200 is required", opts: { path: "/redirect", expect: { status: [200] } }, ok: false, reason: "status 302" },
    { name: "weight", opts: { path: "/weight", expect: { json: healthy } }, ok: true, reason: "status 200, weight 42", weight: 42 },
    { name: "weight without assertions", opts: { path: "/weight" }, ok: true, reason: "status 200, weight 42", weight: 42 },
    { name: "out-of-range weight ignored", opts: { path: "/bad-weight" }, ok: true, reason: "status 200, ignored weight 300 (want an integer 0..256)" },
    { name: "body over the cap with assertions", opts: { path: "/big", expect: { json: healthy } }, ok: false, reason: "body larger than 65536 bytes" },
    { name: "body over the cap without assertions", opts: { path: "/big" }, ok: true, reason: "status 200" },
    { name: "HEAD", opts: { method: "HEAD", path: "/health" }, ok: true, reason: "status 200" },
    { name: "server hangs up", opts: { path: "/hangup" }, ok: false, reason: "connection closed before the response" },
    { name: "maxLatency exceeded", opts: { path: "/slow", expect: { maxLatency: 50 } }, ok: false, reason: /^latency \d+ms over maxLatency 50ms$/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await check(c.opts);
      assert.equal(r.ok, c.ok, r.reason);
      if (typeof c.reason === "string") assert.equal(r.reason, c.reason);
      else assert.match(r.reason, c.reason);
      assert.equal(r.weight, c.weight);
    });
  }

  const headerCases: { name: string; opts: HttpProbeOptions; json: (port: number) => Record<string, unknown> }[] = [
    { name: "Connection: close and the method", opts: {}, json: () => ({ connection: "close", method: "GET" }) },
    { name: "Host defaults to the target address", opts: {}, json: (p) => ({ host: `127.0.0.1:${p}` }) },
    { name: "Host from the config", opts: { host: "api.internal" }, json: () => ({ host: "api.internal" }) },
    { name: "the configured method", opts: { method: "POST" }, json: () => ({ method: "POST" }) },
  ];
  for (const c of headerCases) {
    it(`sends ${c.name}`, async () => {
      const r = await check({ ...c.opts, path: "/headers", expect: { json: c.json(port) } });
      assert.equal(r.ok, true, r.reason);
    });
  }

  it("times out on a slow server", async () => {
    const r = await check({ path: "/slow" }, 50);
    assert.equal(r.ok, false);
    assert.match(r.reason, /^timeout after \d+ms$/);
    assert.ok(r.latencyMs < SLOW_MS, `${r.latencyMs}ms`);
  });

  it("fails with connect refused", async () => {
    const r = await check({}, 2000, refusedPort);
    assert.deepEqual([r.ok, r.reason], [false, "connect refused"]);
  });

  it("reports timeout after Xms through the checker", async () => {
    const results: string[] = [];
    const s = { name: "slow", address: { host: "127.0.0.1", port }, health: createHealthRecord(0) };
    const checker = new HealthChecker({
      config: { interval: 1000, timeout: 60, rise: 1, fall: 1, jitter: 0 },
      probe: httpProbe({ path: "/slow" }),
      clock: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout), now: () => performance.now(), random: () => 0 },
    });
    checker.add(s);
    try {
      // The first check starts at once (random 0) and ends at its 60 ms timeout; the 5 s
      // deadline only turns a check that never ends into a message.
      for (let waited = 0; checker.history(s).length === 0; waited += 10) {
        assert.ok(waited < 5000, "no check result after 5 s");
        await sleep(10);
      }
      results.push(...checker.history(s).map((x) => x.reason));
    } finally {
      checker.stop();
    }
    assert.deepEqual(results, ["timeout after 60ms"]);
  });
});
