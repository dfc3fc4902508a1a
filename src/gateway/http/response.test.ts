// How a response is framed and what it does to both connections (RFC 9112 §6.3), and
// what a request head tells its exchange: pure tables over parsed heads. Written for
// the mutants of response.ts and request.ts that no socket test told apart (issue 15).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Head, findHeadEnd, parseRequest, parseResponse } from "../../codec/http1/head.ts";
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BODY_UNTIL_CLOSE, ResponsePlan, planResponse, responseExtraLines } from "./response.ts";
import { RequestFacts, accessRecord, classifyRequest, refusalRecord } from "./request.ts";

function parsed(lines: string[], parse: typeof parseRequest): { buf: Buffer; h: Head } {
  const buf = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  const h = new Head();
  assert.equal(parse(buf, findHeadEnd(buf, 0, buf.length), h), 0, lines.join(" | "));
  return { buf, h };
}

const BODY = ["none", "length", "chunked", "until close"];

describe("planResponse", () => {
  // [response head lines, HEAD request, body, upstream reusable, client closes]
  const cases: [string[], boolean, number, boolean, boolean][] = [
    [["HTTP/1.1 200 OK", "Content-Length: 5"], false, BODY_LENGTH, true, false],
    [["HTTP/1.1 200 OK", "Content-Length: 5"], true, BODY_NONE, true, false], // HEAD: the length is not followed by a body
    [["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], true, BODY_NONE, true, false],
    [["HTTP/1.1 200 OK"], true, BODY_NONE, true, false], // HEAD, no framing: still no body, the connection stays
    [["HTTP/1.1 204 No Content"], false, BODY_NONE, true, false],
    [["HTTP/1.1 304 Not Modified", "Content-Length: 10"], false, BODY_NONE, true, false],
    [["HTTP/1.1 205 Reset Content", "Content-Length: 0"], false, BODY_LENGTH, true, false],
    [["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], false, BODY_CHUNKED, true, false],
    [["HTTP/1.1 200 OK", "Content-Length: 0"], false, BODY_LENGTH, true, false], // 0 is a length
    [["HTTP/1.1 200 OK"], false, BODY_UNTIL_CLOSE, false, true],
    [["HTTP/1.1 200 OK", "Connection: close", "Content-Length: 2"], false, BODY_LENGTH, false, false],
    [["HTTP/1.0 200 OK", "Content-Length: 2"], false, BODY_LENGTH, false, false], // 1.0 closes by default
    [["HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 2"], false, BODY_LENGTH, true, false],
    [["HTTP/1.0 200 OK", "Connection: keep-alive"], false, BODY_UNTIL_CLOSE, false, true],
    [["HTTP/1.1 200 OK", "Connection: keep-alive", "Content-Length: 2"], false, BODY_LENGTH, true, false],
  ];
  for (const [lines, isHead, body, reusable, closeClient] of cases) {
    test(`${lines.join(" | ")}${isHead ? " (to a HEAD)" : ""}: ${BODY[body]}, upstream ${reusable ? "reused" : "closed"}${closeClient ? ", client closed" : ""}`, () => {
      const { h } = parsed(lines, parseResponse);
      const plan = new ResponsePlan();
      // The plan is reused: start from the opposite of every expected field.
      plan.body = body === BODY_NONE ? BODY_UNTIL_CLOSE : BODY_NONE;
      plan.upstreamReusable = !reusable;
      plan.closeClient = !closeClient;
      planResponse(h, isHead, plan);
      assert.deepEqual([BODY[plan.body], plan.upstreamReusable, plan.closeClient], [BODY[body], reusable, closeClient]);
    });
  }
});

test("responseExtraLines: Connection: close, keep-alive for a 1.0 client that keeps it, a sticky cookie", () => {
  const cases: [boolean, number, string | undefined, string][] = [
    [false, 11, undefined, ""],
    [true, 11, undefined, "Connection: close\r\n"],
    [true, 10, undefined, "Connection: close\r\n"],
    [false, 10, undefined, "Connection: keep-alive\r\n"],
    [false, 11, "HF_SRV=AbC; Path=/", "Set-Cookie: HF_SRV=AbC; Path=/\r\n"],
    [true, 10, "HF_SRV=x", "Connection: close\r\nSet-Cookie: HF_SRV=x\r\n"],
  ];
  for (const [close, version, cookie, want] of cases) assert.equal(responseExtraLines(close, version, cookie), want, JSON.stringify([close, version, cookie]));
});

describe("classifyRequest", () => {
  type Facts = Pick<RequestFacts, "isHead" | "idempotent" | "version" | "upgrade" | "websocket" | "wsKey" | "closeClient">;
  const base: Facts = { isHead: false, idempotent: true, version: 11, upgrade: false, websocket: false, wsKey: undefined, closeClient: false };
  // [request head lines, wants the WebSocket key, facts that differ from base]
  const cases: [string[], boolean, Partial<Facts>][] = [
    [["GET / HTTP/1.1", "Host: a"], true, {}],
    [["HEAD / HTTP/1.1", "Host: a"], false, { isHead: true }],
    [["POST / HTTP/1.1", "Host: a", "Content-Length: 0"], false, { idempotent: false }],
    [["GET / HTTP/1.1", "Host: a", "Connection: close"], false, { closeClient: true }],
    [["GET / HTTP/1.0"], false, { version: 10, closeClient: true }],
    [["GET / HTTP/1.0", "Connection: keep-alive"], false, { version: 10 }],
    [["GET / HTTP/1.1", "Host: a", "Connection: upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: abc=="], true, { upgrade: true, websocket: true, wsKey: "abc==" }],
    [["GET / HTTP/1.1", "Host: a", "Connection: upgrade", "Upgrade: WebSocket", "Sec-WebSocket-Key: abc=="], false, { upgrade: true, websocket: true }],
    [["GET / HTTP/1.1", "Host: a", "Connection: upgrade", "Upgrade: websocket"], true, { upgrade: true, websocket: true }],
    [["GET / HTTP/1.1", "Host: a", "Connection: upgrade", "Upgrade: foo/2", "Sec-WebSocket-Key: abc=="], true, { upgrade: true }],
    [["GET / HTTP/1.1", "Host: a", "Connection: upgrade", "Upgrade: h2c"], true, {}], // h2c is never tunnelled (see head.ts)
    [["GET / HTTP/1.1", "Host: a", "Upgrade: websocket", "Sec-WebSocket-Key: abc=="], true, {}], // no Connection: upgrade: not a switch, not a WebSocket
    [["GET / HTTP/1.1", "Sec-WebSocket-Key: abc==", "Host: a", "Connection: upgrade", "Upgrade: websocket"], true, { upgrade: true, websocket: true, wsKey: "abc==" }], // the key as the first header line
  ];
  for (const [lines, wantsKey, diff] of cases) {
    test(`${lines.join(" | ")}${wantsKey ? " (key wanted)" : ""}`, () => {
      const { buf, h } = parsed(lines, parseRequest);
      const facts = new RequestFacts();
      // Refilled per request: leftovers of a previous WebSocket request must not stay.
      Object.assign(facts, { isHead: !diff.isHead, idempotent: false, version: 0, upgrade: true, websocket: true, wsKey: "stale", closeClient: !(diff.closeClient ?? false) });
      classifyRequest(buf, h, wantsKey, facts);
      const got: Facts = { isHead: facts.isHead, idempotent: facts.idempotent, version: facts.version, upgrade: facts.upgrade, websocket: facts.websocket, wsKey: facts.wsKey, closeClient: facts.closeClient };
      assert.deepEqual(got, { ...base, ...diff });
      assert.equal(facts.method, h.method);
    });
  }
});

test("accessRecord and refusalRecord: what the head said, or nothing when it could not be read", () => {
  const { buf, h } = parsed(["PUT /a/b?c=1 HTTP/1.1", "Host: Example.com:8080"], parseRequest);
  assert.deepEqual(accessRecord(buf, h, "192.0.2.1", "web", "api"), {
    client: "192.0.2.1", listener: "web", method: "PUT", host: "Example.com:8080", path: "/a/b?c=1",
    status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0, backend: "api", server: "", retries: 0, upstreamReused: false,
  });
  const noHost = parsed(["GET / HTTP/1.0"], parseRequest);
  assert.equal(accessRecord(noHost.buf, noHost.h, "c", "l", "b").host, "");
  const refused = { status: 404, bytesIn: 10, bytesOut: 20, durationMs: 3, error: "HF_ERR_NO_ROUTE", reason: "no route" };
  assert.deepEqual(refusalRecord(buf, h, "192.0.2.1", "web", "HF_ERR_NO_ROUTE", 404, "no route", 10, 20, 3), {
    client: "192.0.2.1", listener: "web", method: "PUT", host: "Example.com:8080", path: "/a/b?c=1",
    backend: "", server: "", retries: 0, upstreamReused: false, ...refused,
  });
  assert.deepEqual(refusalRecord(null, null, "192.0.2.1", "web", "HF_ERR_NO_ROUTE", 404, "no route", 10, 20, 3), {
    client: "192.0.2.1", listener: "web", method: "", host: "", path: "",
    backend: "", server: "", retries: 0, upstreamReused: false, ...refused,
  });
});
