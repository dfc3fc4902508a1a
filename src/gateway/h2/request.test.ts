import assert from "node:assert/strict";
import { test } from "node:test";
import { Head, findHeadEnd, parseRequest } from "../../codec/http1/head.ts";
import { H1Request, toH1Request } from "./request.ts";

const GET: string[] = [":method", "GET", ":scheme", "https", ":authority", "a.example", ":path", "/x?y=1"];
const out = new H1Request();
const build = (raw: string[], endStream = true) => {
  const error = toH1Request(raw, endStream, out);
  return { error, head: error === null ? out.head.toString("latin1") : "" };
};

test("toH1Request: requests become HTTP/1.1 heads the strict scanner reads back", () => {
  const cases: [raw: string[], endStream: boolean, head: string][] = [
    [GET, true, "GET /x?y=1 HTTP/1.1\r\nhost: a.example\r\n\r\n"],
    [[...GET, "accept", "*/*", "cookie", "a=1", "x-b", "2", "cookie", "c=3"], true, "GET /x?y=1 HTTP/1.1\r\nhost: a.example\r\naccept: */*\r\nx-b: 2\r\ncookie: a=1; c=3\r\n\r\n"],
    [[":method", "POST", ":scheme", "https", ":authority", "a.example", ":path", "/up", "content-length", "5"], false, "POST /up HTTP/1.1\r\nhost: a.example\r\ncontent-length: 5\r\n\r\n"],
    [[":method", "POST", ":scheme", "https", ":authority", "a.example", ":path", "/up"], false, "POST /up HTTP/1.1\r\nhost: a.example\r\ntransfer-encoding: chunked\r\n\r\n"],
    [[":method", "POST", ":scheme", "https", ":authority", "a.example", ":path", "/up", "content-length", "0"], true, "POST /up HTTP/1.1\r\nhost: a.example\r\ncontent-length: 0\r\n\r\n"],
    [[":method", "OPTIONS", ":scheme", "https", ":authority", "a.example", ":path", "*"], true, "OPTIONS * HTTP/1.1\r\nhost: a.example\r\n\r\n"],
    [[":method", "GET", ":scheme", "http", ":path", "/", "host", "b.example:8080"], true, "GET / HTTP/1.1\r\nhost: b.example:8080\r\n\r\n"],
    [[...GET, "host", "A.EXAMPLE", "te", "trailers"], true, "GET /x?y=1 HTTP/1.1\r\nhost: a.example\r\n\r\n"],
  ];
  const h = new Head();
  for (const [raw, endStream, head] of cases) {
    const r = build(raw, endStream);
    assert.equal(r.error, null, raw.join(" "));
    assert.equal(r.head, head);
    assert.equal(parseRequest(out.head, findHeadEnd(out.head, 0, out.head.length), h), 0, head);
  }
});

test("toH1Request: an extended CONNECT for WebSocket becomes an upgrade with the gateway's own key", () => {
  const r = build([":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a.example", ":path", "/chat", "sec-websocket-version", "13", "sec-websocket-protocol", "chat"], false);
  assert.equal(r.error, null);
  assert.equal(out.websocket, true);
  assert.match(out.wsKey, /^[A-Za-z0-9+/]{22}==$/);
  assert.equal(r.head, `GET /chat HTTP/1.1\r\nhost: a.example\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: ${out.wsKey}\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: chat\r\n\r\n`);
  const h = new Head();
  assert.equal(parseRequest(out.head, out.head.length, h), 0);
  assert.ok(h.wantsUpgrade);
});

test("toH1Request: what HTTP/2 forbids, or what could reframe the request, is refused", () => {
  const cases: [raw: string[], endStream: boolean, why: RegExp][] = [
    [[...GET, "transfer-encoding", "chunked"], false, /connection-specific field transfer-encoding/],
    [[...GET, "connection", "close"], true, /connection-specific field connection/],
    [[...GET, "keep-alive", "1"], true, /connection-specific/],
    [[...GET, "proxy-connection", "x"], true, /connection-specific/],
    [[...GET, "upgrade", "websocket"], true, /connection-specific/],
    [[...GET, "te", "gzip"], true, /te: gzip/],
    [[...GET, "x-a", "1\r\nx-b: 2"], true, /NUL, CR or LF/],
    [[...GET, "x-a", "1\nx"], true, /NUL, CR or LF/],
    [[...GET, "x-a", "a\0b"], true, /NUL, CR or LF/],
    [[...GET, "X-Upper", "1"], true, /malformed field name/],
    [[...GET, "bad name", "1"], true, /malformed field name/],
    [[...GET, "host", "evil.example"], true, /:authority and host differ/],
    [[...GET, "host", "a.example", "host", "a.example"], true, /repeated host/],
    [[...GET, "content-length", "1", "content-length", "1"], false, /repeated content-length/],
    [[...GET, "content-length", "+1"], false, /malformed content-length/],
    [[...GET, "content-length", "5"], true, /content-length with no DATA/],
    [[...GET, ":method", "POST"], true, /repeated :method/],
    [["x-a", "1", ...GET], true, /after a regular field/],
    [[...GET, ":status", "200"], true, /unknown pseudo-header/],
    [[":scheme", "https", ":authority", "a", ":path", "/"], true, /no :method/],
    [[":method", "GET", ":authority", "a", ":path", "/"], true, /no :scheme/],
    [[":method", "GET", ":scheme", "https", ":path", "/"], true, /no :authority or host/],
    [[":method", "GET", ":scheme", "https", ":authority", "a", ":path", "http://evil/x"], true, /malformed :path/],
    [[":method", "GET", ":scheme", "https", ":authority", "a", ":path", "*"], true, /malformed :path/],
    [[":method", "GET", ":scheme", "https", ":authority", "a"], true, /malformed :path/],
    [[":method", "CONNECT", ":authority", "a:443"], false, /CONNECT is not supported/],
    [[":method", "CONNECT", ":protocol", "h2c", ":scheme", "https", ":authority", "a", ":path", "/"], false, /extended CONNECT for h2c/],
    [[":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a", ":path", "/"], true, /ends its stream/],
    [[":method", "GET", ":protocol", "websocket", ":scheme", "https", ":authority", "a", ":path", "/"], true, /:protocol without CONNECT/],
  ];
  for (const [raw, endStream, why] of cases) {
    const r = build(raw, endStream);
    assert.match(String(r.error), why, raw.join(" "));
  }
});

