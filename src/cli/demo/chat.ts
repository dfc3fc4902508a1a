import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";
import { Hub } from "../../hub/hub.ts";
import { loadHubConfig } from "../../hub/config/load.ts";
import { createLogger } from "../../log.ts";
import { CHAT_PAGE_HTML } from "./chat-page.ts";
import type { DemoServer } from "./backends.ts";

/**
 * The demo's realtime part: a hub (memory broker) and the chat application in front of
 * it, the way an app would do it — the app serves the page and hands out tokens signed
 * with the hub's secret (`sub` = the chosen name, `channels: ["chat:*"]`), the browser
 * talks to the hub itself through the gateway.
 *
 * @example
 * const chat = await startDemoChat();
 * // gateway routes: /chat -> chat.app.port, /connect /sse /send -> chat.hub.address.port
 * await chat.close();
 */
export interface DemoChat {
  readonly hub: Hub;
  /** The chat application: `/chat`, `/chat/token`, `/chat/recent`, `/chat/holdfast-client.js`. */
  readonly app: DemoServer;
  /** Whether the browser SDK bundle was found (`npm run build:browser` makes it). */
  readonly bundle: boolean;
  close(): Promise<void>;
}

/** The browser bundle, beside this file once compiled (dist/cli/demo → dist/browser) or in a checkout's dist/. */
function readBundle(): string | undefined {
  for (const rel of ["../../browser/holdfast-client.js", "../../../dist/browser/holdfast-client.js"]) {
    const path = new URL(rel, import.meta.url);
    if (existsSync(path)) return readFileSync(path, "utf8");
  }
  return undefined;
}

/** A name as a token `sub`: letters, digits and a few marks, at most 32. */
function cleanName(raw: string | null): string | undefined {
  const name = (raw ?? "").trim().slice(0, 32);
  return /^[\p{L}\p{N} ._-]+$/u.test(name) ? name : undefined;
}

/**
 * Starts the hub and the chat app on 127.0.0.1 (ephemeral ports; the hub's admin on
 * `adminPort`, or any free port when that one is taken).
 *
 * @example
 * const chat = await startDemoChat({ adminPort: 9901, adminToken: "t" });
 */
export async function startDemoChat(opts: { adminPort?: number; adminToken?: string } = {}): Promise<DemoChat> {
  const secret = randomBytes(32).toString("base64url");
  const key = new TextEncoder().encode(secret);
  const yaml = (adminPort: number) => `
listen: 127.0.0.1:0
node: demo-hub
auth: { jwt: { secret: "${secret}" }, anonymous: true }
channels:
  - { match: "chat:*", history: { size: 1000, ttl: 1h }, presence: true, clientPublish: true }
  - { match: "*", history: { size: 100, ttl: 5m }, anonymous: true }
shutdown: { spread: 1s }
admin: { listen: 127.0.0.1:${adminPort}${opts.adminToken === undefined ? "" : `, token: "${opts.adminToken}"`} }
`;
  const log = createLogger("demo-hub", process.env.HOLDFAST_LOG ?? "warn");
  const start = async (port: number) => {
    const r = loadHubConfig(yaml(port), { env: {}, baseDir: process.cwd() });
    if (!r.ok) throw new Error(`demo hub config invalid: ${r.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
    const hub = new Hub(r.config, { log });
    await hub.start();
    return hub;
  };
  let hub: Hub;
  try {
    hub = await start(opts.adminPort ?? 0);
  } catch {
    hub = await start(0);
  }
  const bundle = readBundle();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://demo");
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
      res.end(body);
    };
    if (url.pathname === "/chat" || url.pathname === "/chat/") return send(200, "text/html; charset=utf-8", CHAT_PAGE_HTML);
    if (url.pathname === "/chat/holdfast-client.js") {
      if (bundle === undefined) return send(404, "text/plain; charset=utf-8", "the browser bundle is not built: npm run build:browser\n");
      return send(200, "text/javascript; charset=utf-8", bundle);
    }
    if (url.pathname === "/chat/token") {
      const name = cleanName(url.searchParams.get("name"));
      if (name === undefined) return send(400, "text/plain; charset=utf-8", "name: 1 to 32 letters, digits, spaces, '.', '_' or '-'\n");
      void new SignJWT({ channels: ["chat:*"] }).setProtectedHeader({ alg: "HS256" }).setSubject(name).setIssuedAt().setExpirationTime("15m").sign(key).then((jwt) => send(200, "text/plain; charset=utf-8", jwt));
      return;
    }
    if (url.pathname === "/chat/recent") {
      void hub.history("chat:lobby", { limit: 50 }).then(
        (h) => send(200, "application/json", JSON.stringify({ publications: h.publications.slice(-50) })),
        (err: unknown) => send(503, "application/json", JSON.stringify({ error: (err as Error).message })),
      );
      return;
    }
    send(404, "text/plain; charset=utf-8", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const app: DemoServer = {
    name: "chat-1",
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return {
    hub,
    app,
    bundle: bundle !== undefined,
    close: async () => {
      await hub.stop();
      await app.close();
    },
  };
}
