// Servers that count what they see, for checking a client's statistics against the
// server's truth: TCP connections accepted, requests (HTTP/2: streams) received, and
// how many connections were open at once. HTTP, HTTPS (the test PKI) and HTTP/2 over
// TLS, on 127.0.0.1 port 0. The default handler answers "ok", after `?delay=ms`.
import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import https from "node:https";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import { testPki } from "./tls.ts";

export type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

export interface CountingServer {
  readonly port: number;
  /** `${scheme}://localhost:${port}` (a name, so the client does a DNS lookup). */
  readonly url: string;
  /** The same origin by IP literal (no DNS lookup). */
  readonly ipUrl: string;
  /** TCP connections accepted. */
  accepted: number;
  /** Requests received (HTTP/2: streams). */
  requests: number;
  /** Connections open now, and the most open at once. */
  open: number;
  maxOpen: number;
  /** Requests in progress at once, at most (HTTP/2: concurrent streams). */
  maxConcurrent: number;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

const respond: Handler = (req, res) => {
  const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
  const end = (): void => {
    req.resume();
    res.setHeader("content-type", "text/plain");
    res.end("ok");
  };
  if (delay > 0) setTimeout(end, delay);
  else end();
};

type Counted = (res: { once(e: "close", f: () => void): unknown }) => void;

function count(server: NetServer, scheme: string, onRequest: (counted: Counted) => void): Promise<CountingServer> {
  const s = { accepted: 0, requests: 0, open: 0, maxOpen: 0, maxConcurrent: 0, sockets: new Set<Socket>() } as { -readonly [K in keyof CountingServer]: CountingServer[K] };
  let inFlight = 0;
  server.on("connection", (sock: Socket) => {
    s.accepted++;
    s.open++;
    s.maxOpen = Math.max(s.maxOpen, s.open);
    s.sockets.add(sock);
    sock.once("close", () => {
      s.open--;
      s.sockets.delete(sock);
    });
  });
  onRequest((res) => {
    s.requests++;
    s.maxConcurrent = Math.max(s.maxConcurrent, ++inFlight);
    res.once("close", () => inFlight--);
  });
  server.listen(0, "127.0.0.1");
  return once(server, "listening").then(() => {
    s.port = (server.address() as AddressInfo).port;
    s.url = `${scheme}://localhost:${s.port}`;
    s.ipUrl = `${scheme}://127.0.0.1:${s.port}`;
    s.close = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const sock of s.sockets) sock.destroy();
      });
    return s as CountingServer;
  });
}

/** An HTTP/1.1 server, plain or over TLS; keep-alive 60 s unless `keepAliveTimeout`. */
export function h1Server(scheme: "http" | "https", handler: Handler = respond, keepAliveTimeout = 60_000): Promise<CountingServer> {
  const pki = testPki();
  const server = scheme === "https"
    ? https.createServer({ key: pki.key, cert: pki.cert, keepAliveTimeout })
    : http.createServer({ keepAliveTimeout });
  return count(server, scheme, (counted) => server.on("request", (req, res) => {
    counted(res);
    handler(req, res);
  }));
}

/** An HTTP/2 server over TLS (ALPN h2 only unless `allowHTTP1`). */
export function h2Server(handler: Handler = respond, allowHTTP1 = false): Promise<CountingServer> {
  const pki = testPki();
  const server = http2.createSecureServer({ key: pki.key, cert: pki.cert, allowHTTP1 });
  return count(server as unknown as NetServer, "https", (counted) => server.on("request", (req, res) => {
    counted(res);
    handler(req, res);
  }));
}
