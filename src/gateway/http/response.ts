import type { Head } from "../../codec/http1/head.ts";

/**
 * How a response from a server is framed and what it means for the two connections,
 * decided from its head alone (RFC 9112 §6.3) — a pure function, shared by every client
 * protocol (HTTP/1.1 now, HTTP/2 later): the body framing to follow on the upstream
 * side, whether the upstream connection may be reused, and whether the client's
 * connection must close after it. No allocation: the answer is written into a reused
 * {@link ResponsePlan}.
 *
 * @example
 * planResponse(RESPONSE_HEAD, request.isHead, plan);
 * if (plan.body === BODY_UNTIL_CLOSE) session.closeAfterExchange();
 */

/** No body (HEAD, 204, 304). */
export const BODY_NONE = 0;
/** `Content-Length` bytes. */
export const BODY_LENGTH = 1;
/** Chunked transfer coding. */
export const BODY_CHUNKED = 2;
/** Until the server closes (HTTP/1.0 style): the client's connection must close too. */
export const BODY_UNTIL_CLOSE = 3;

/**
 * What {@link planResponse} decided.
 *
 * @example
 * const plan = new ResponsePlan(); // one per exchange, reused
 */
export class ResponsePlan {
  /** `BODY_*`. */
  body = BODY_NONE;
  /** The upstream connection can serve another request once the body is through. */
  upstreamReusable = false;
  /** The client's connection closes after this response (its end is the body's end). */
  closeClient = false;
}

/**
 * Fills `plan` from the final (≥ 200) response head `res` to a request that was a HEAD
 * request or not.
 *
 * @example
 * planResponse(RESPONSE_HEAD, false, plan); // plan.body === BODY_CHUNKED for "Transfer-Encoding: chunked"
 */
export function planResponse(res: Head, headRequest: boolean, plan: ResponsePlan): void {
  const status = res.status;
  if (headRequest || status === 204 || status === 304) plan.body = BODY_NONE;
  else if (res.chunked) plan.body = BODY_CHUNKED;
  else if (res.contentLength >= 0) plan.body = BODY_LENGTH;
  else plan.body = BODY_UNTIL_CLOSE;
  const untilClose = plan.body === BODY_UNTIL_CLOSE;
  plan.upstreamReusable = !(res.connClose || (res.version === 10 && !res.connKeepAlive) || untilClose);
  // A body delimited by the server's close can only be delimited the same way for the client.
  plan.closeClient = untilClose;
}

/**
 * The header lines an HTTP/1.1 session adds to a forwarded response head:
 * `Connection: close` when the client's connection ends with it, `Connection:
 * keep-alive` for an HTTP/1.0 client that keeps it, and a sticky `Set-Cookie`.
 *
 * @example
 * responseExtraLines(false, 11, "HF_SRV=AbC; Path=/; HttpOnly"); // "Set-Cookie: HF_SRV=AbC; Path=/; HttpOnly\r\n"
 */
export function responseExtraLines(closeClient: boolean, clientVersion: number, setCookie: string | undefined): string {
  let extra = closeClient ? "Connection: close\r\n" : clientVersion === 10 ? "Connection: keep-alive\r\n" : "";
  if (setCookie !== undefined) extra += `Set-Cookie: ${setCookie}\r\n`;
  return extra;
}
