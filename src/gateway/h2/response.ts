import type { OutgoingHttpHeaders } from "node:http2";
import { H_DROP, H_UPGRADE, type Head } from "../../codec/http1/head.ts";

/**
 * An HTTP/1.1 response head (parsed into `res` from `buf`) as HTTP/2 response headers:
 * `:status`, names in lower case, repeated fields as lists, and without what HTTP/2
 * forbids or frames itself (hop-by-hop fields and those `Connection` lists,
 * `Transfer-Encoding`, `Upgrade`; RFC 9113 §8.2.2), plus a sticky `set-cookie`; `only`
 * keeps just the fields a WebSocket 200 carries over from the 101.
 *
 * @example
 * stream.respond(h2ResponseHeaders(buf, RESPONSE_HEAD, RESPONSE_HEAD.status, undefined, null));
 * // { ":status": 200, "content-type": "text/plain", "set-cookie": ["a=1", "b=2"] }
 */
export function h2ResponseHeaders(buf: Buffer, res: Head, status: number, setCookie: string | undefined, only: ReadonlySet<string> | null): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":status": status };
  const spans = res.spans;
  for (let n = 0; n < res.count; n++) {
    const f = res.flags[n];
    if (f === H_DROP || f === H_UPGRADE) continue;
    const k = n << 2;
    const name = buf.toString("latin1", spans[k]!, spans[k + 1]!).toLowerCase();
    if (name === "transfer-encoding" || (only !== null && !only.has(name))) continue;
    const value = buf.toString("latin1", spans[k + 2]!, spans[k + 3]!);
    const prev = out[name];
    if (prev === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  if (setCookie !== undefined) {
    const prev = out["set-cookie"];
    out["set-cookie"] = Array.isArray(prev) ? [...prev, setCookie] : [setCookie];
  }
  return out;
}

/** What a WebSocket 101 passes on in the HTTP/2 200 that replaces it (RFC 8441 §5). */
export const WEBSOCKET_200_FIELDS: ReadonlySet<string> = new Set(["sec-websocket-protocol", "sec-websocket-extensions", "set-cookie"]);
