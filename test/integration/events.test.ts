// The holdfast:* diagnostics channels, as docs/architecture.md#events lists them: one
// subscriber per documented channel, by name, each event provoked through a real gateway
// (sockets, checks, the admin API, a reload), and each message holding exactly the
// fields the docs name for its channel, with the values that event should carry.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { test } from "node:test";
import { WebSocket } from "ws";
import { startAdmin } from "../../src/admin/server.ts";
import { loadConfig } from "../../src/config/load.ts";
import { adminRequest } from "../support/admin.ts";
import { deadPort, httpBackend, tcpBackend, wsBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";
import { until } from "../support/wait.ts";

const TOKEN = "events-test-admin-token";

/** Channel → the message fields its row in docs/architecture.md names (outside parentheses). */
function documentedChannels(): Map<string, string[]> {
  const doc = readFileSync(new URL("../../docs/architecture.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Events"), doc.indexOf("\n## ", doc.indexOf("## Events") + 1));
  const out = new Map<string, string[]>();
  for (const m of section.matchAll(/^\| `(holdfast:[a-z:]+)` \| [^|]+ \| (.+) \|$/gm)) {
    const fields = [...m[2]!.replace(/\([^)]*\)/g, "").matchAll(/`(\w+)`/g)].map((f) => f[1]!);
    out.set(m[1]!, fields.sort());
  }
  return out;
}

type Message = Record<string, unknown> & { backend?: unknown; server?: unknown };
const nameOf = (x: unknown): string => (x as { name: string }).name;

