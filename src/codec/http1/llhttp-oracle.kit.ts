import { once } from "node:events";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";

/**
 * Test support: llhttp as an oracle. A `node:http` server (llhttp in its default strict
 * mode, never `insecureHTTPParser`) on 127.0.0.1 port 0 records what it made of raw
 * bytes sent over one short-lived `node:net` connection: every message it accepted
 * (method, url, raw header pairs, decoded body, whether the body ended) and the error
 * that made it stop, if any. Used by the differential and fuzz tests only.
 *
 * @example
 * const oracle = await startOracle();
 * const seen = await oracle.send(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "latin1"));
 * seen.messages[0]?.url; // "/"
 * await oracle.close();
 */

/** One message llhttp accepted. */
export interface OracleMessage {
  method: string;
  url: string;
  /** Header name/value pairs in wire order, as llhttp reported them. */
  headers: [string, string][];
  /** Decoded body (latin1), as delivered so far. */
  body: string;
  /** The body ended where llhttp thinks the message ends. */
  complete: boolean;
  /** llhttp switched protocols after this head (Upgrade or CONNECT): the rest is opaque. */
  upgrade: boolean;
}

/** What llhttp made of one connection's bytes. */
export interface OracleResult {
  messages: OracleMessage[];
  /** llhttp error code (`HPE_*`) when it refused the bytes, else null (also when the input ended mid-message). */
  error: string | null;
  /** The first bytes of what the server answered (a refusal without an error event shows as 400 here). */
  response: string;
}

export interface Oracle {
  send(bytes: Buffer): Promise<OracleResult>;
  /** Sends several inputs, `concurrency` connections at a time; results in input order. */
  sendAll(inputs: readonly Buffer[], concurrency?: number): Promise<OracleResult[]>;
  close(): Promise<void>;
}

const CASE_TIMEOUT_MS = 3000;

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/**
 * Starts the llhttp oracle server (request mode).
 *
 * @example
 * const oracle = await startOracle();
 * const [a, b] = await oracle.sendAll([bytesA, bytesB]);
 */
