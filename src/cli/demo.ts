import { randomBytes } from "node:crypto";
import { startAdmin, type AdminServer } from "../admin/server.ts";
import { loadConfig } from "../config/load.ts";
import { startEchoServer, startSseServer, startWsEchoServer, type DemoServer } from "./demo/backends.ts";
import { Gateway } from "../control/gateway.ts";
import { createLogger } from "../log.ts";
import { untilSignal } from "./signals.ts";

/** The demo's config: the same YAML a user would write, with the backends' ports filled in. */
export function demoConfigYaml(port: number, host: string, echo: DemoServer[], sse: DemoServer, ws: DemoServer): string {
  return `
admin: { listen: 127.0.0.1:0 }
workers: 1
listeners:
  - name: demo
    mode: http
    listen: ${host}:${port}
    routes:
      - { match: { pathPrefix: /events }, backend: sse }
      - { match: { pathPrefix: /ws }, backend: ws }
      - { backend: echo }
backends:
  echo:
    balance: round-robin
    servers:
${echo.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
  sse:
    servers: [ { name: ${sse.name}, address: 127.0.0.1:${sse.port} } ]
  ws:
    servers: [ { name: ${ws.name}, address: 127.0.0.1:${ws.port} } ]
`;
}

/**
 * `holdfast` with no arguments: three HTTP echo servers, an SSE ticker and a WebSocket
 * echo behind a gateway, all in this process. Nothing to install, no config.
 */
export async function runDemo(port: number, host = "127.0.0.1"): Promise<number> {
  const echo = await Promise.all([startEchoServer("echo-1"), startEchoServer("echo-2"), startEchoServer("echo-3")]);
  const sse = await startSseServer("sse-1");
  const ws = await startWsEchoServer("ws-1");
  const all = [...echo, sse, ws];
  const loaded = loadConfig(demoConfigYaml(port, host, echo, sse, ws), { env: {}, baseDir: process.cwd() });
  if (!loaded.ok) throw new Error(`demo config invalid: ${loaded.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  const gw = new Gateway(loaded.config, createLogger("demo", process.env.HOLDFAST_LOG ?? "warn"));
  try {
    await gw.start();
  } catch (err) {
    process.stderr.write(`holdfast demo: cannot listen on ${host}:${port}: ${(err as Error).message}\n(try: npm start -- --port 8081)\n`);
    await Promise.all(all.map((s) => s.close()));
    return 1;
  }
  const a = gw.address("demo");
  const base = `${a.address}:${a.port}`;
  // The dashboard lives on 127.0.0.1:9900 (DESIGN §1); a second demo, or anything else
  // on that port, must not stop this one: fall back to a free port and say which.
  // A fresh token per run, handed to the dashboard in the URL fragment (never sent to
  // the server; the page moves it to sessionStorage and clears the address bar).
  const token = randomBytes(12).toString("base64url");
  let admin: AdminServer;
  let adminNote = "";
  try {
    admin = await startAdmin(gw, { listen: { host: "127.0.0.1", port: 9900 }, token });
  } catch {
    admin = await startAdmin(gw, { listen: { host: "127.0.0.1", port: 0 }, token });
    adminNote = " (port 9900 was taken)";
  }
  process.stdout.write(`
holdfast demo: a gateway on http://${base} in front of 5 built-in backends

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
  admin.setStopping();
  await gw.stop();
  await admin.close();
  await Promise.all(all.map((s) => s.close()));
  return 0;
}
