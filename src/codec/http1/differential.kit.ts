import { BAD_CHUNK, BodyFramer } from "./body.ts";
import { H_DROP, H_FWD, H_UPGRADE, Head, findHeadEnd, parseRequest, parseResponse, skipEmptyLines } from "./head.ts";
import type { OracleMessage, OracleResponse, OracleResult } from "./llhttp-oracle.kit.ts";
import { ForwardInfo, originFormTarget, writeRequestHead, writeResponseHead } from "./write.ts";

/**
 * Test support: our scanner's reading of a client byte stream, in the same shape as the
 * llhttp oracle's, and the comparison of the two. `scanStream` walks the bytes the way
 * `gateway/http/session.ts` does (head, then body framing, then the next pipelined message),
 * and also builds what the gateway would forward upstream for each message.
 *
 * @example
 * const ours = scanStream(bytes);
 * const verdict = compare(ours, await oracle.send(bytes));
 * verdict.kind; // "same" | "stricter" | "looser" | "mismatch"
 */

/** One message our scanner accepted. */
export interface OurMessage {
  method: string;
  target: string;
  /** The target as forwarded: origin-form for an absolute-form one. */
  forwardedTarget: string;
  /** The authority of an absolute-form target, or "". */
  authority: string;
  version: number;
  /** Every header line, in wire order, value without OWS. */
  headers: [string, string][];
  /** The lines that are forwarded as they are (not hop-by-hop, not replaced by the proxy). */
  kept: [string, string][];
  /** Decoded body (latin1). */
  body: string;
  /** The body ended inside the bytes given. */
  complete: boolean;
  /** The head was accepted (and forwarded) but the chunked body was refused. */
  refused: boolean;
  upgrade: boolean;
  /** What the gateway writes upstream for this message: rebuilt head plus body bytes. */
  forwarded: Buffer;
}

/** Why our scan stopped. */
export type OurEnd =
  | "clean" // every byte was consumed by complete messages
  | "partial" // the bytes ended inside a head or a body
  | "refused" // a head or a chunked body was refused
  | "upgrade" // the last message switched protocols: the rest is opaque
  | "close"; // the last message closes the connection: the rest is ignored

export interface OurResult {
  messages: OurMessage[];
  end: OurEnd;
  /** HeadError code, or BAD_CHUNK (with the message in `messages`), when `end` is "refused". */
  error: number;
}

/** The client address and scheme used for every forwarded head in the tests. */
export const FWD = new ForwardInfo("192.0.2.7", "http");

const framer = new BodyFramer();

/**
 * Decodes a chunked body that {@link BodyFramer} has already validated.
 *
 * @example
 * dechunk(Buffer.from("3;x=y\r\nabc\r\n0\r\n\r\n")); // "abc"
 */
export function dechunk(raw: Buffer): string {
  let out = "";
  let i = 0;
  for (;;) {
    let size = 0;
    let c: number;
    while ((c = raw[i]!) !== 0x3b && c !== 0x0d && c !== 0x20 && c !== 0x09 && i < raw.length) {
      size = size * 16 + parseInt(String.fromCharCode(c), 16);
      i++;
    }
    i = raw.indexOf(0x0a, i) + 1;
    if (i === 0 || size === 0) return out;
    out += raw.toString("latin1", i, i + size);
    i += size + 2;
  }
}

function text(buf: Buffer, s: number, e: number): string {
  return buf.toString("latin1", s, e);
}

/**
 * Our scanner's reading of a client byte stream.
 *
 * @example
 * const r = scanStream(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * r.messages[0]?.target; // "/"
 */
