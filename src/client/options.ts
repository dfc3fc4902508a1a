import type { ReconnectOptions } from "./reconnector.ts";
import type { TokenOption } from "./token.ts";
import type { TransportName } from "./transport.ts";

/**
 * The options of `connect(url, options)` (DESIGN §7) and their checks.
 *
 * @example
 * const o = clientOptions({ token: () => fetchToken(), transports: ["websocket", "sse"], queue: { max: 1_000 } });
 */
export interface ClientOptions extends ReconnectOptions {
  /** A JWT, or a function returning one (called again when the hub says it expired). Omit for anonymous. */
  token?: TokenOption;
  /** Transports in the order to try them until one works (default `["websocket", "sse"]`). */
  transports?: TransportName[];
  /** Publishes waiting for the hub, queued while offline (default `{ max: 1000 }`). */
  queue?: { max?: number };
  /** How long `presence()` and other requests wait for an answer, connected or not (ms, default 10000). */
  timeout?: number;
  /** `name/version` sent to the hub for its logs (default `holdfast-client`). */
  name?: string;
  /** SSE endpoints, when they are not `sse` and `send` beside the WebSocket path. */
  sse?: { stream: string; send: string };
  /** The WebSocket class (default `globalThis.WebSocket`). */
  WebSocket?: typeof WebSocket;
  /** The fetch function for SSE (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** Options with defaults applied and checked. */
export interface ResolvedOptions {
  transports: TransportName[];
  queueMax: number;
  timeout: number;
  name: string;
  WebSocket: typeof WebSocket | undefined;
  fetch: typeof fetch | undefined;
}

/**
 * Applies defaults and throws a clear error for a bad option (naming it).
 *
 * @example
 * clientOptions({ transports: ["carrier-pigeon"] }); // throws TypeError: transports: unknown transport "carrier-pigeon" ...
 */
export function clientOptions(o: ClientOptions): ResolvedOptions {
  const transports = o.transports ?? ["websocket", "sse"];
  if (!Array.isArray(transports) || transports.length === 0) throw new TypeError("transports must be a non-empty list of \"websocket\" and \"sse\"");
  for (const t of transports) if (t !== "websocket" && t !== "sse") throw new TypeError(`transports: unknown transport ${JSON.stringify(t)}; use "websocket" or "sse"`);
  const queueMax = o.queue?.max ?? 1000;
  if (!Number.isInteger(queueMax) || queueMax < 1) throw new RangeError(`queue.max must be an integer >= 1, got ${queueMax}`);
  const timeout = o.timeout ?? 10_000;
  if (!(timeout > 0)) throw new RangeError(`timeout must be a positive number of ms, got ${timeout}`);
  const WS = o.WebSocket ?? globalThis.WebSocket;
  const f = o.fetch ?? (typeof globalThis.fetch === "function" ? globalThis.fetch.bind(globalThis) : undefined);
  if (transports.includes("websocket") && typeof WS !== "function") throw new TypeError("no WebSocket class: pass options.WebSocket (Node < 22 has no global WebSocket) or use transports: [\"sse\"]");
  if (transports.includes("sse") && typeof f !== "function") throw new TypeError("no fetch function for the SSE transport: pass options.fetch");
  return { transports: [...transports], queueMax, timeout, name: o.name ?? "holdfast-client", WebSocket: WS, fetch: f };
}
