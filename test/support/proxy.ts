// A server that reads the PROXY header a gateway sends (backends.*.proxyProtocol), as a
// real backend behind it would, then hands the connection on.
import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { PROXY_NEED_MORE, ProxyHeader, parseProxyHeader } from "../../src/codec/proxy/header.ts";

/**
 * Listens on port 0; for each connection, parses the PROXY header (failing loudly on a
 * bad one) and calls `next` with the header and the bytes that came after it (the
 * connection is paused, its own listeners removed).
 */
export async function proxyReadingServer(next: (raw: Socket, header: ProxyHeader, rest: Buffer) => void): Promise<{ port: number; server: Server }> {
  const server = createServer((raw: Socket) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const h = new ProxyHeader();
      const n = parseProxyHeader(buf, buf.length, h);
      if (n === PROXY_NEED_MORE) return;
      if (n < 0) throw new Error(`the server got a bad PROXY header (${n}): ${buf.toString("hex")}`);
      raw.off("data", onData);
      raw.pause();
      next(raw, h, buf.subarray(n));
    };
    raw.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, server };
}