export function scanStream(stream: Buffer): OurResult {
  const h = new Head();
  const messages: OurMessage[] = [];
  let buf = stream;
  for (;;) {
    buf = buf.subarray(skipEmptyLines(buf, 0)); // as the session does between requests
    if (buf.length === 0) return { messages, end: "clean", error: 0 };
    const end = findHeadEnd(buf, 0, buf.length);
    if (end === -1) return { messages, end: "partial", error: 0 };
    if (end < 0) return { messages, end: "refused", error: -end };
    const err = parseRequest(buf, end, h);
    if (err !== 0) return { messages, end: "refused", error: err };
    const headers: [string, string][] = [];
    const kept: [string, string][] = [];
    const upgrade = h.wantsUpgrade;
    for (let n = 0; n < h.count; n++) {
      const k = n << 2;
      const pair: [string, string] = [text(buf, h.spans[k]!, h.spans[k + 1]!), text(buf, h.spans[k + 2]!, h.spans[k + 3]!)];
      headers.push(pair);
      const isUpgrade = pair[0].toLowerCase() === "upgrade";
      // FWD is not a trusted proxy: a client's Forwarded / X-Forwarded-Proto / -Host are not kept.
      if (h.flags[n] !== H_DROP && h.flags[n] !== H_FWD && (upgrade || !isUpgrade)) kept.push(pair);
    }
    if (h.chunked) framer.startChunked();
    else if (h.contentLength > 0) framer.startLength(h.contentLength);
    else framer.none();
    const r = framer.done ? end : framer.scan(buf, end, buf.length);
    const refused = r === BAD_CHUNK;
    const bodyEnd = r < 0 ? buf.length : r;
    const complete = r >= 0;
    const raw = buf.subarray(end, bodyEnd);
    messages.push({
      method: text(buf, 0, h.methodEnd),
      target: text(buf, h.targetStart, h.targetEnd),
      forwardedTarget: originFormTarget(buf, h),
      authority: h.authStart >= 0 ? text(buf, h.authStart, h.authEnd) : "",
      version: h.version,
      headers,
      kept,
      body: h.chunked ? (complete ? dechunk(raw) : "") : raw.toString("latin1"),
      complete,
      refused,
      upgrade,
      forwarded: writeRequestHead(buf, h, FWD, upgrade, buf, end, bodyEnd),
    });
    if (refused) return { messages, end: "refused", error: BAD_CHUNK };
    if (!complete) return { messages, end: "partial", error: 0 };
    if (upgrade) return { messages, end: "upgrade", error: 0 };
    if (h.connClose || (h.version === 10 && !h.connKeepAlive)) return { messages, end: "close", error: 0 };
    buf = buf.subarray(bodyEnd);
  }
}

/**
 * The header lines llhttp must see in what we forward for `m`.
 *
 * @example
 * expectedForwardedHeaders(scanStream(buf).messages[0]!); // [["Host", "a"], ["X-Forwarded-For", "192.0.2.7"], ...]
 */
export function expectedForwardedHeaders(m: OurMessage): [string, string][] {
  const out = m.kept.slice();
  const host = m.headers.find(([n]) => n.toLowerCase() === "host")?.[1] ?? (m.authority !== "" ? m.authority : undefined);
  // HTTP/1.0 with an absolute-form target and no Host: the authority becomes the Host.
  if (host !== undefined && !m.headers.some(([n]) => n.toLowerCase() === "host")) out.push(["Host", host]);
  // FWD is not a trusted proxy: the client's X-Forwarded-For is replaced.
  out.push(["X-Forwarded-For", FWD.ip], ["X-Forwarded-Proto", FWD.proto]);
  if (host !== undefined) out.push(["X-Forwarded-Host", host]);
  if (m.upgrade) out.push(["Connection", "upgrade"]);
  return out;
}

export type VerdictKind = "same" | "stricter" | "looser" | "mismatch";
export interface Verdict {
  kind: VerdictKind;
  detail: string;
}

const show = (v: unknown): string => JSON.stringify(v);

/** Differences between our message and llhttp's, or "" when they agree. */
function messageDiff(ours: OurMessage, theirs: OracleMessage, headers: [string, string][]): string {
  if (ours.method !== theirs.method) return `method ${show(ours.method)} vs ${show(theirs.method)}`;
  if (ours.target !== theirs.url) return `target ${show(ours.target)} vs ${show(theirs.url)}`;
  if (show(headers) !== show(theirs.headers)) return `headers ${show(headers)} vs ${show(theirs.headers)}`;
  if (ours.upgrade !== theirs.upgrade) return `upgrade ${ours.upgrade} vs ${theirs.upgrade}`;
  if (!ours.upgrade && ours.complete && theirs.complete && ours.body !== theirs.body) {
    return `body ${show(ours.body)} vs ${show(theirs.body)}`;
  }
  return "";
}

/**
 * Compares our reading of a client stream with llhttp's. "looser" (we accept a message
 * llhttp refuses) and "mismatch" (both accept, but disagree on a field or on where a
 * message ends) are what smuggling is made of; "stricter" is allowed when allow-listed.
 *
 * @example
 * compare(scanStream(bytes), await oracle.send(bytes)).kind; // "same"
 */
