import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer, type WebSocket as WsSocket } from "ws";

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
export async function wsServer(onConnection?: (ws: WsSocket, req: IncomingMessage) => void, opts: { protocols?: string[]; port?: number } = {}): Promise<WsTestServer> {
  const sockets: WsSocket[] = [];
  const requests: IncomingMessage[] = [];
  const raw = new Set<Socket>();
  let http: Server;
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (opts.protocols ? (opts.protocols.find((p) => offered.has(p)) ?? false) : (offered.values().next().value ?? false)),
  });
  const listen = async (port: number) => {
    http = createServer();
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
 * Polls `fn` every 20 ms until it returns something other than undefined/false;
 * rejects after `ms` with `what`.
 *
 * @example
 * await waitFor("3 connections", () => srv.sockets.length >= 3);
 */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
