/**
 * undici's own connector (`buildConnector`: TLS session cache, ALPN, connect timeout)
 * with a stopwatch: the DNS lookup, TCP connect and TLS handshake of each connection are
 * timed on the socket's own events (`lookup`, `connect`, then undici's callback on
 * `secureConnect`), and the socket is claimed for its origin's statistics.
 *
 * @example
 * const connect = timedConnector({ ca, allowH2: true, timeout: 10_000 }, origin);
 * new Pool("https://api.example.com", { connect });
 */
import type { Socket } from "node:net";
import { buildConnector } from "undici";
import { claim, type Owner } from "./tracking.ts";

/**
 * Builds the connector of one origin.
 *
 * @example
 * new Client(origin, { connect: timedConnector({ timeout: 5_000 }, owner) });
 */
export function timedConnector(options: buildConnector.BuildOptions, owner: Owner): buildConnector.connector {
  const inner = buildConnector(options) as unknown as (o: buildConnector.Options, cb: buildConnector.Callback) => Socket;
  return (opts, callback) => {
    const tls = opts.protocol === "https:";
    const t0 = performance.now();
    let lookedUpAt = -1;
    let connectedAt = -1;
    const socket = inner(opts, (...args: Parameters<buildConnector.Callback>) => {
      const [err, sock] = args;
      if (err !== null) {
        owner.connectFailed();
        callback(err, null);
        return;
      }
      const done = performance.now();
      const tcpFrom = lookedUpAt >= 0 ? lookedUpAt : t0;
      const tcpTo = connectedAt >= 0 ? connectedAt : done;
      claim(sock, owner, {
        dnsMs: lookedUpAt >= 0 ? lookedUpAt - t0 : 0,
        tcpMs: tcpTo - tcpFrom,
        tlsMs: tls ? done - tcpTo : 0,
        lookedUp: lookedUpAt >= 0,
        tls,
      });
      callback(null, sock);
    });
    // Node emits `lookup` only when it resolved a name (not for an IP literal).
    socket.once("lookup", () => (lookedUpAt = performance.now()));
    socket.once("connect", () => (connectedAt = performance.now()));
  };
}
