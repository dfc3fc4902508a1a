import assert from "node:assert/strict";
import { test } from "node:test";
import { Head, findHeadEnd, parseResponse } from "../../codec/http1/head.ts";
import { WEBSOCKET_200_FIELDS, h2ResponseHeaders } from "./response.ts";

const head = new Head();
const headers = (text: string, setCookie?: string, only: ReadonlySet<string> | null = null) => {
  const buf = Buffer.from(text, "latin1");
  assert.equal(parseResponse(buf, findHeadEnd(buf, 0, buf.length), head), 0, text);
  return h2ResponseHeaders(buf, head, head.status, setCookie, only);
};

test("h2ResponseHeaders: a response head as HTTP/2 fields, lower case, repeats as lists, set-cookie always a list", () => {
  assert.deepEqual(headers("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"), {
    ":status": 200, "content-type": "text/plain", "content-length": "2",
  });
  assert.deepEqual(headers("HTTP/1.1 404 Not Found\r\nX-A: 1\r\nSet-Cookie: a=1\r\nx-a: 2\r\nX-A: 3\r\n\r\n"), {
    ":status": 404, "x-a": ["1", "2", "3"], "set-cookie": ["a=1"],
  });
  assert.deepEqual(headers("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n"), { ":status": 200, "set-cookie": ["a=1", "b=2"] });
});

test("h2ResponseHeaders: hop-by-hop fields, those Connection names, Transfer-Encoding and Upgrade are left out", () => {
  assert.deepEqual(
    headers("HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nX-Kept: 1\r\n\r\n"),
    { ":status": 200, "x-kept": "1" },
  );
});

test("h2ResponseHeaders: the sticky cookie joins the server's set-cookie list or starts one", () => {
  assert.deepEqual(headers("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", "s=b1"), { ":status": 200, "x-a": "1", "set-cookie": ["s=b1"] });
  assert.deepEqual(headers("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n", "s=b1"), { ":status": 200, "set-cookie": ["a=1", "b=2", "s=b1"] });
});

test("h2ResponseHeaders: a WebSocket 200 keeps only the fields RFC 8441 carries over, and the status it is given", () => {
  const text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSet-Cookie: a=1\r\nX-Other: 1\r\n\r\n";
  const buf = Buffer.from(text, "latin1");
  assert.equal(parseResponse(buf, findHeadEnd(buf, 0, buf.length), head), 0);
  assert.deepEqual(h2ResponseHeaders(buf, head, 200, "s=b1", WEBSOCKET_200_FIELDS), {
    ":status": 200, "sec-websocket-protocol": "chat", "sec-websocket-extensions": "permessage-deflate", "set-cookie": ["a=1", "s=b1"],
  });
  assert.deepEqual([...WEBSOCKET_200_FIELDS].sort(), ["sec-websocket-extensions", "sec-websocket-protocol", "set-cookie"]);
});