export function compare(ours: OurResult, theirs: OracleResult): Verdict {
  const n = ours.messages.length;
  for (let i = 0; i < n; i++) {
    const o = ours.messages[i]!;
    const t = theirs.messages[i];
    if (t === undefined) return { kind: "looser", detail: `we accept message ${i}, llhttp: ${theirs.error ?? theirs.response}` };
    const d = messageDiff(o, t, o.headers);
    if (d !== "") return { kind: "mismatch", detail: `message ${i}: ${d}` };
    if (o.refused) {
      if (t.complete) return { kind: "stricter", detail: `we refuse message ${i}'s chunked body, llhttp accepts it` };
      return { kind: "same", detail: `both refuse message ${i}'s body (llhttp: ${theirs.error ?? "incomplete"})` };
    }
    if (o.complete && !t.complete && !o.upgrade) {
      return { kind: "looser", detail: `we end message ${i}'s body, llhttp: ${theirs.error ?? "incomplete"}` };
    }
    if (!o.complete && t.complete) return { kind: "mismatch", detail: `llhttp ends message ${i}'s body, we wait for more` };
  }
  const extra = theirs.messages[n];
  if (ours.end === "refused") {
    // llhttp reports some refusals (a bad Transfer-Encoding) only after the head event.
    if (extra !== undefined && (extra.complete || theirs.error === null)) {
      return { kind: "stricter", detail: `we refuse message ${n} (code ${ours.error}), llhttp accepts it` };
    }
    return { kind: "same", detail: `both refuse message ${n} (llhttp: ${theirs.error ?? theirs.response.slice(0, 12)})` };
  }
  if ((ours.end === "clean" || ours.end === "partial" || ours.end === "upgrade") && extra !== undefined) {
    return { kind: "mismatch", detail: `llhttp sees a message ${n} we do not: ${show(extra)}` };
  }
  return { kind: "same", detail: ours.end };
}

/**
 * Checks what we forward for message `m` (sent alone, followed by `sentinel`) the way a
 * llhttp back end reads it: the same message with the expected header lines, its body
 * ending exactly where ours does (the sentinel comes next), and nothing refused.
 *
 * @example
 * const seen = await oracle.send(Buffer.concat([m.forwarded, SENTINEL]));
 * compareForwarded(m, seen, true); // "" when llhttp agrees
 */
export function compareForwarded(m: OurMessage, theirs: OracleResult, sentinel: boolean): string {
  const t = theirs.messages[0];
  if (t === undefined) return `llhttp refuses what we forward: ${theirs.error ?? theirs.response}`;
  const d = messageDiff({ ...m, target: m.forwardedTarget }, t, expectedForwardedHeaders(m));
  if (d !== "") return d;
  if (m.complete && !t.complete) return `llhttp does not end the forwarded body: ${theirs.error ?? "incomplete"}`;
  if (!sentinel || m.upgrade || !m.complete) return "";
  const s = theirs.messages[1];
  if (theirs.messages.length !== 2 || s === undefined || s.url !== "/__sentinel") {
    return `after the forwarded message llhttp sees ${show(theirs.messages.slice(1))} ${theirs.error ?? ""}`;
  }
  return "";
}

/**
 * True when `v` is the one deliberate disagreement on upgrades: llhttp switches on an
 * h2c upgrade, we drop it and go on with plain HTTP/1.1 (what we forward has no Upgrade
 * line, so llhttp reads that the same way: compareForwarded checks it). Any item of the
 * value that is h2c counts, items split at spaces, tabs and commas as the scanner does
 * (`Upgrade: + h2c` is dropped too: found by npm run fuzz, FUZZ_SEED=1622431203).
 *
 * @example
 * if (h2cDropped(ours, compare(ours, theirs))) continue;
 */
export function h2cDropped(ours: OurResult, v: Verdict): boolean {
  const m = /^message (\d+): upgrade false vs true$/.exec(v.kind === "mismatch" ? v.detail : "");
  const msg = m === null ? undefined : ours.messages[Number(m[1])];
  return msg !== undefined && msg.headers.some(([n, val]) => n.toLowerCase() === "upgrade" && val.split(/[ \t,]+/).some((t) => t.toLowerCase() === "h2c"));
}

/** A request appended after each forwarded message: llhttp must find it right where our body ends. */
export const SENTINEL = Buffer.from("GET /__sentinel HTTP/1.1\r\nHost: sentinel\r\n\r\n", "latin1");