test("every documented holdfast:* channel publishes, through a real gateway, messages with exactly the documented fields", { timeout: 30_000 }, async () => {
  const channels = documentedChannels();
  assert.deepEqual([...channels.keys()].sort(), [
    "holdfast:admin:action", "holdfast:admission:refused", "holdfast:exchange:finished", "holdfast:health:checked", "holdfast:reload",
    "holdfast:server:ejected", "holdfast:server:state", "holdfast:tunnel:closed", "holdfast:tunnel:opened",
  ], "the channels docs/architecture.md lists");

  const app = await httpBackend("a1");
  const ws = await wsBackend("w1");
  const echo = await tcpBackend((s) => s.pipe(s));
  const dead = await deadPort();
  const yaml = (appWeight: number) => `
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /ws }, backend: ws }
      - { match: { pathPrefix: /flaky }, backend: flaky }
      - { backend: app }
  - { name: pg, mode: tcp, listen: 127.0.0.1:0, backend: echo }
backends:
  app: { servers: [ { name: a1, address: 127.0.0.1:${app.port}, weight: ${appWeight} } ] }
  ws:
    admission: { rate: 0.001, burst: 1 }
    servers: [ { name: w1, address: 127.0.0.1:${ws.port} } ]
  flaky:
    retries: 0
    passive: { consecutiveFailures: 1, ejectTime: 10s, maxEjectedPercent: 100 }
    servers: [ { name: f1, address: 127.0.0.1:${dead} } ]
  checked:
    health: { type: tcp, interval: 100ms, timeout: 50ms, fall: 1 }
    servers: [ { name: c1, address: 127.0.0.1:${dead} } ]
  echo: { servers: [ { name: e1, address: 127.0.0.1:${echo.port} } ] }
`;
  const seen = new Map<string, Message[]>([...channels.keys()].map((name) => [name, []]));
  const listeners = [...channels.keys()].map((name) => {
    const fn = (m: unknown) => seen.get(name)!.push(m as Message);
    subscribe(name, fn);
    return () => unsubscribe(name, fn);
  });
  // Subscribed before the gateway starts: its first health check is already published.
  const gw = await startGateway(yaml(1));
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const { data, control } = gw.gw;
  const of = (name: string, pred: (m: Message) => boolean = () => true) => seen.get(name)!.filter(pred);
  const web = `http://127.0.0.1:${gw.port()}`;
  try {
    // holdfast:exchange:finished — a forwarded request, then one the gateway answers itself.
    const helloStart = performance.now();
    const ok = await fetch(`${web}/hello`);
    assert.equal(ok.status, 200);
    await ok.text();
    const helloSpan = performance.now() - helloStart;
    const flaky = await fetch(`${web}/flaky`);
    assert.equal(flaky.status, 502);
    await flaky.text();
    const finished = of("holdfast:exchange:finished", (m) => m.plane === data).map((m) => m.record as Record<string, unknown>);
    assert.deepEqual(finished.map((r) => [r.path, r.status, r.backend, r.server, r.listener, r.method, r.error]), [
      ["/hello", 200, "app", "a1", "web", "GET", undefined],
      // No server answered: the record names none.
      ["/flaky", 502, "flaky", "", "web", "GET", "HF_ERR_CONNECT_REFUSED"],
    ]);
    const helloMs = finished[0]!.durationMs as number;
    assert.ok(helloMs > 0 && helloMs <= helloSpan, `the record's durationMs ${helloMs} lies within the client's ${helloSpan.toFixed(1)} ms`);

    // holdfast:server:ejected — the refused connect ejected flaky's only server.
    const [ejected, ...moreEjected] = of("holdfast:server:ejected");
    assert.ok(ejected !== undefined && moreEjected.length === 0, "one ejection");
    assert.deepEqual([nameOf(ejected.backend), nameOf(ejected.server)], ["flaky", "f1"]);
    assert.equal(ejected.backend, data.backends.get("flaky"));
    assert.equal(ejected.reason, "connect failed", "the reason names the failed connect (not a timeout)");
    assert.ok((ejected.forMs as number) > 9000 && (ejected.forMs as number) <= 10_000, `forMs ${String(ejected.forMs)}`);

    // holdfast:health:checked and holdfast:server:state — the active check of a server
    // nobody listens on fails, and with fall: 1 the first failure takes it down.
    await until(() => of("holdfast:server:state").length > 0, 5000, "the checked server to go down");
    const [state] = of("holdfast:server:state");
    assert.deepEqual([nameOf(state!.backend), nameOf(state!.server), state!.from, state!.to], ["checked", "c1", "up", "down"]);
    assert.match(String(state!.reason), /refused/i, "the reason names the refused check");
    const checked = of("holdfast:health:checked");
    assert.ok(checked.length > 0);
    for (const m of checked) assert.deepEqual([nameOf(m.backend), nameOf(m.server), m.ok, /refused/i.test(String(m.reason))], ["checked", "c1", false, true], `a failed check of c1, refused: ${String(m.reason)}`);

    // holdfast:tunnel:opened / closed — a WebSocket (with the upgrade's access record),
    // then an L4 connection (record null).
    const wsStart = performance.now();
    const client = new WebSocket(`ws://127.0.0.1:${gw.port()}/ws`);
    const [greeting] = (await once(client, "message")) as [Buffer];
    assert.equal(String(greeting), "w1");
    client.close();
    await until(() => of("holdfast:tunnel:closed").length === 1, 3000, "the WebSocket tunnel to close");
    const wsSpan = performance.now() - wsStart;
    const pg = connect(gw.port("pg"), "127.0.0.1");
    pg.write("ping\n");
    const [pong] = (await once(pg, "data")) as [Buffer];
    assert.equal(String(pong), "ping\n");
    pg.end();
    await until(() => of("holdfast:tunnel:closed").length === 2, 3000, "the L4 tunnel to close");
    const opened = of("holdfast:tunnel:opened");
    const closed = of("holdfast:tunnel:closed");
    for (const list of [opened, closed]) {
      assert.deepEqual(list.map((m) => [m.plane === data, (m.tunnel as { listener: string }).listener, nameOf((m.tunnel as { backend: unknown }).backend)]), [
        [true, "web", "ws"],
        [true, "pg", "echo"],
      ]);
    }
    assert.equal(opened[0]!.tunnel, closed[0]!.tunnel);
    const upgrade = closed[0]!.record as Record<string, unknown>;
    assert.deepEqual([upgrade.path, upgrade.backend, upgrade.server], ["/ws", "ws", "w1"]);
    // The tunnel lived within the client's span, from before its upgrade to after the close.
    const tunnelMs = upgrade.tunnelMs as number;
    assert.ok(tunnelMs > 0 && tunnelMs <= wsSpan, `the closed record has the tunnel's duration: ${tunnelMs} ms of the client's ${wsSpan.toFixed(1)} ms`);
    assert.ok((upgrade.bytesOut as number) > 0, "and its bytes");
    assert.deepEqual([opened[1]!.record, closed[1]!.record], [null, null]);
    assert.deepEqual([(closed[1]!.tunnel as { bytesIn: number }).bytesIn, (closed[1]!.tunnel as { bytesOut: number }).bytesOut], [5, 5]);

    // holdfast:admission:refused — the WebSocket above spent w1's only token: the next
    // upgrade gets 101 then 1013, a plain request on a new connection a 503.
    const refusedWs = new WebSocket(`ws://127.0.0.1:${gw.port()}/ws`);
    refusedWs.on("error", () => {});
    const [code] = (await once(refusedWs, "close")) as [number];
    assert.equal(code, 1013);
    const refusedHttp = await rawExchange(gw.port(), "GET /ws/plain HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.match(refusedHttp.text, /^HTTP\/1\.1 503 /);
    assert.deepEqual(of("holdfast:admission:refused").map((m) => [m.plane === data, m.listener, nameOf(m.backend), nameOf(m.server), m.websocket]), [
      [true, "web", "ws", "w1", true],
      [true, "web", "ws", "w1", false],
    ]);

    // holdfast:admin:action — through the admin API.
    const put = await adminRequest(admin.url, "PUT", "/api/backends/app/servers/a1/weight", { token: TOKEN, body: '{"weight":7}' });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(of("holdfast:admin:action").map((m) => [m.control === control, m.backend, m.server, m.action, m.weight]), [[true, "app", "a1", "weight", 7]]);

    // holdfast:reload — app's server weight changes; nothing else.
    const next = loadConfig(yaml(2), { env: {}, baseDir: process.cwd() });
    assert.ok(next.ok);
    await gw.gw.reload(next.config);
    assert.deepEqual(of("holdfast:reload").map((m) => [m.control === control, m.listeners, m.backends, m.needsRestart]), [
      [true, { added: [], removed: [], changed: [] }, { added: [], removed: [], changed: ["app"] }, []],
    ]);

    // Every message of every channel has exactly the fields its row documents.
    for (const [name, fields] of channels) {
      const messages = seen.get(name)!;
      assert.ok(messages.length > 0, `${name} was published`);
      for (const m of messages) assert.deepEqual(Object.keys(m).sort(), fields, `the fields of a ${name} message`);
    }
  } finally {
    for (const off of listeners) off();
    await admin.close();
    await gw.close();
    await Promise.all([app.close(), ws.close(), echo.close()]);
  }
});
