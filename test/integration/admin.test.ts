import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { get, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ReloadHook } from "../../src/admin/api.ts";
import type { Overview } from "../../src/admin/overview.ts";
import { CACHE_MS, startAdmin, type AdminServer } from "../../src/admin/server.ts";
import { ERROR_CODES } from "../../src/errors.ts";
import { adminRequest, parseExposition, sumSamples, type AdminAnswer } from "../support/admin.ts";
import { httpBackend, tcpBackend, type Backend } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";
import { within } from "../support/wait.ts";

const TOKEN = "s3cret-admin-token";
const LOOPBACK0 = { host: "127.0.0.1", port: 0 };

interface Fixture {
  a: Backend;
  b: Backend;
  gw: TestGateway;
  admin: AdminServer;
  close(): Promise<void>;
}

async function fixture(opts: { token?: string; reload?: ReloadHook } = {}): Promise<Fixture> {
  const a = await httpBackend("a");
  const b = await httpBackend("b");
  const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }, { name: "b", port: b.port }]));
  const admin = await startAdmin(gw.gw, { listen: LOOPBACK0, token: opts.token, ...(opts.reload ? { reload: opts.reload } : {}) });
  return {
    a, b, gw, admin,
    close: async () => {
      await admin.close();
      await gw.close();
      await a.close();
      await b.close();
    },
  };
}

/** GET/POST/PUT against the admin server. */
function call(admin: AdminServer, method: string, path: string, opts: { token?: string; auth?: string; body?: string } = {}): Promise<AdminAnswer> {
  return adminRequest(admin.url, method, path, opts);
}