export async function startOracle(): Promise<Oracle> {
  // Keyed by the client's local port, which is the server socket's remote port.
  const live = new Map<number, OracleResult>();
  // `req.complete` is set by llhttp's message-complete callback, synchronously; the
  // 'end' event comes a tick later and is lost when an error destroys the socket first.
  const requests = new Map<OracleMessage, IncomingMessage>();
  const resultOf = (socket: Socket): OracleResult | undefined => live.get(socket.remotePort ?? -1);
  const record = (req: IncomingMessage, upgrade: boolean): OracleMessage | undefined => {
    const r = resultOf(req.socket);
    if (r === undefined) return undefined;
    const m: OracleMessage = {
      method: req.method ?? "", url: req.url ?? "", headers: pairs(req.rawHeaders), body: "", complete: upgrade, upgrade,
    };
    r.messages.push(m);
    if (!upgrade) requests.set(m, req);
    return m;
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const m = record(req, false);
    req.on("data", (d: Buffer) => {
      if (m !== undefined) m.body += d.toString("latin1");
    });
    req.on("end", () => res.end("ok"));
    req.on("error", () => {});
  };
  const server: Server = createServer({ requireHostHeader: true }, onRequest);
  // Without a listener Node answers an unknown Expect with 417 itself: not llhttp's doing.
  server.on("checkExpectation", onRequest);
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const r = resultOf(socket);
    // The client's EOF inside a message is where our test input ends, not a refusal.
    if (r !== undefined && r.error === null && err.code !== "HPE_INVALID_EOF_STATE") r.error = err.code ?? "ERR";
    socket.destroy();
  });
  const opaque = (req: IncomingMessage, socket: Socket): void => {
    record(req, true);
    socket.destroy();
  };
  server.on("upgrade", opaque);
  server.on("connect", opaque);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;

  const send = (bytes: Buffer): Promise<OracleResult> =>
    new Promise((resolve) => {
      const result: OracleResult = { messages: [], error: null, response: "" };
      const socket = connect(port, "127.0.0.1");
      let localPort = -1;
      const timer = setTimeout(() => socket.destroy(), CASE_TIMEOUT_MS);
      socket.on("connect", () => {
        localPort = socket.localPort ?? -1;
        live.set(localPort, result);
        socket.end(bytes);
      });
      socket.on("data", (d: Buffer) => {
        if (result.response.length < 64) result.response += d.toString("latin1", 0, 64);
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        clearTimeout(timer);
        // Let the server side finish its bookkeeping for this connection.
        setImmediate(() => {
          live.delete(localPort);
          for (const m of result.messages) {
            const req = requests.get(m);
            if (req === undefined) continue;
            m.complete = req.complete;
            requests.delete(m);
          }
          resolve(result);
        });
      });
    });

  const sendAll = async (inputs: readonly Buffer[], concurrency = 8): Promise<OracleResult[]> => {
    const out = new Array<OracleResult>(inputs.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < inputs.length) {
        const i = next++;
        out[i] = await send(inputs[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
    return out;
  };

  const close = async (): Promise<void> => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  };
  return { send, sendAll, close };
}

/** What llhttp, as Node's HTTP client, made of one response. */
export interface OracleResponse {
  /** Final status, 0 when refused before one was read. */
  status: number;
  headers: [string, string][];
  /** Decoded body (latin1) as delivered. */
  body: string;
  /** llhttp found the end of the body. */
  complete: boolean;
  /** Error code (`HPE_*`, `ECONNRESET`, ...) when the response was refused or cut, else null. */
  error: string | null;
}

export interface ResponseOracle {
  /** Sends several raw responses, one per request on its own connection; results in input order. */
  sendAll(responses: readonly Buffer[], concurrency?: number): Promise<OracleResponse[]>;
  close(): Promise<void>;
}

/**
 * llhttp in response mode: a `node:net` server answers the n-th request (`GET /n`)
 * with the n-th raw response, then half-closes; a `node:http` client records what it
 * read.
 *
 * @example
 * const oracle = await startResponseOracle();
 * const [r] = await oracle.sendAll([Buffer.from("HTTP/1.1 204\r\n\r\n")]);
 * r?.status; // 204
 */
export async function startResponseOracle(): Promise<ResponseOracle> {
  const payloads = new Map<number, Buffer>();
  let nextId = 0;
  const server = createNetServer((socket) => {
    let seen = "";
    socket.on("error", () => {});
    const onData = (d: Buffer): void => {
      seen += d.toString("latin1");
      if (!seen.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      socket.resume(); // keep reading: unread bytes at close would turn it into a reset
      const id = Number(/^GET \/(\d+) /.exec(seen)?.[1] ?? -1);
      socket.end(payloads.get(id) ?? Buffer.alloc(0));
    };
    socket.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;

  const send = (bytes: Buffer): Promise<OracleResponse> =>
    new Promise((resolve) => {
      const id = nextId++;
      payloads.set(id, bytes);
      const r: OracleResponse = { status: 0, headers: [], body: "", complete: false, error: null };
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        payloads.delete(id);
        resolve(r);
      };
      let response: IncomingMessage | undefined;
      const req = request({ host: "127.0.0.1", port, path: `/${id}`, agent: false }, (res) => {
        response = res;
        r.status = res.statusCode ?? 0;
        r.headers = pairs(res.rawHeaders);
        res.on("data", (d: Buffer) => (r.body += d.toString("latin1")));
        res.on("end", () => {
          r.complete = res.complete;
          finish();
        });
        res.on("error", (err: NodeJS.ErrnoException) => {
          r.error ??= err.code ?? "ERR";
          finish();
        });
        res.on("close", () => setImmediate(finish));
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        // Bytes after a complete response are refused as the next one: not this response's fault.
        if (response?.complete !== true) r.error ??= err.code ?? "ERR";
        setImmediate(finish);
      });
      req.end();
      const timer = setTimeout(() => {
        r.error ??= "TIMEOUT";
        req.destroy();
        finish();
      }, CASE_TIMEOUT_MS);
    });

  const sendAll = async (inputs: readonly Buffer[], concurrency = 8): Promise<OracleResponse[]> => {
    const out = new Array<OracleResponse>(inputs.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < inputs.length) {
        const i = next++;
        out[i] = await send(inputs[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
    return out;
  };

  const close = async (): Promise<void> => {
    server.close();
    await once(server, "close");
  };
  return { sendAll, close };
}