/** Our reading of a response stream, as the session frames it for a GET. */
export interface OurResponse {
  /** "partial": the bytes ended inside the head or the body; "tunnel": a 101, the rest is not HTTP. */
  end: "ok" | "partial" | "refused" | "tunnel";
  /** HeadError code or BAD_CHUNK when refused. */
  error: number;
  status: number;
  headers: [string, string][];
  /** The lines forwarded to the client. */
  kept: [string, string][];
  body: string;
  /** What the gateway writes to the client: rebuilt head plus the body bytes it frames. */
  forwarded: Buffer;
}

/**
 * Our scanner's reading of a response: 1xx heads are passed over, as Node's client does.
 *
 * @example
 * scanResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")).body; // "ok"
 */
export function scanResponse(stream: Buffer): OurResponse {
  const h = new Head();
  const r: OurResponse = { end: "partial", error: 0, status: 0, headers: [], kept: [], body: "", forwarded: Buffer.alloc(0) };
  let buf = stream;
  for (;;) {
    const end = findHeadEnd(buf, 0, buf.length);
    if (end === -1) return r;
    if (end < 0) return { ...r, end: "refused", error: -end };
    const err = parseResponse(buf, end, h);
    if (err !== 0) return { ...r, end: "refused", error: err };
    if (h.status === 101) return { ...r, end: "tunnel", status: 101 };
    if (h.status >= 200) {
      r.status = h.status;
      for (let n = 0; n < h.count; n++) {
        const k = n << 2;
        const pair: [string, string] = [text(buf, h.spans[k]!, h.spans[k + 1]!), text(buf, h.spans[k + 2]!, h.spans[k + 3]!)];
        r.headers.push(pair);
        if (h.flags[n] !== H_DROP && (h.flags[n] !== H_UPGRADE || h.status === 101)) r.kept.push(pair);
      }
      if (h.status === 204 || h.status === 304) framer.none();
      else if (h.chunked) framer.startChunked();
      else if (h.contentLength >= 0) framer.startLength(h.contentLength);
      else framer.startUntilClose();
      const at = framer.done ? end : framer.scan(buf, end, buf.length);
      // Until close, the end of the bytes is the end of the body.
      const complete = at >= 0 || framer.untilClose;
      const bodyEnd = at < 0 ? buf.length : at;
      const raw = buf.subarray(end, bodyEnd);
      r.body = h.chunked ? (complete ? dechunk(raw) : "") : raw.toString("latin1");
      r.forwarded = writeResponseHead(buf, h, "", buf, end, bodyEnd);
      if (at === BAD_CHUNK) return { ...r, end: "refused", error: BAD_CHUNK };
      r.end = complete ? "ok" : "partial";
      return r;
    }
    buf = buf.subarray(end);
  }
}

/**
 * Compares our reading of a response with llhttp's (Node's client); `headers` are the
 * lines llhttp must report (all of them for the back end's bytes, the kept ones for ours).
 *
 * @example
 * compareResponse(scanResponse(raw), (await oracle.sendAll([raw]))[0]!).kind; // "same"
 */
export function compareResponse(ours: OurResponse, theirs: OracleResponse, headers = ours.headers): Verdict {
  const accepted = theirs.error === null && theirs.complete;
  // What follows a 101 is another protocol; Node's client without an upgrade listener is no oracle for it.
  if (ours.end === "tunnel") return { kind: "same", detail: "101: a tunnel" };
  if (ours.end === "refused") {
    if (accepted) return { kind: "stricter", detail: `we refuse (code ${ours.error}), llhttp accepts` };
    return { kind: "same", detail: `both refuse (llhttp: ${theirs.error ?? "incomplete"})` };
  }
  if (ours.end === "partial") {
    if (theirs.complete) return { kind: "mismatch", detail: "llhttp ends the response, we wait for more" };
    return { kind: "same", detail: "both wait for more" };
  }
  if (!accepted) return { kind: "looser", detail: `we accept, llhttp: ${theirs.error ?? "incomplete"}` };
  if (ours.status !== theirs.status) return { kind: "mismatch", detail: `status ${ours.status} vs ${theirs.status}` };
  if (show(headers) !== show(theirs.headers)) return { kind: "mismatch", detail: `headers ${show(headers)} vs ${show(theirs.headers)}` };
  if (ours.body !== theirs.body) return { kind: "mismatch", detail: `body ${show(ours.body)} vs ${show(theirs.body)}` };
  return { kind: "same", detail: "both accept" };
}