/** `n` requests through the gateway; returns how many each server answered. */
async function traffic(gw: TestGateway, n: number, path = "/x"): Promise<Record<string, number>> {
  const by: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${gw.port()}${path}`);
    await res.text();
    const who = res.headers.get("x-served-by") ?? "?";
    by[who] = (by[who] ?? 0) + 1;
  }
  return by;
}

describe("admin: /metrics", () => {
  let f: Fixture;
  before(async () => (f = await fixture()));
  after(() => f.close());

  test("the exposition parses: holdfast_ names, HELP and TYPE for each, bounded labels, cumulative buckets", async () => {
    await traffic(f.gw, 6);
    const res = await call(f.admin, "GET", "/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const { samples, types, helps } = parseExposition(res.text);
    for (const [name] of types) {
      assert.ok(name.startsWith("holdfast_"), `${name} is prefixed`);
      assert.ok(helps.has(name), `${name} has HELP`);
    }
    const expected: Record<string, string> = {
      holdfast_requests_total: "counter",
      holdfast_upstream_latency_seconds: "histogram",
      holdfast_server_attempts_total: "counter",
      holdfast_retries_total: "counter",
      holdfast_ejections_total: "counter",
      holdfast_tunnels: "gauge",
      holdfast_tunnels_opened_total: "counter",
      holdfast_upstream_connections: "gauge",
      holdfast_upstream_connections_created_total: "counter",
      holdfast_upstream_connections_reused_total: "counter",
      holdfast_upstream_connection_reuse_ratio: "gauge",
      holdfast_upstream_connect_failures_total: "counter",
      holdfast_bytes_total: "counter",
      holdfast_server_state: "gauge",
      holdfast_server_weight: "gauge",
      holdfast_server_configured_weight: "gauge",
      holdfast_backend_queue_length: "gauge",
      holdfast_client_connections: "gauge",
      holdfast_admission_rejected_total: "counter",
      holdfast_config_reloads_total: "counter",
      holdfast_config_reload_failures_total: "counter",
      holdfast_client_connections_total: "counter",
      holdfast_tls_handshakes_total: "counter",
      holdfast_tls_handshake_failures_total: "counter",
      holdfast_sni_refused_total: "counter",
      holdfast_proxy_protocol_refused_total: "counter",
      holdfast_connections_refused_total: "counter",
      holdfast_errors_total: "counter",
      holdfast_process_resident_memory_bytes: "gauge",
      holdfast_nodejs_eventloop_lag_seconds: "gauge",
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(types.get(name), type, `${name} is a ${type}`);

    // protocol: http1 | h2; resumed: yes | no; limit: maxConnections | maxConnectionsPerClient;
    // code: a key of the HF_ERR_* table.
    const allowed = new Set(["backend", "server", "method", "status", "le", "state", "direction", "listener", "protocol", "resumed", "limit", "code"]);
    for (const s of samples) {
      if (s.name.startsWith("holdfast_process_") || s.name.startsWith("holdfast_nodejs_")) continue;
      for (const k of Object.keys(s.labels)) assert.ok(allowed.has(k), `${s.name} has a bounded label set (found ${k})`);
      if (s.labels.code !== undefined) assert.ok(Object.hasOwn(ERROR_CODES, s.labels.code), `${s.labels.code} is a code of the table`);
    }
    const req = samples.filter((s) => s.name === "holdfast_requests_total");
    assert.ok(req.length > 0);
    for (const s of req) {
      assert.deepEqual(Object.keys(s.labels).sort(), ["backend", "method", "server", "status"]);
      assert.match(s.labels.status!, /^(none|[1-5]xx)$/);
    }
    assert.equal(sumSamples(samples, "holdfast_requests_total", { method: "GET", status: "2xx" }), 6);

    // Cumulative buckets per series, +Inf == _count, and le ascending.
    for (const server of ["a", "b"]) {
      const buckets = samples.filter((s) => s.name === "holdfast_upstream_latency_seconds_bucket" && s.labels.server === server);
      assert.equal(buckets.length, 14);
      assert.equal(buckets.at(-1)!.labels.le, "+Inf");
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `cumulative at le=${buckets[i]!.labels.le}`);
        if (i < buckets.length - 1) assert.ok(Number(buckets[i]!.labels.le) > Number(buckets[i - 1]!.labels.le));
      }
      assert.equal(buckets.at(-1)!.value, sumSamples(samples, "holdfast_upstream_latency_seconds_count", { server }));
      assert.ok(sumSamples(samples, "holdfast_upstream_latency_seconds_sum", { server }) > 0);
    }
    assert.equal(sumSamples(samples, "holdfast_upstream_latency_seconds_count"), 6);
    for (const server of ["a", "b"]) {
      assert.equal(sumSamples(samples, "holdfast_server_state", { server, state: "up" }), 1);
      assert.equal(sumSamples(samples, "holdfast_server_state", { server }), 1, "exactly one state is 1");
    }
  });

  test("counts move with real traffic", async () => {
    const parse = async () => parseExposition((await call(f.admin, "GET", "/metrics")).text).samples;
    await sleep(CACHE_MS + 20);
    const s0 = await parse();
    await traffic(f.gw, 10);
    await sleep(CACHE_MS + 20);
    const s1 = await parse();
    const d = (name: string, where: Record<string, string> = {}) => sumSamples(s1, name, where) - sumSamples(s0, name, where);
    assert.equal(d("holdfast_requests_total", { status: "2xx" }), 10);
    assert.equal(d("holdfast_upstream_latency_seconds_count"), 10);
    assert.equal(d("holdfast_upstream_latency_seconds_bucket", { le: "+Inf" }), 10);
    assert.equal(d("holdfast_server_attempts_total"), 10);
    assert.equal(d("holdfast_upstream_connections_created_total") + d("holdfast_upstream_connections_reused_total"), 10);
    assert.ok(d("holdfast_bytes_total", { direction: "in" }) > 0);
    assert.ok(d("holdfast_bytes_total", { direction: "out" }) > 0);
    // round-robin: both servers took their share
    assert.equal(d("holdfast_requests_total", { server: "a" }), 5);
    assert.equal(d("holdfast_requests_total", { server: "b" }), 5);
  });

  test("docs/metrics.md names only metrics that exist, and documents every holdfast_ metric", async () => {
    const doc = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
    const { types } = parseExposition((await call(f.admin, "GET", "/metrics")).text);
    const inDoc = new Set([...doc.matchAll(/\bholdfast_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")));
    for (const name of inDoc) assert.ok(types.has(name), `docs/metrics.md mentions ${name}, which /metrics does not export`);
    for (const name of types.keys()) {
      if (name.startsWith("holdfast_process_") || name.startsWith("holdfast_nodejs_")) continue;
      assert.ok(doc.includes(`| \`${name}\` |`), `${name} has a row in docs/metrics.md`);
    }
  });
});

