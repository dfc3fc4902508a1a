import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import { waitFor as waitForEvery } from "./wait.ts";

export { within } from "./wait.ts";

/**
 * Test support for the client SDK: a real `ws` server on 127.0.0.1 port 0 that a test
 * can script (close with a code, go silent, refuse), and waits that fail with a message
 * instead of hanging.
 *
 * @example
 * const srv = await wsServer((ws) => ws.on("message", (m) => ws.send(m)));
 * const ws = new ReconnectingWebSocket(srv.url);
 * await nextEvent(ws, "open");
 */

export interface WsTestServer {
  readonly port: number;
  readonly url: string;
  readonly wss: WebSocketServer;
  /** Every connection accepted so far, in order. */
  readonly sockets: WsSocket[];
  /** The request of each accepted connection. */
  readonly requests: IncomingMessage[];
  /** Stops listening and drops every connection (a dead node). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/** A `ws` server; `onConnection` scripts each connection (default: echo). */
export async function wsServer(
  onConnection?: (ws: WsSocket, req: IncomingMessage) => void,
  opts: { protocols?: string[]; port?: number; onRequest?: (req: IncomingMessage, res: ServerResponse) => void } = {},
): Promise<WsTestServer> {
  const sockets: WsSocket[] = [];
  const requests: IncomingMessage[] = [];
  const raw = new Set<Socket>();
  let http: Server;
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (opts.protocols ? (opts.protocols.find((p) => offered.has(p)) ?? false) : (offered.values().next().value ?? false)),
  });
  const listen = async (port: number) => {
    http = createServer(opts.onRequest ?? ((_req, res) => res.writeHead(404).end()));
    http.on("connection", (s) => {
      raw.add(s);
      s.on("close", () => raw.delete(s));
    });
    http.on("upgrade", (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.push(ws);
        requests.push(req);
        if (onConnection) onConnection(ws, req);
        else ws.on("message", (m, binary) => ws.send(m, { binary }));
      });
    });
    http.listen(port, "127.0.0.1");
    await once(http, "listening");
    return (http.address() as AddressInfo).port;
  };
  const port = await listen(opts.port ?? 0);
  const stop = async () => {
    for (const s of raw) s.destroy();
    await new Promise<void>((r) => http.close(() => r()));
  };
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    wss,
    sockets,
    requests,
    kill: stop,
    revive: async () => void (await listen(port)),
    close: async () => {
      await stop().catch(() => {});
      wss.close();
    },
  };
}

/**
 * Resolves with the next `type` event of `target`, or rejects after `ms` naming it.
 *
 * @example
 * const e = await nextEvent<CloseEvent>(ws, "close", 2000);
 */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string, ms = 5000): Promise<E> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      target.removeEventListener(type, on);
      reject(new Error(`no "${type}" event within ${ms} ms`));
    }, ms);
    const on = (e: Event) => {
      clearTimeout(t);
      target.removeEventListener(type, on);
      resolve(e as E);
    };
    target.addEventListener(type, on);
  });
}

/**
 * `waitFor` of `wait.ts` polling every 20 ms, the pace these client tests were
 * written with.
 *
 * @example
 * await waitFor("3 connections", () => srv.sockets.length >= 3);
 */
export function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000): Promise<T> {
  return waitForEvery(what, fn, ms, 20);
}

/** One connection to a {@link scriptedHub}, WebSocket or SSE. */
export interface ScriptedConn {
  readonly transport: "websocket" | "sse";
  /** Every message the client sent on it, parsed. */
  readonly received: Record<string, unknown>[];
  /** Sends one hub message. */
  send(m: Record<string, unknown>): void;
  /** Ends it like the hub would (a close frame, or a `disconnect` event over SSE). */
  close(code: number, reason: string): void;
  /** Drops it without a word (a dead node). */
  destroy(): void;
}

export interface ScriptedHub {
  readonly url: string;
  readonly port: number;
  /** Every connection, in order. */
  readonly conns: ScriptedConn[];
  /** Answer `GET /sse` with this status (and `Retry-After`) instead of a stream, while set. */
  refuseSse: { status: number; retryAfter?: string } | null;
  /** Refuse WebSocket upgrades (as a proxy that blocks them would) while true. */
  refuseWebSocket: boolean;
  /** Stops listening and drops every connection. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A peer that speaks `holdfast.v1` over WebSocket and SSE as a test scripts it:
 * `onCommand` sees every client message and answers (or not). For testing the client's
 * side of the protocol, including what a correct hub never does (a hole in offsets);
 * the hub's own behaviour is tested against the real hub.
 *
 * @example
 * const hub = await scriptedHub((c, m) => { if (m.type === "connect") c.send({ id: m.id, type: "connected", ... }); });
 */
export async function scriptedHub(onCommand: (c: ScriptedConn, m: Record<string, unknown>) => void): Promise<ScriptedHub> {
  const conns: ScriptedConn[] = [];
  const sessions = new Map<string, ScriptedConn>();
  let seq = 0;
  const hub = { refuseSse: null, refuseWebSocket: false } as { refuseSse: ScriptedHub["refuseSse"]; refuseWebSocket: boolean };
  const take = (c: ScriptedConn, m: Record<string, unknown>) => {
    c.received.push(m);
    onCommand(c, m);
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "GET" && path === "/sse") {
      if (hub.refuseSse !== null) {
        res.writeHead(hub.refuseSse.status, hub.refuseSse.retryAfter !== undefined ? { "retry-after": hub.refuseSse.retryAfter } : {}).end("refused");
        return;
      }
      const id = `s${++seq}`;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      const write = (m: Record<string, unknown>) => res.write(`data: ${JSON.stringify(m)}\n\n`);
      const c: ScriptedConn = {
        transport: "sse",
        received: [],
        send: write,
        close: (code, reason) => {
          write({ type: "disconnect", code, reason });
          sessions.delete(id);
          res.end();
        },
        destroy: () => {
          sessions.delete(id);
          res.destroy();
        },
      };
      sessions.set(id, c);
      conns.push(c);
      write({ type: "session", session: id });
      return;
    }
    if (req.method === "POST" && path === "/send") {
      const c = sessions.get(String(req.headers["x-holdfast-session"]));
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        if (c === undefined) return void res.writeHead(404).end("unknown session");
        res.writeHead(202).end();
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> | Record<string, unknown>[];
        for (const m of Array.isArray(body) ? body : [body]) take(c, m);
      });
      return;
    }
    res.writeHead(404).end();
  };
  const srv = await wsServer((ws) => {
    if (hub.refuseWebSocket) return ws.terminate();
    const c: ScriptedConn = {
      transport: "websocket",
      received: [],
      send: (m) => ws.send(JSON.stringify(m)),
      close: (code, reason) => ws.close(code, reason),
      destroy: () => ws.terminate(),
    };
    conns.push(c);
    ws.on("message", (data) => take(c, JSON.parse(String(data)) as Record<string, unknown>));
  }, { protocols: ["holdfast.v1"], onRequest });
  return Object.assign(hub, {
    url: `${srv.url}connect`,
    port: srv.port,
    conns,
    kill: async () => {
      for (const c of sessions.values()) c.destroy();
      await srv.kill();
    },
    revive: srv.revive,
    close: async () => {
      for (const c of sessions.values()) c.destroy();
      await srv.close();
    },
  });
}

