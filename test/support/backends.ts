// Real servers for tests: HTTP and raw TCP backends on 127.0.0.1 port 0, a byte-level HTTP
// server, a refusing port, and a port that never accepts.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect as connectTcp, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { WebSocketServer } from "ws";
import { fixedPort } from "./ports.ts";

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

/**
 * A port that refuses connections: free, and out of the range listen(0) and outgoing
 * connections use (see {@link fixedPort}), so it still refuses when the test uses it.
 */
export function deadPort(): Promise<number> {
  return fixedPort();
}

/**
 * A WebSocket echo backend: greets every connection with `greeting` (default: its
 * name), echoes messages (text stays text), counts pongs; plain HTTP requests get
 * `http` (default: 200 with `x-served-by` and its name).
 */
export interface WsBackend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  readonly wss: WebSocketServer;
  /** Pongs received (answers to the gateway's pings reach the backend only when they are not its own). */
  pongs: number;
  close(): Promise<void>;
}

/** Starts a {@link WsBackend} on 127.0.0.1 port 0. */
export async function wsBackend(
  name: string,
  opts: { greeting?: string; http?: (req: IncomingMessage, res: ServerResponse) => void } = {},
): Promise<WsBackend> {
  const server = createHttpServer(opts.http ?? ((_req, res) => {
    res.setHeader("x-served-by", name);
    res.end(name);
  }));
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const b = { name, server, wss, pongs: 0 } as { -readonly [K in keyof WsBackend]: WsBackend[K] };
  wss.on("connection", (ws) => {
    ws.send(opts.greeting ?? name);
    ws.on("message", (d, binary) => ws.send(d, { binary }));
    ws.on("pong", () => b.pongs++);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  b.port = (server.address() as AddressInfo).port;
  b.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await closeServer(server);
  };
  return b as WsBackend;
}

/** One request as a {@link rawHttpBackend} read it. */
export interface RawRequest {
  readonly method: string;
  readonly url: string;
  /** The whole head, request line included. */
  readonly head: string;
  readonly body: string;
  /** Which accepted connection it came on (0 for the first) and its place on it (0 for the first). */
  readonly conn: number;
  readonly nth: number;
}

export interface RawHttpBackend {
  readonly port: number;
  /** TCP connections accepted. */
  connections: number;
  /** Every request received whole, in order. */
  readonly requests: RawRequest[];
  close(): Promise<void>;
}

/**
 * A byte-level HTTP/1.1 server for what `node:http` will not do: for each request
 * (Content-Length bodies only) `answer` returns the exact bytes to send, or `null` to
 * close the connection at once without a byte, after having read the whole request.
 * The connection stays open after an answer (no FIN) unless the answer's bytes say
 * otherwise and `answer` returns them with `close: true`.
 *
 * @example
 * // every connection serves one request; the next request on it breaks it
 * const b = await rawHttpBackend((r) => (r.nth === 0 ? okResponse("hi") : null));
 */
export async function rawHttpBackend(answer: (r: RawRequest) => string | Buffer | null | { bytes: string | Buffer; close: true }): Promise<RawHttpBackend> {
  const b = { connections: 0, requests: [] as RawRequest[] } as { -readonly [K in keyof RawHttpBackend]: RawHttpBackend[K] };
  const t = await tcpBackend((s) => {
    const conn = b.connections++;
    let nth = 0;
    let buf = Buffer.alloc(0);
    s.on("error", () => {});
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const he = buf.indexOf("\r\n\r\n");
        if (he < 0) return;
        const head = buf.subarray(0, he).toString("latin1");
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < he + 4 + len) return;
        const [method = "", url = ""] = head.split(" ");
        const r: RawRequest = { method, url, head, body: buf.subarray(he + 4, he + 4 + len).toString("latin1"), conn, nth: nth++ };
        buf = buf.subarray(he + 4 + len);
        b.requests.push(r);
        const out = answer(r);
        if (out === null) return void s.destroy();
        if (typeof out === "object" && "close" in out) return void s.end(out.bytes);
        s.write(out);
      }
    });
  });
  b.port = t.port;
  b.close = t.close;
  return b as RawHttpBackend;
}

/** A 200 response with a Content-Length body, as bytes for {@link rawHttpBackend}. */
export function okResponse(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/**
 * A listening port that never accepts: a child process listens with a backlog of 1 and
 * blocks its event loop, and two connections made here fill the kernel's accept queue
 * (backlog + 1 on Linux). A further connect gets no SYN-ACK: it stays pending until the
 * connecting side gives up, which is what a `timeouts.connect` test needs.
 */
export async function unacceptingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const src = `const s = require("node:net").createServer();
    s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
      process.stdout.write(s.address().port + "\\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  const proc = spawn(process.execPath, ["-e", src], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(proc.stdout!, "data")) as [Buffer];
  const port = Number(line.toString().trim());
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = connectTcp(port, "127.0.0.1");
    s.on("error", () => {});
    fillers.push(s);
    await once(s, "connect");
  }
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      proc.kill("SIGKILL");
      if (proc.exitCode === null && proc.signalCode === null) await once(proc, "exit");
    },
  };
}
