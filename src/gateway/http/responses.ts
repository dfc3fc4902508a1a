/**
 * The gateway's own responses (errors), each with a body that says what happened in
 * plain words. Always `Connection: close` for 4xx on malformed input.
 *
 * @example
 * socket.end(errorResponse(503, "no server is available for backend api", 1));
 */
const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * A complete HTTP/1.1 error response. `retryAfter` (seconds) adds `Retry-After`;
 * `close` adds `Connection: close` (the caller then ends the socket).
 */
export function errorResponse(status: number, message: string, retryAfter?: number, close = true): Buffer {
  const body = `${status} ${REASONS[status] ?? ""}: ${message}\n`;
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n`;
  if (retryAfter !== undefined) head += `Retry-After: ${retryAfter}\r\n`;
  if (close) head += "Connection: close\r\n";
  return Buffer.from(`${head}\r\n${body}`, "utf8");
}