describe("admin: API", () => {
  let f: Fixture;
  before(async () => (f = await fixture({ token: TOKEN })));
  after(() => f.close());

  test("/healthz: 200 ok, then 503 once stopping", async () => {
    const other = await fixture();
    try {
      const ok = await call(other.admin, "GET", "/healthz");
      assert.equal(ok.status, 200);
      assert.equal(ok.text, "ok\n");
      other.admin.setStopping();
      const stopping = await call(other.admin, "GET", "/healthz");
      assert.equal(stopping.status, 503);
      assert.match(stopping.text, /stopping/);
    } finally {
      await other.close();
    }
  });

  test("GET /api/backends: the overview; rates appear after a tick", async () => {
    await traffic(f.gw, 20);
    await sleep(1200);
    const res = await call(f.admin, "GET", "/api/backends");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /application\/json/);
    const o = res.json() as unknown as Overview;
    assert.equal(typeof o.uptimeSeconds, "number");
    assert.equal(o.pid, process.pid);
    for (const k of ["clientConnections", "tunnels", "rps", "requests", "errors", "servers", "serversUp", "admissionRejected", "reloads", "reloadFailures"]) {
      assert.equal(typeof (o.totals as unknown as Record<string, unknown>)[k], "number", `totals.${k}`);
    }
    // The fixture's first traffic: 20 requests, round-robin over two healthy servers.
    assert.deepEqual(
      { requests: o.totals.requests, errors: o.totals.errors, servers: o.totals.servers, serversUp: o.totals.serversUp, tunnels: o.totals.tunnels, admissionRejected: o.totals.admissionRejected, reloads: o.totals.reloads, reloadFailures: o.totals.reloadFailures },
      { requests: 20, errors: 0, servers: 2, serversUp: 2, tunnels: 0, admissionRejected: 0, reloads: 0, reloadFailures: 0 },
    );
    assert.deepEqual(o.listeners.map((l) => [l.name, l.mode, l.backends]), [["web", "http", ["b"]]]);
    assert.equal(o.listeners[0]!.address, `127.0.0.1:${f.gw.port()}`);
    const b = o.backends[0]!;
    assert.equal(b.name, "b");
    assert.equal(b.balance, "round-robin");
    assert.deepEqual(b.servers.map((s) => s.name), ["a", "b"]);
    const s = b.servers[0]!;
    assert.equal(s.address, `127.0.0.1:${f.a.port}`);
    assert.equal(s.state, "up");
    assert.equal(s.weight, 1);
    assert.equal(s.configWeight, 1);
    for (const k of ["active", "tunnels", "idle", "rps", "requests", "errors", "retries", "ejections", "bytesIn", "bytesOut", "connectionsCreated", "connectionsReused", "stateForMs"]) {
      assert.equal(typeof (s as unknown as Record<string, unknown>)[k], "number", `server.${k}`);
    }
    assert.deepEqual(
      { requests: s.requests, errors: s.errors, retries: s.retries, ejections: s.ejections, active: s.active, tunnels: s.tunnels, exchanges: s.connectionsCreated + s.connectionsReused },
      { requests: 10, errors: 0, retries: 0, ejections: 0, active: 0, tunnels: 0, exchanges: 10 },
    );
    assert.ok(s.bytesIn > 0 && s.bytesOut > 0, `bytes in ${s.bytesIn}, out ${s.bytesOut}`);
    // Rates after a tick: the 1 s tick that followed the traffic shows it in each server's history.
    for (const x of b.servers) assert.ok(x.rpsHistory.some((r) => r > 0), `${x.name}'s rpsHistory ${JSON.stringify(x.rpsHistory)} shows the traffic`);
    assert.equal(s.errorRate, 0);
    assert.ok(s.p50Ms !== null && s.p99Ms !== null && s.p50Ms <= s.p99Ms, `p50 ${s.p50Ms} p99 ${s.p99Ms}`);
    assert.deepEqual(s.checks, []);

    const one = await call(f.admin, "GET", "/api/backends/b");
    assert.equal(one.status, 200);
    assert.equal(one.json().name, "b");
  });

  test("a burst of admin requests is served from the cached render, while proxying goes on", async () => {
    const proxied = traffic(f.gw, 30);
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => call(f.admin, "GET", "/api/backends")));
    const elapsed = performance.now() - t0;
    assert.ok(answers.every((r) => r.status === 200));
    // At most one render per CACHE_MS, whatever the request rate.
    const renders = new Set(answers.map((r) => (r.json() as unknown as Overview).at));
    assert.ok(renders.size <= 2 + elapsed / CACHE_MS, `${renders.size} renders for 200 requests in ${elapsed.toFixed(0)} ms`);
    const by = await proxied;
    assert.equal((by.a ?? 0) + (by.b ?? 0), 30);
  });

  test("404s name what is unknown; 405 for a wrong method", async () => {
    const nb = await call(f.admin, "GET", "/api/backends/nope");
    assert.equal(nb.status, 404);
    assert.match(nb.json().error as string, /no backend named "nope"/);
    const nb2 = await call(f.admin, "POST", "/api/backends/nope/servers/a/drain", { token: TOKEN });
    assert.equal(nb2.status, 404);
    assert.match(nb2.json().error as string, /"nope"/);
    const ns = await call(f.admin, "POST", "/api/backends/b/servers/zz/drain", { token: TOKEN });
    assert.equal(ns.status, 404);
    assert.match(ns.json().error as string, /no server named "zz".*servers: a, b/);
    const nr = await call(f.admin, "GET", "/api/nothing");
    assert.equal(nr.status, 404);
    assert.match(nr.json().error as string, /no route GET \/api\/nothing/);
    const wm = await call(f.admin, "GET", "/api/backends/b/servers/a/drain");
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.get("allow"), "POST");
  });

  test("auth: missing, malformed or wrong token → 401 saying why; the right one → 200", async () => {
    const path = "/api/backends/b/servers/a/maintenance";
    const missing = await call(f.admin, "POST", path);
    assert.equal(missing.status, 401);
    assert.match(missing.json().error as string, /missing Authorization header/);
    assert.match(missing.headers.get("www-authenticate")!, /^Bearer/);
    const malformed = await call(f.admin, "POST", path, { auth: `Basic ${Buffer.from("x:y").toString("base64")}` });
    assert.equal(malformed.status, 401);
    assert.match(malformed.json().error as string, /expected Bearer/);
    const wrong = await call(f.admin, "POST", path, { token: "nope" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.json().error as string, /invalid token/);
    const wrongWeight = await call(f.admin, "PUT", "/api/backends/b/servers/a/weight", { token: TOKEN + "x", body: '{"weight":5}' });
    assert.equal(wrongWeight.status, 401);
    assert.equal(f.gw.gw.backends.get("b")!.servers[0]!.state(performance.now()), "up", "refused calls changed nothing");
    const ok = await call(f.admin, "POST", path, { token: TOKEN });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((ok.json().server as { state: string }).state, "maintenance");
    const back = await call(f.admin, "POST", "/api/backends/b/servers/a/enable", { token: TOKEN });
    assert.equal((back.json().server as { state: string }).state, "up");
  });

  test("auth: without a configured token every mutation is refused with 403 saying a token must be configured", async () => {
    const other = await fixture();
    try {
      for (const [method, path, body] of [
        ["POST", "/api/backends/b/servers/a/drain", undefined],
        ["PUT", "/api/backends/b/servers/a/weight", '{"weight":3}'],
        ["POST", "/api/reload", undefined],
      ] as const) {
        const r = await call(other.admin, method, path, { token: "anything", body });
        assert.equal(r.status, 403, `${method} ${path}`);
        assert.match(r.json().error as string, /no admin token is configured; set admin\.token/);
      }
      assert.equal(other.gw.gw.backends.get("b")!.servers[0]!.state(performance.now()), "up");
    } finally {
      await other.close();
    }
  });

  test("weight: 0..256 accepted, null restores, anything else → 400; an oversized body → 413", async () => {
    const path = "/api/backends/b/servers/b/weight";
    for (const body of ['{"weight":300}', '{"weight":-1}', '{"weight":1.5}', '{"weight":"5"}', '{"w":5}', "not json", "[]"]) {
      const r = await call(f.admin, "PUT", path, { token: TOKEN, body });
      assert.equal(r.status, 400, body);
      assert.match(r.json().error as string, /weight|JSON/, body);
    }
    const big = await call(f.admin, "PUT", path, { token: TOKEN, body: JSON.stringify({ weight: 1, pad: "x".repeat(10_000) }) });
    assert.equal(big.status, 413);
    const set = await call(f.admin, "PUT", path, { token: TOKEN, body: '{"weight":7}' });
    assert.equal(set.status, 200, set.text);
    assert.equal((set.json().server as { weight: number }).weight, 7);
    assert.equal(f.gw.gw.backends.get("b")!.servers[1]!.weight, 7);
    const zero = await call(f.admin, "PUT", path, { token: TOKEN, body: '{"weight":0}' });
    assert.equal((zero.json().server as { weight: number }).weight, 0);
    const restore = await call(f.admin, "PUT", path, { token: TOKEN, body: '{"weight":null}' });
    assert.equal((restore.json().server as { weight: number }).weight, 1);
  });

  test("drain through the API: the server shows draining and new requests go to the other one", async () => {
    const before = f.a.requests.length;
    const r = await call(f.admin, "POST", "/api/backends/b/servers/a/drain", { token: TOKEN });
    assert.equal(r.status, 200, r.text);
    const view = await call(f.admin, "GET", "/api/backends/b");
    assert.equal((view.json() as unknown as Overview["backends"][number]).servers[0]!.state, "draining");
    const by = await traffic(f.gw, 12);
    assert.deepEqual(by, { b: 12 });
    assert.equal(f.a.requests.length, before);
    await call(f.admin, "POST", "/api/backends/b/servers/a/enable", { token: TOKEN });
    const again = await traffic(f.gw, 4);
    assert.equal(again.a, 2);
  });

  test("POST /api/reload: 501 without a hook; the hook's verdict with one", async () => {
    const none = await call(f.admin, "POST", "/api/reload", { token: TOKEN });
    assert.equal(none.status, 501);
    assert.match(none.json().error as string, /reload is not available/);
    let ok = true;
    const other = await fixture({ token: TOKEN, reload: async () => (ok ? { ok: true, summary: "2 servers added" } : { ok: false, errors: ["backends.b.balance: unknown policy"] }) });
    try {
      const r1 = await call(other.admin, "POST", "/api/reload", { token: TOKEN });
      assert.equal(r1.status, 200);
      assert.deepEqual(r1.json(), { ok: true, summary: "2 servers added" });
      ok = false;
      const r2 = await call(other.admin, "POST", "/api/reload", { token: TOKEN });
      assert.equal(r2.status, 422);
      assert.match(r2.json().error as string, /refused.*backends\.b\.balance/);
    } finally {
      await other.close();
    }
  });

  test("GET /api/events: server-sent overviews about one second apart", async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${f.admin.url}/api/events`, resolve).on("error", reject));
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"]!, /^text\/event-stream/);
    const times: number[] = [];
    const events: Overview[] = [];
    let buf = "";
    await within(new Promise<void>((resolve) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(ev);
          if (data === null) continue;
          events.push(JSON.parse(data[1]!) as Overview);
          times.push(performance.now());
          if (events.length === 4) resolve();
        }
      });
    }), 10_000, "4 server-sent overviews");
    res.destroy();
    assert.ok(events.every((e) => e.backends[0]!.servers.length === 2));
    // The first event is immediate; the next ones come with the 1 s tick.
    for (let i = 2; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      assert.ok(gap > 700 && gap < 1500, `gap ${gap.toFixed(0)} ms`);
    }
  });
});

describe("admin: tunnels", () => {
  test("an open TCP tunnel counts on its server, in the API and in /metrics", async () => {
    const be = await tcpBackend((s) => s.pipe(s));
    const gw = await startGateway(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: l4, mode: tcp, listen: 127.0.0.1:0, backend: t }
backends:
  t:
    servers: [ { name: s0, address: 127.0.0.1:${be.port} } ]
`);
    const admin = await startAdmin(gw.gw, { listen: LOOPBACK0, token: undefined });
    const c = connect(gw.port("l4"), "127.0.0.1");
    try {
      c.write("ping");
      await new Promise((r) => c.once("data", r));
      const o = (await call(admin, "GET", "/api/backends")).json() as unknown as Overview;
      assert.equal(o.backends[0]!.servers[0]!.tunnels, 1);
      assert.equal(o.listeners[0]!.tunnels, 1);
      assert.equal(o.totals.tunnels, 1);
      const m = parseExposition((await call(admin, "GET", "/metrics")).text).samples;
      assert.equal(sumSamples(m, "holdfast_tunnels", { server: "s0" }), 1);
      assert.equal(sumSamples(m, "holdfast_client_connections", { listener: "l4" }), 1);
      assert.equal(sumSamples(m, "holdfast_bytes_total", { server: "s0", direction: "in" }), 4, "open tunnels' bytes count as they flow");
    } finally {
      c.destroy();
      await admin.close();
      await gw.close();
      await be.close();
    }
  });
});

describe("admin: admission", () => {
  test("refusals by admission control count per server in /metrics and in the overview", async () => {
    const a = await httpBackend("a");
    const gw = await startGateway(simpleConfig([{ name: "a", port: a.port }], "    admission: { rate: 1, burst: 1 }"));
    const admin = await startAdmin(gw.gw, { listen: LOOPBACK0, token: undefined });
    try {
      // New client connections each time: admission meters new connections.
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        statuses.push(Number(r.text.slice(9, 12)));
      }
      const refused = statuses.filter((x) => x === 503).length;
      assert.ok(refused >= 3, `statuses ${statuses.join(",")}`);
      const m = parseExposition((await call(admin, "GET", "/metrics")).text).samples;
      assert.equal(sumSamples(m, "holdfast_admission_rejected_total", { backend: "b", server: "a" }), refused);
      const o = (await call(admin, "GET", "/api/backends")).json() as unknown as Overview;
      assert.equal(o.totals.admissionRejected, refused);
      assert.equal(o.backends[0]!.servers[0]!.admissionRejected, refused);
    } finally {
      await admin.close();
      await gw.close();
      await a.close();
    }
  });
});
