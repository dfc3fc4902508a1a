/**
 * Test support for the ClientHello peek: real ClientHellos captured from Node's TLS
 * client (OpenSSL), a builder for hand-made ones, and re-framing of a handshake
 * message into several records.
 *
 * @example
 * const hello = await captureClientHello({ servername: "db.example.com", ALPNProtocols: ["h2"] });
 * const split = reframe(hello, [7, 100]); // the same message in three records
 */
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { connect, type ConnectionOptions } from "node:tls";

/** The first flight of a real TLS client (a ClientHello record), captured on loopback. */
export async function captureClientHello(opts: ConnectionOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let done!: () => void;
  let fail!: (e: Error) => void;
  const got = new Promise<void>((resolve, reject) => ((done = resolve), (fail = reject)));
  const server = createServer((s) => {
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      const b = Buffer.concat(chunks);
      if (b.length >= 5 && b.length >= 5 + b.readUInt16BE(3)) {
        done();
        s.destroy();
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const c = connect({ ...opts, host: "127.0.0.1", port, rejectUnauthorized: false });
  // Once the hello is in, the server's destroy makes the client fail: too late to matter.
  // Before it, an error or a close would leave the capture waiting for ever: fail instead.
  c.on("error", (e) => fail(new Error(`the TLS client failed before its ClientHello was captured: ${e.message}`)));
  c.on("close", () => fail(new Error("the TLS client closed before its ClientHello was captured")));
  try {
    await got;
  } finally {
    c.destroy();
    server.close();
  }
  return Buffer.concat(chunks);
}

/** Extension bytes: type, then data. */
export function ext(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}

/** The server_name extension data for `names` (each `[type, bytes]`). */
export function sniData(names: readonly (readonly [number, string])[]): Buffer {
  const entries = names.map(([t, n]) => {
    const b = Buffer.from(n, "latin1");
    const h = Buffer.alloc(3);
    h[0] = t;
    h.writeUInt16BE(b.length, 1);
    return Buffer.concat([h, b]);
  });
  const list = Buffer.concat(entries);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(list.length);
  return Buffer.concat([len, list]);
}

/** The ALPN extension data for `protocols`. */
export function alpnData(protocols: readonly string[]): Buffer {
  const list = Buffer.concat(protocols.map((p) => Buffer.concat([Buffer.of(p.length), Buffer.from(p, "latin1")])));
  const len = Buffer.alloc(2);
  len.writeUInt16BE(list.length);
  return Buffer.concat([len, list]);
}

/** A ClientHello record with `extensions` (undefined: no extensions block at all). */
export function buildClientHello(extensions: readonly Buffer[] | undefined): Buffer {
  const parts = [Buffer.of(0x03, 0x03), Buffer.alloc(32, 7), Buffer.of(0), Buffer.of(0x00, 0x02, 0x13, 0x01), Buffer.of(1, 0)];
  if (extensions !== undefined) {
    const all = Buffer.concat(extensions);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(all.length);
    parts.push(len, all);
  }
  const body = Buffer.concat(parts);
  const hs = Buffer.alloc(4);
  hs[0] = 1;
  hs.writeUIntBE(body.length, 1, 3);
  return record(Buffer.concat([hs, body]));
}

/** One handshake record around `payload`. */
export function record(payload: Buffer): Buffer {
  const h = Buffer.of(0x16, 0x03, 0x01, 0, 0);
  h.writeUInt16BE(payload.length, 3);
  return Buffer.concat([h, payload]);
}

/** The handshake bytes of a single-record hello re-framed into records cut at `cuts`. */
export function reframe(hello: Buffer, cuts: readonly number[]): Buffer {
  const payload = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, payload.length]) {
    if (c <= from) continue;
    out.push(record(payload.subarray(from, c)));
    from = c;
  }
  return Buffer.concat(out);
}
