import { createHash } from "node:crypto";
import { closeFrame } from "../../codec/ws/build.ts";
import { retryAfterReason } from "../../protocol/close.ts";
import type { AccessRecord } from "../access-log.ts";
import type { Backend } from "../backend.ts";
import { events } from "../diagnostics.ts";
import type { HandledSocket } from "../sockets.ts";
import { Tunnel, type TunnelOwner } from "../tunnel/tunnel.ts";
import { WsTracking } from "../tunnel/ws-tracking.ts";
import type { UpstreamServer } from "../upstream.ts";
import type { RequestFacts } from "./request.ts";
import type { HttpListenerContext } from "./context.ts";

// The upgrade concern of an HTTP exchange: the handoff to a tunnel after a 101, the
// accounting when that tunnel closes, and the answer to an upgrade admission refuses.

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The gateway's own answer to a WebSocket upgrade it must refuse (admission over its
 * rate): a browser cannot read the status of a refused handshake, so the handshake is
 * accepted and the connection closed at once with `1013` and `retry-after=<ms>`, which
 * the client SDK obeys (DESIGN §4 "Admission"). `key` is the request's
 * `Sec-WebSocket-Key`; without one, a plain 503 is the only honest answer (returns null).
 *
 * @example
 * socket.end(acceptThenClose(key, 1013, 1500));
 */
export function acceptThenClose(key: string | undefined, code: number, retryAfterMs: number): Buffer | null {
  if (key === undefined || key.length === 0) return null;
  const accept = createHash("sha1").update(key + GUID).digest("base64");
  const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), closeFrame(code, retryAfterReason(retryAfterMs))]);
}

/**
 * After a `101` (the client was told by its session: `Downstream.takeOver`): hands the
 * client side and the upstream socket to a {@link Tunnel} that counts as one active
 * connection on `server` for its whole life. The HTTP
 * session is gone from here on; the listener's shared {@link HttpTunnelOwner} does the
 * accounting when the tunnel closes (an open tunnel keeps no session alive: memory per
 * idle WebSocket matters). `toServer` are client bytes that followed the upgrade
 * request; `buf[end..]` server bytes that followed the 101.
 *
 * @example
 * handOff(ctx, client, up.socket, server, backend, facts, latency, access, toServer, buf, end);
 */
export function handOff(
  ctx: HttpListenerContext, client: HandledSocket, upstream: HandledSocket, server: UpstreamServer, backend: Backend, facts: RequestFacts,
  latencyMs: number, access: AccessRecord | null, toServer: Buffer | null, buf: Buffer, end: number,
): void {
  server.stats.tunnelsOpened++;
  backend.passiveSuccess(server);
  const ws = facts.websocket ? new WsTracking(backend.config.websocket) : null;
  const owner = (ctx.tunnelOwner ??= new HttpTunnelOwner(ctx));
  const t = new Tunnel(client, upstream, ctx.wheel, backend.config.timeouts.tunnel, owner, server, backend, ws);
  t.latencyMs = latencyMs;
  t.method = facts.method;
  t.access = access;
  t.listener = ctx.cfg.name;
  ctx.tunnels.add(t);
  if (events.tunnelOpened.hasSubscribers) events.tunnelOpened.publish({ plane: ctx.plane, tunnel: t, record: access });
  t.start(toServer, buf.subarray(end)); // empty when nothing followed the 101: start sends nothing then
}

/**
 * Accounting when an upgraded connection's tunnel closes: counters, policy feedback, the
 * `holdfast:tunnel:closed` event (the access log writes the upgrade's line from it).
 * One per listener, shared by its tunnels.
 *
 * @example
 * ctx.tunnelOwner ??= new HttpTunnelOwner(ctx);
 */
export class HttpTunnelOwner implements TunnelOwner {
  readonly #ctx: HttpListenerContext;

  constructor(ctx: HttpListenerContext) {
    this.#ctx = ctx;
  }

  tunnelClosed(t: Tunnel): void {
    const ctx = this.#ctx;
    ctx.tunnels.delete(t);
    const server = t.server!;
    t.backend!.end(server, t.latencyMs, true, ctx.wheel.now);
    server.stats.response(t.method, 101, t.latencyMs, t.bytesIn, t.bytesOut);
    const access = t.access;
    if (access !== null) {
      access.bytesIn = t.bytesIn;
      access.bytesOut = t.bytesOut;
      access.tunnelMs = Math.round(ctx.wheel.clock() - t.openedAt);
    }
    if (events.tunnelClosed.hasSubscribers) events.tunnelClosed.publish({ plane: ctx.plane, tunnel: t, record: access });
  }
}
