import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

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
  /** llhttp error code (`HPE_*`) when it refused the bytes, else null. */
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

/** Starts the llhttp oracle server. */
export async function startOracle(): Promise<Oracle> {
  // Keyed by the client's local port, which is the server socket's remote port.
  const live = new Map<number, OracleResult>();
  const resultOf = (socket: Socket): OracleResult | undefined => live.get(socket.remotePort ?? -1);
  const record = (req: IncomingMessage, upgrade: boolean): OracleMessage | undefined => {
    const r = resultOf(req.socket);
    if (r === undefined) return undefined;
    const m: OracleMessage = {
      method: req.method ?? "", url: req.url ?? "", headers: pairs(req.rawHeaders), body: "", complete: false, upgrade,
    };
    r.messages.push(m);
    return m;
  };
  const server: Server = createServer({ requireHostHeader: true }, (req, res) => {
    const m = record(req, false);
    req.on("data", (d: Buffer) => {
      if (m !== undefined) m.body += d.toString("latin1");
    });
    req.on("end", () => {
      if (m !== undefined) m.complete = true;
      res.end("ok");
    });
    req.on("error", () => {});
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const r = resultOf(socket);
    if (r !== undefined && r.error === null) r.error = err.code ?? "ERR";
    socket.destroy();
  });
  const opaque = (req: IncomingMessage, socket: Socket): void => {
    const m = record(req, true);
    if (m !== undefined) m.complete = true;
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
