/**
 * Short, stable reasons for failed probes, shared by the TCP and HTTP probes so the
 * dashboard shows the same words for the same failure (`connect refused`,
 * `timeout after 2000ms`, ...).
 *
 * @example
 * socket.on("error", (err) => finish(false, socketErrorReason(err)));
 */

const BY_CODE: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connect refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  ETIMEDOUT: "connect timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EHOSTDOWN: "host down",
  ENOTFOUND: "DNS: host not found",
  EAI_AGAIN: "DNS: temporary failure",
  EADDRNOTAVAIL: "address not available",
};

/**
 * A socket or HTTP client error as a reason. Unknown errors keep their code or message.
 *
 * @example
 * socketErrorReason(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })); // "connect refused"
 */
export function socketErrorReason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  // node:http's name for "the server closed before answering".
  if (code === "ECONNRESET" && message === "socket hang up") return "connection closed before the response";
  if (code !== undefined && code in BY_CODE) return BY_CODE[code]!;
  if (code?.startsWith("HPE_")) return `invalid HTTP response (${code})`;
  return code !== undefined ? `connect error ${code}` : `error: ${message}`;
}

/**
 * Why the signal aborted: `timeout after Xms` for a timeout (the checker's own message
 * when it carries one, else the elapsed time), `aborted` otherwise.
 *
 * @example
 * abortReason(AbortSignal.timeout(50), 50.4); // "timeout after 50ms" (once fired)
 */
export function abortReason(signal: AbortSignal, elapsedMs: number): string {
  const r = signal.reason as { name?: unknown; message?: unknown } | undefined;
  if (r?.name !== "TimeoutError") return "aborted";
  if (typeof r.message === "string" && /^timeout after \d+ms$/.test(r.message)) return r.message;
  return `timeout after ${Math.round(elapsedMs)}ms`;
}