test("toH1Request: the edges of each check (case, empty, zero, digits, reuse of the same H1Request)", () => {
  // :authority and host compared without case on both sides.
  assert.equal(build([":method", "GET", ":scheme", "https", ":authority", "A.example", ":path", "/", "host", "a.EXAMPLE"]).error, null);
  // A content-length of 0 on a request with DATA to come is a length, not chunked.
  const zero = build([":method", "POST", ":scheme", "https", ":authority", "a.example", ":path", "/up", "content-length", "0"], false);
  assert.deepEqual([zero.error, zero.head, out.contentLength, out.chunked], [null, "POST /up HTTP/1.1\r\nhost: a.example\r\ncontent-length: 0\r\n\r\n", 0, false]);
  // 15 digits at most, digits only, the whole value.
  assert.equal(build([...GET, "content-length", "999999999999999"], false).error, null);
  assert.equal(out.contentLength, 999999999999999);
  for (const v of ["1234567890123456", "", "1x", "x1", " 1"]) assert.match(String(build([...GET, "content-length", v], false).error), /malformed content-length/, JSON.stringify(v));
  assert.match(String(build([...GET, "content-length", "0", "content-length", "0"], false).error), /repeated content-length/);
  // Fields left from the last request do not stay: a WebSocket CONNECT, then a chunked POST, then a GET.
  build([":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a", ":path", "/ws"], false);
  assert.equal(out.websocket, true);
  build([":method", "POST", ":scheme", "https", ":authority", "a", ":path", "/up"], false);
  assert.deepEqual([out.websocket, out.wsKey, out.chunked, out.contentLength], [false, "", true, -1]);
  build([...GET, "content-length", "0"]);
  assert.deepEqual([out.websocket, out.wsKey, out.chunked, out.contentLength], [false, "", false, 0]);
});

test("toH1Request: the refusals the first table does not reach, each with its own reason", () => {
  const ws = [":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a"];
  const cases: [raw: string[], endStream: boolean, why: string][] = [
    [[...GET, ":scheme", "http"], true, "repeated :scheme"],
    [[...GET, ":authority", "b"], true, "repeated :authority"],
    [[...GET, ":path", "/y"], true, "repeated :path"],
    [[...ws, ":path", "/", ":protocol", "websocket"], false, "repeated :protocol"],
    [[":method", "GET", ":scheme", "https", ":authority", "", ":path", "/"], true, "no :authority or host"],
    [[...ws, ":path", "ws"], false, "malformed :path"],
    [ws, false, "malformed :path"],
    [[...ws, ":path", "/", "content-length", "0"], false, "content-length on a WebSocket CONNECT"],
    [[...GET, "x-a", "1\rx"], true, "a NUL, CR or LF in the value of x-a"],
    [[...GET, "x:a", "1"], true, "malformed field name \"x:a\""],
    [[...GET, "te", "gzip"], true, "te: gzip (only \"trailers\" in HTTP/2)"],
    [[...GET, "transfer-encoding", "chunked"], true, "connection-specific field transfer-encoding in an HTTP/2 request"],
    [["x-a", "1", ...GET], true, "pseudo-header :method after a regular field"],
    [[...GET, ":status", "200"], true, "unknown pseudo-header :status"],
    [[...GET, "content-length", "+1"], false, "malformed content-length \"+1\""],
    [[":method", "CONNECT", ":protocol", "h2c", ":scheme", "https", ":authority", "a", ":path", "/"], false, "extended CONNECT for h2c is not supported"],
  ];
  for (const [raw, endStream, why] of cases) assert.equal(build(raw, endStream).error, why, raw.join(" "));
});

test("toH1Request: a value's bytes go as they came (one byte a character, as node:http2 reads them); a lone last name is no field; OPTIONS * only", () => {
  const r = build([...GET, "x-a", "caf\u00e9 \u00ff"]);
  assert.equal(r.error, null);
  assert.deepEqual(out.head, Buffer.from("GET /x?y=1 HTTP/1.1\r\nhost: a.example\r\nx-a: caf\u00e9 \u00ff\r\n\r\n", "latin1"));
  assert.equal(build([...GET, "x-lone"]).head, "GET /x?y=1 HTTP/1.1\r\nhost: a.example\r\n\r\n");
  assert.equal(build([":method", "OPTIONS", ":scheme", "https", ":authority", "a", ":path", "x"]).error, "malformed :path");
});
