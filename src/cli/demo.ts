import { randomBytes } from "node:crypto";
import { startAdmin, type AdminServer } from "../admin/server.ts";
import { loadConfig } from "../config/load.ts";
import { startEchoServer, startSseServer, startWsEchoServer, type DemoServer } from "./demo/backends.ts";
import { startDemoChat, type DemoChat } from "./demo/chat.ts";
import { Gateway } from "../control/gateway.ts";
import { createLogger } from "../log.ts";
import { untilSignal } from "./signals.ts";

/** The demo's config: the same YAML a user would write, with the backends' ports filled in. */
export function demoConfigYaml(port: number, host: string, echo: DemoServer[], sse: DemoServer, ws: DemoServer, chat?: { app: DemoServer; hubPort: number }): string {
  const hubRoutes = chat === undefined ? "" : `
      - { match: { pathPrefix: /chat }, backend: chat }
      - { match: { pathPrefix: /connect }, backend: hub }
      - { match: { pathPrefix: /sse }, backend: hub }
      - { match: { pathPrefix: /send }, backend: hub }`;
  const hubBackends = chat === undefined ? "" : `
  chat:
    servers: [ { name: ${chat.app.name}, address: 127.0.0.1:${chat.app.port} } ]
  hub:
    servers: [ { name: demo-hub, address: 127.0.0.1:${chat.hubPort} } ]`;
  return `
admin: { listen: 127.0.0.1:0 }
workers: 1
listeners:
  - name: demo
    mode: http
    listen: ${host}:${port}
    routes:
      - { match: { pathPrefix: /events }, backend: sse }
      - { match: { pathPrefix: /ws }, backend: ws }${hubRoutes}
      - { backend: echo }
backends:
  echo:
    balance: round-robin
    servers:
${echo.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
  sse:
    servers: [ { name: ${sse.name}, address: 127.0.0.1:${sse.port} } ]
  ws:
    servers: [ { name: ${ws.name}, address: 127.0.0.1:${ws.port} } ]${hubBackends}
`;
}

/**
 * A running demo: the gateway's address and everything behind it.
 *
 * @example
 * const demo = await startDemo(0);
 * await fetch(`${demo.url}/chat`);
 * await demo.close();
 */
export interface Demo {
  /** `http://host:port` of the gateway. */
  readonly url: string;
  readonly gateway: Gateway;
  readonly admin: AdminServer;
  readonly adminNote: string;
  /** The token of both dashboards (handed over in the URL fragment). */
  readonly token: string;
  readonly chat: DemoChat;
  close(): Promise<void>;
}

/**
 * Starts the demo: five backends, a hub with the chat app, the gateway in front of them
 * on `host:port`, and the dashboards (gateway on 127.0.0.1:9900, hub on :9901, or free
 * ports when taken). Rejects when the gateway cannot listen (after stopping the rest).
 *
 * @example
 * const demo = await startDemo(8080);
 */
export async function startDemo(port: number, host = "127.0.0.1", opts: { adminPorts?: "fixed" | "any" } = {}): Promise<Demo> {
  const fixed = opts.adminPorts !== "any";
  // A fresh token per run, handed to the dashboards in the URL fragment (never sent to
  // the server; the pages move it to sessionStorage and clear the address bar).
  const token = randomBytes(12).toString("base64url");
  const echo = await Promise.all([startEchoServer("echo-1"), startEchoServer("echo-2"), startEchoServer("echo-3")]);
  const sse = await startSseServer("sse-1");
  const ws = await startWsEchoServer("ws-1");
  const chat = await startDemoChat({ adminPort: fixed ? 9901 : 0, adminToken: token });
  const all = [...echo, sse, ws];
  const stopAll = async () => {
    await chat.close();
    await Promise.all(all.map((s) => s.close()));
  };
  const loaded = loadConfig(demoConfigYaml(port, host, echo, sse, ws, { app: chat.app, hubPort: chat.hub.address.port }), { env: {}, baseDir: process.cwd() });
  if (!loaded.ok) throw new Error(`demo config invalid: ${loaded.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  const gw = new Gateway(loaded.config, createLogger("demo", process.env.HOLDFAST_LOG ?? "warn"));
  try {
    await gw.start();
  } catch (err) {
    await stopAll();
    throw err;
  }
  const a = gw.address("demo");
  // The dashboard lives on 127.0.0.1:9900 (DESIGN §1); a second demo, or anything else
  // on that port, must not stop this one: fall back to a free port and say which.
  let admin: AdminServer;
  let adminNote = "";
  try {
    admin = await startAdmin(gw, { listen: { host: "127.0.0.1", port: fixed ? 9900 : 0 }, token });
  } catch {
    admin = await startAdmin(gw, { listen: { host: "127.0.0.1", port: 0 }, token });
    adminNote = " (port 9900 was taken)";
  }
  return {
    url: `http://${a.address}:${a.port}`,
    gateway: gw,
    admin,
    adminNote,
    token,
    chat,
    close: async () => {
      admin.setStopping();
      await gw.stop();
      await admin.close();
      await stopAll();
    },
  };
}

/**
 * `holdfast` with no arguments: three HTTP echo servers, an SSE ticker, a WebSocket
 * echo and a hub with a chat app behind a gateway, all in this process. Nothing to
 * install, no config.
 */
export async function runDemo(port: number, host = "127.0.0.1"): Promise<number> {
  let demo: Demo;
  try {
    demo = await startDemo(port, host);
  } catch (err) {
    process.stderr.write(`holdfast demo: cannot listen on ${host}:${port}: ${(err as Error).message}\n(try: npm start -- --port 8081)\n`);
    return 1;
  }
  const base = demo.url.slice("http://".length);
  const { admin, adminNote, token, chat } = demo;
  process.stdout.write(`
holdfast demo: a gateway on http://${base} in front of 5 built-in backends and a realtime hub

  Realtime chat through the gateway and the hub (open it in two browser tabs):
    http://${base}/chat${chat.bundle ? "" : "\n    (the browser SDK is not built yet: run npm run build:browser, then reload)"}
  The hub's dashboard (connections, channels, offsets, recoveries) and its metrics:
    ${chat.hub.adminUrl}/#token=${token}
    curl -s ${chat.hub.adminUrl}/metrics

  Dashboard${adminNote}, with its drain/enable/weight buttons unlocked:
    ${admin.url}/#token=${token}
  The same table in the terminal, and the Prometheus metrics:
    holdfast status --admin ${admin.url}     (or: npm start -- status --admin ${admin.url})
    curl -s ${admin.url}/metrics

  HTTP echo, round-robin over echo-1, echo-2, echo-3 (run it a few times):
    curl -s http://${base}/hello

  Server-sent events, one per second, streamed event by event through the gateway:
    curl -N http://${base}/events

  WebSocket echo (type a line, get it back):
    npx wscat -c ws://${base}/ws
    node -e "const w=new WebSocket('ws://${base}/ws');w.onmessage=e=>console.log(e.data);w.onopen=()=>w.send('hi')"

  A request the gateway refuses (both Content-Length and Transfer-Encoding):
    curl -s http://${base}/ -H 'Content-Length: 3' -H 'Transfer-Encoding: chunked' -d abc

Press Ctrl-C to stop.
`);
  await untilSignal();
  await demo.close();
  return 0;
}
