import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { loadConfig } from "../src/config/load.ts";
import { Gateway } from "../src/gateway/gateway.ts";

/**
 * Test helpers: real servers on 127.0.0.1 port 0, a gateway built from YAML through the
 * real config loader, and raw-socket clients for byte-exact requests.
 */

export interface Backend {
  readonly port: number;
  readonly server: Server;
  /** TCP connections the backend accepted. */
  connections: number;
  /** Requests it received. */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** An HTTP backend; `handler` defaults to an echo naming `name`. */
export async function httpBackend(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Backend> {
  const b = { connections: 0, requests: [] as IncomingMessage[] } as { -readonly [K in keyof Backend]: Backend[K] };
  const server = createHttpServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    b.requests.push(req);
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.setHeader("x-served-by", name);
      res.end(`${name} ${req.method} ${req.url} ${Buffer.concat(chunks).length}`);
    });
  });
  server.on("connection", () => b.connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  b.server = server;
  b.port = (server.address() as AddressInfo).port;
  b.close = () => closeServer(server);
  return b as Backend;
}

export function closeServer(server: Server | NetServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ("closeAllConnections" in server) server.closeAllConnections();
  });
}

/** A raw TCP backend running `onSocket` for each connection. */
export async function tcpBackend(onSocket: (s: Socket) => void): Promise<{ port: number; close(): Promise<void>; server: NetServer }> {
  const sockets = new Set<Socket>();
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    onSocket(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return closeServer(server);
    },
  };
}

/** A port that refuses connections (bound then closed). */
export async function deadPort(): Promise<number> {
  const s = createNetServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as AddressInfo).port;
  await closeServer(s);
  return port;
}

export interface TestGateway {
  readonly gw: Gateway;
  port(listener?: string): number;
  close(): Promise<void>;
}

/** Loads `yaml` with the real loader (failing the test with every issue) and starts it. */
export async function startGateway(yaml: string): Promise<TestGateway> {
  const loaded = loadConfig(yaml, { env: {}, baseDir: process.cwd() });
  if (!loaded.ok) throw new Error(`test config invalid:\n${loaded.issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  const gw = new Gateway(loaded.config);
  await gw.start();
  return {
    gw,
    port: (listener = "web") => gw.address(listener).port,
    close: () => gw.stop(),
  };
}

/** The usual single-backend YAML: one http listener on port 0 in front of `servers`. */
export function simpleConfig(servers: { name: string; port: number }[], backendExtra = "", listenerExtra = ""): string {
  return `
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    routes: [ { backend: b } ]
${listenerExtra}
backends:
  b:
${backendExtra}
    servers:
${servers.map((s) => `      - { name: ${s.name}, address: 127.0.0.1:${s.port} }`).join("\n")}
`;
}

/** Sends raw bytes, returns everything received until the server closes (or `ms` passes). */
export async function rawExchange(port: number, data: string | Buffer, ms = 3000): Promise<{ text: string; closed: boolean }> {
  const s = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  s.write(data);
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.on("close", () => {
      clearTimeout(t);
      resolve(true);
    });
    s.on("error", () => {});
  });
  s.destroy();
  return { text: Buffer.concat(chunks).toString("latin1"), closed };
}

/** Opens a keep-alive raw connection; `request` writes bytes and resolves with one response. */
export function rawClient(port: number) {
  const s = connect(port, "127.0.0.1");
  s.setNoDelay(true);
  let buf = "";
  let waiter: (() => void) | null = null;
  s.on("data", (c: Buffer) => {
    buf += c.toString("latin1");
    waiter?.();
  });
  s.on("error", () => {});
  return {
    socket: s,
    /** Resolves with the next complete response that has a Content-Length body. */
    async request(data: string): Promise<string> {
      s.write(data);
      for (;;) {
        const he = buf.indexOf("\r\n\r\n");
        if (he >= 0) {
          const m = /content-length: *(\d+)/i.exec(buf.slice(0, he));
          const len = m ? Number(m[1]) : 0;
          if (buf.length >= he + 4 + len) {
            const res = buf.slice(0, he + 4 + len);
            buf = buf.slice(he + 4 + len);
            return res;
          }
        }
        await new Promise<void>((r) => (waiter = r));
        waiter = null;
      }
    },
    close() {
      s.destroy();
    },
  };
}
