import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { METHODS, REFUSED, VALID, bytes, head } from "./corpus.kit.ts";
import {
  H_DROP, H_FWD, H_UPGRADE, Head, HeadError, MAX_HEADERS, METHOD_NAMES, findHeadEnd, findHeader, headErrorText, headerValue, parseRequest,
  parseResponse, skipEmptyLines,
} from "./head.ts";

// Bytes in, offsets out: no sockets (ws `test/receiver.test.js` style). The tables live
// in corpus.kit.ts, shared with the differential test against llhttp.

/** findHeadEnd then parseRequest, as the session does; a bare LF comes back as BARE_LF. */
function parse(raw: string, h = new Head()): { code: number; h: Head; buf: Buffer } {
  const buf = bytes(raw);
  const end = findHeadEnd(buf, 0, buf.length);
  assert.notEqual(end, -1, "head is complete");
  return { code: end < 0 ? -end : parseRequest(buf, end, h), h, buf };
}

function parseRes(raw: string, h = new Head()): { code: number; h: Head; buf: Buffer } {
  const buf = bytes(raw);
  const end = findHeadEnd(buf, 0, buf.length);
  assert.ok(end > 0, "head is complete");
  return { code: parseResponse(buf, end, h), h, buf };
}

/** [name, value] of every header line, and which are dropped. */
function lines(buf: Buffer, h: Head): string[] {
  const out: string[] = [];
  for (let n = 0; n < h.count; n++) {
    const k = n << 2;
    const drop = h.flags[n] === H_DROP ? " (drop)" : h.flags[n] === H_FWD ? " (forwarding)" : "";
    out.push(`${buf.toString("latin1", h.spans[k]!, h.spans[k + 1]!)}=${headerValue(buf, h, n)}${drop}`);
  }
  return out;
}

describe("parseRequest: valid requests", () => {
  for (const c of VALID) {
    test(c.name, () => {
      const { code, h, buf } = parse(c.raw);
      assert.equal(code, 0, headErrorText[code as 1]);
      assert.equal(buf.toString("latin1", 0, h.methodEnd), c.method);
      assert.equal(buf.toString("latin1", h.targetStart, h.targetEnd), c.target);
      assert.equal(h.version, c.version);
      assert.equal(h.count, c.count);
      assert.equal(h.end, c.raw.indexOf("\r\n\r\n") + 4);
      assert.equal(h.contentLength, c.contentLength ?? -1);
      assert.equal(h.chunked, c.chunked ?? false);
    });
  }
});

describe("parseRequest: refusals", () => {
  for (const c of REFUSED) {
    test(c.name, () => {
      const { code } = parse(c.raw);
      assert.equal(code, c.code, `got ${code} (${headErrorText[code as 1]})`);
    });
  }

  test("every code has a text", () => {
    for (const code of Object.values(HeadError)) assert.ok(headErrorText[code].length > 0);
  });
});

describe("parseRequest: offsets", () => {
  test("request line, spans and special indexes", () => {
    const raw = head("POST /p?q HTTP/1.1", "Host:  a.example ", "X-Forwarded-For: 1.2.3.4", "Upgrade: ws", "Content-Length: 2");
    const { code, h, buf } = parse(`${raw}hi`);
    assert.equal(code, 0);
    assert.equal(h.methodEnd, 4);
    assert.equal(h.targetStart, 5);
    assert.equal(h.targetEnd, 9);
    assert.equal(h.headersStart, 20);
    assert.equal(h.end, raw.length);
    assert.equal(h.count, 4);
    // line start, name end, value start, value end (OWS trimmed)
    const host = raw.indexOf("Host");
    assert.deepEqual([...h.spans.subarray(0, 4)], [host, host + 4, host + 7, host + 16]);
    const xff = raw.indexOf("X-Forwarded-For");
    assert.deepEqual([...h.spans.subarray(4, 8)], [xff, xff + 15, xff + 17, xff + 24]);
    assert.equal(h.host, 0);
    assert.equal(h.xff, 1);
    assert.equal(h.upgrade, 2);
    assert.equal(h.flags[2], H_UPGRADE);
    assert.equal(h.contentLength, 2);
    assert.equal(h.dropped, 1, "X-Forwarded-For is replaced by the writer");
    assert.equal(h.wantsUpgrade, false, "no Connection: upgrade");
    assert.deepEqual(lines(buf, h), ["Host=a.example", "X-Forwarded-For=1.2.3.4 (drop)", "Upgrade=ws", "Content-Length=2"]);
  });

  test("HTTP/1.0 keep-alive, HTTP/1.1 close", () => {
    assert.deepEqual([parse(head("GET / HTTP/1.0")).h.connKeepAlive, parse(head("GET / HTTP/1.0", "Connection: Keep-Alive")).h.connKeepAlive], [false, true]);
    assert.deepEqual([parse(head("GET / HTTP/1.1", "Host: a")).h.connClose, parse(head("GET / HTTP/1.1", "Host: a", "Connection: Close")).h.connClose], [false, true]);
  });

  test("absent fields are -1", () => {
    const { h } = parse(head("GET / HTTP/1.0"));
    assert.deepEqual([h.host, h.xff, h.upgrade, h.contentLength, h.count, h.dropped], [-1, -1, -1, -1, 0, 0]);
  });

  test("identical Content-Lengths: accepted, the repeat dropped", () => {
    const { code, h } = parse(`${head("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Content-Length: 003")}abc`);
    assert.equal(code, 0);
    assert.equal(h.contentLength, 3);
    assert.deepEqual([h.flags[1], h.flags[2], h.dropped], [0, H_DROP, 1]);
  });

  test("hop-by-hop lines are flagged", () => {
    const { h, buf } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: keep-alive", "Keep-Alive: 5", "Proxy-Connection: x", "TE: trailers", "X-Forwarded-Proto: https", "X-Forwarded-Host: e", "Forwarded: for=1.2.3.4", "X-Keep: 1"));
    assert.deepEqual(lines(buf, h), [
      "Host=a", "Connection=keep-alive (drop)", "Keep-Alive=5 (drop)", "Proxy-Connection=x (drop)", "TE=trailers (drop)",
      "X-Forwarded-Proto=https (forwarding)", "X-Forwarded-Host=e (forwarding)", "Forwarded=for=1.2.3.4 (forwarding)", "X-Keep=1",
    ]);
    assert.equal(h.dropped, 4);
    // Kept from trusted proxies only: the writer decides (ForwardInfo.trusted).
    assert.deepEqual([h.fwd, h.xfp, h.xfh], [3, 5, 6]);
    assert.equal(h.connKeepAlive, true);
  });

  test("method classification", () => {
    const cases: [string, boolean, boolean][] = [
      ["GET", true, false], ["HEAD", true, true], ["PUT", true, false], ["DELETE", true, false], ["OPTIONS", true, false],
      ["TRACE", true, false], ["POST", false, false], ["PATCH", false, false], ["ACL", false, false], ["PURGE", false, false],
    ];
    for (const [m, idempotent, isHead] of cases) {
      const { h } = parse(head(`${m} / HTTP/1.1`, "Host: a"));
      assert.deepEqual([h.idempotent, h.isHead], [idempotent, isHead], m);
    }
  });

  test("every known method: its class (metrics label), idempotent, HEAD", () => {
    const named = new Set<string>(METHOD_NAMES);
    const idempotent = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);
    for (const m of METHODS) {
      const { code, h } = parse(head(`${m} / HTTP/1.1`, "Host: a"));
      assert.equal(code, 0, m);
      assert.deepEqual([METHOD_NAMES[h.method], h.idempotent, h.isHead], [named.has(m) ? m : "other", idempotent.has(m), m === "HEAD"], m);
    }
  });

  test("a reused Head keeps nothing from the previous message", () => {
    const h = new Head();
    parse(head("POST / HTTP/1.1", "Host: a", "Connection: close, x-a, upgrade", "X-A: 1", "Upgrade: ws", "Content-Length: 1", "X-Forwarded-For: 1"), h);
    const { h: again, buf } = parse(head("GET /x HTTP/1.1", "Host: b", "X-A: 2"), h);
    assert.deepEqual(lines(buf, again), ["Host=b", "X-A=2"]);
    assert.deepEqual(
      [again.contentLength, again.chunked, again.connClose, again.connUpgrade, again.upgrade, again.xff, again.dropped, again.connTokens.length],
      [-1, false, false, false, -1, -1, 0, 0],
    );
  });
});

describe("a reused Head", () => {
  /** Every field of `h` that describes the message (spans and flags of its lines only). */
  function state(h: Head, isRequest: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { ...h, wantsUpgrade: h.wantsUpgrade };
    out.spans = [...h.spans.subarray(0, h.count * 4)];
    out.flags = [...h.flags.subarray(0, h.count)];
    // A response has no request line: parseResponse leaves those fields alone.
    if (!isRequest) for (const k of ["methodEnd", "targetStart", "targetEnd", "pathStart", "method"]) delete out[k];
    return out;
  }
  const messages: [string, string][] = [
    ["req", head("HEAD http://a.example/x HTTP/1.1", "Host: a.example", "Connection: keep-alive, upgrade, X-A", "X-A: 1", "Upgrade: ws", "X-Forwarded-For: 1", "X-Forwarded-Proto: https", "X-Forwarded-Host: b", "Forwarded: for=1", "TE: trailers")],
    ["req", `${head("POST / HTTP/1.1", "Host: b", "Transfer-Encoding: chunked", "Proxy-Connection: close")}0\r\n\r\n`],
    ["req", head("PUT /p HTTP/1.0", "Content-Length: 3", "Content-Length: 3")],
    ["req", head("GET / HTTP/1.1", "Host: c")],
    ["res", head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: upgrade, keep-alive, X-B", "X-B: 1")],
    ["res", head("HTTP/1.0 200 OK", "Transfer-Encoding: gzip")],
    ["res", head("HTTP/1.1 204 No Content")],
  ];
  test("the lines past count (the previous message's) are neither looked up nor dropped", () => {
    // Each time the previous head's second line sits where this message's next bytes say the same name.
    const h = new Head();
    parse(head("GET / HTTP/1.0", "X-A: 123", "Cookie: 2"), h);
    const { buf } = parse(`${head("GET / HTTP/1.0", "X-A: 1")}Cookie: x`, h);
    assert.equal(findHeader(buf, h, "cookie"), -1);
    parse(head("GET / HTTP/1.0", "X-Padding: 123456", "X-B: 2"), h);
    parse(`${head("GET / HTTP/1.0", "Connection: X-B")}X-B: 9`, h);
    assert.equal(h.dropped, 1);
  });

  test("after any message, the same fields as a fresh Head", () => {
    for (const [prevKind, prev] of messages) {
      for (const [kind, raw] of messages) {
        const h = new Head();
        (prevKind === "req" ? parse : parseRes)(prev, h);
        const isRequest = kind === "req";
        const { code } = (isRequest ? parse : parseRes)(raw, h);
        const fresh = (isRequest ? parse : parseRes)(raw);
        assert.equal(code, 0, raw);
        assert.deepEqual(state(h, isRequest), state(fresh.h, isRequest), `${JSON.stringify(prev)} then ${JSON.stringify(raw)}`);
      }
    }
  });
});

describe("Connection-listed headers", () => {
  test("a listed header is dropped, case-insensitively, from any Connection line", () => {
    const { h, buf } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: X-Private", "x-private: 1", "X-Public: 2", "connection: close, X-OTHER", "X-Other: 3"));
    assert.deepEqual(lines(buf, h), ["Host=a", "Connection=X-Private (drop)", "x-private=1 (drop)", "X-Public=2", "connection=close, X-OTHER (drop)", "X-Other=3 (drop)"]);
    assert.equal(h.dropped, 4);
    assert.equal(h.connClose, true);
    assert.deepEqual(h.connTokens.length, 4, "two [start, end) pairs");
  });

  test("empty list members are skipped", () => {
    const { code, h } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: , ,close,,", "X-A: 1"));
    assert.equal(code, 0);
    assert.equal(h.connClose, true);
    assert.equal(h.dropped, 1);
  });

  test("Host is never dropped", () => {
    const { h, buf } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: host"));
    assert.deepEqual(lines(buf, h), ["Host=a", "Connection=host (drop)"]);
  });

  test("regression: Connection: content-length must not strip the framing header (smuggling)", () => {
    // Before the fix the forwarded head lost its Content-Length and the body reached the
    // server as a second request.
    const { code, h, buf } = parse(`${head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Connection: Content-Length")}abcde`);
    assert.equal(code, 0);
    assert.deepEqual(lines(buf, h), ["Host=a", "Content-Length=5", "Connection=Content-Length (drop)"]);
  });

  test("regression: Connection: transfer-encoding must not strip the framing header (smuggling)", () => {
    const { code, h, buf } = parse(`${head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Connection: transfer-encoding")}0\r\n\r\n`);
    assert.equal(code, 0);
    assert.deepEqual(lines(buf, h), ["Host=a", "Transfer-Encoding=chunked", "Connection=transfer-encoding (drop)"]);
  });

  test("a listed Upgrade is dropped and no longer counts", () => {
    const { h } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: upgrade, Upgrade-Insecure", "Upgrade: ws"));
    assert.equal(h.wantsUpgrade, true, "Connection: upgrade is the token, not a listed header");
    const { h: h2 } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: x, upgrade", "Connection: Upgrade", "Upgrade: ws"));
    assert.equal(h2.wantsUpgrade, true);
  });

  test("regression: an empty Upgrade is no upgrade (llhttp does not switch on it) and is dropped", () => {
    const { code, h, buf } = parse(head("GET / HTTP/1.1", "Host: a", "Upgrade: ", "Connection: upgrade"));
    assert.equal(code, 0);
    assert.deepEqual([h.upgrade, h.wantsUpgrade], [-1, false]);
    assert.deepEqual(lines(buf, h), ["Host=a", "Upgrade= (drop)", "Connection=upgrade (drop)"]);
    const { h: h2 } = parse(head("GET / HTTP/1.1", "Host: a", "Upgrade:", "Upgrade: websocket", "Connection: upgrade"));
    assert.deepEqual([h2.upgrade, h2.wantsUpgrade], [2, true]);
  });

  test("regression: Proxy-Connection is read like Connection, as llhttp does", () => {
    // `Proxy-Connection: close` ended the connection for llhttp but not for us, so a
    // pipelined request after it was ours alone.
    const close = parse(head("GET / HTTP/1.1", "Host: a", "Proxy-Connection: close, X-A", "X-A: 1")).h;
    assert.deepEqual([close.connClose, close.dropped], [true, 2]);
    assert.equal(parse(head("GET / HTTP/1.0", "Proxy-Connection: keep-alive")).h.connKeepAlive, true);
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", "Upgrade: ws", "Proxy-Connection: Upgrade")).h.wantsUpgrade, true);
    assert.equal(parseRes(head("HTTP/1.1 200 OK", "Proxy-Connection: close", "Content-Length: 0")).h.connClose, true);
  });

  test("upgrade needs both the token and the header, and HTTP/1.1", () => {
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", "Connection: upgrade")).h.wantsUpgrade, false);
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", "Upgrade: ws")).h.wantsUpgrade, false);
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", "Upgrade: ws", "Connection: Upgrade")).h.wantsUpgrade, true);
    assert.equal(parse(head("GET / HTTP/1.0", "Upgrade: ws", "Connection: upgrade")).code, HeadError.BAD_UPGRADE);
  });
});

describe("parseRequest: edges of the table", () => {
  // [name, lines, code]
  const cases: [string, string[], number][] = [
    ["one wrong byte in HTTP", ["GET / hTTP/1.1", "Host: a"], HeadError.BAD_REQUEST_LINE],
    ["a tab between the target and the version", ["GET /a\tHTTP/1.1", "Host: a"], HeadError.BAD_REQUEST_LINE],
    ["HTTP/1.0 with Connection: upgrade and no Upgrade line", ["GET / HTTP/1.0", "Connection: upgrade"], 0],
    ["a zero Content-Length, then another", ["POST / HTTP/1.1", "Host: a", "Content-Length: 0", "Content-Length: 5"], HeadError.CONFLICTING_LENGTH],
    ["Host with #", ["GET / HTTP/1.1", "Host: a#b"], HeadError.BAD_HOST],
    ["Host with a quote", ["GET / HTTP/1.1", 'Host: a"b'], HeadError.BAD_HOST],
  ];
  for (const [name, fields, want] of cases) {
    test(name, () => assert.equal(parse(head(...fields)).code, want));
  }

  test("the first of two lines is the one indexed, also as the first line of the head", () => {
    const u = parse(head("GET / HTTP/1.1", "Upgrade: websocket", "Host: a", "Upgrade: other", "Connection: upgrade")).h;
    assert.deepEqual([u.upgrade, u.wantsUpgrade], [0, true]);
    const f = parse(head("GET / HTTP/1.1", "X-Forwarded-Host: a", "Host: a", "X-Forwarded-Host: b")).h;
    assert.deepEqual([f.xfh, f.fwd], [0, 2]);
    const p = parse(head("GET / HTTP/1.1", "X-Forwarded-Proto: https", "Host: a", "X-Forwarded-Proto: http")).h;
    assert.deepEqual([p.xfp, p.fwd], [0, 2]);
  });

  test("names as long as te, Forwarded and X-Forwarded-Host are not them", () => {
    const { h, buf } = parse(head("GET / HTTP/1.1", "Host: a", "DN: 1", "X-Nine-Ch: 2", "Content-Language: en"));
    assert.deepEqual(lines(buf, h), ["Host=a", "DN=1", "X-Nine-Ch=2", "Content-Language=en"]);
    assert.deepEqual([h.dropped, h.fwd, h.xfh], [0, 0, -1]);
  });

  test("Connection: tabs and spaces around members, and empty members", () => {
    const { code, h } = parse(head("GET / HTTP/1.1", "Host: a", "Connection: close ,\tkeep-alive\t, X-A", "X-A: 1"));
    assert.equal(code, 0);
    assert.deepEqual([h.connClose, h.connKeepAlive, h.dropped, h.connTokens.length], [true, true, 2, 2]);
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", "Connection: , ,close,,")).h.connTokens.length, 0, "no empty names");
  });

  // [Upgrade value, dropped as h2c]: h2c as an element of the list, any case (h2csmuggler).
  const h2c: [string, boolean][] = [
    ["h2c", true], ["H2C", true], ["websocket, h2c", true], ["h2c,websocket", true], ["h2c ,websocket", true], ["h2c\t,websocket", true],
    ["h2cx", false], ["xh2c", false], ["websocket", false], ["websocket,", false],
  ];
  for (const [value, dropped] of h2c) {
    test(`Upgrade: ${JSON.stringify(value)} is ${dropped ? "" : "not "}an h2c upgrade`, () => {
      const { code, h } = parse(head("GET / HTTP/1.1", "Host: a", `Upgrade: ${value}`, "Connection: upgrade"));
      assert.equal(code, 0);
      assert.deepEqual([h.flags[1], h.upgrade, h.wantsUpgrade], dropped ? [H_DROP, -1, false] : [H_UPGRADE, 1, true]);
    });
  }
});

describe("parseRequest: absolute-form targets", () => {
  // [target, Host value, code]: the scheme is letters, then "://", then an authority equal to Host.
  const cases: [string, string, number][] = [
    ["zA://h9Zz.example/x", "H9zZ.EXAMPLE", 0],
    ["http://a~b/", "a^b", HeadError.HOST_MISMATCH],
    ["://a/", "a", HeadError.BAD_TARGET],
    ["h~ttp://a/", "a", HeadError.BAD_TARGET],
    ["http;//a/", "a", HeadError.BAD_TARGET],
    ["http:x/a/", "a", HeadError.BAD_TARGET],
    ["http:/aa/x", "a", HeadError.BAD_TARGET],
  ];
  for (const [target, host, want] of cases) {
    test(`${target} with Host: ${host}`, () => {
      const { code, h, buf } = parse(head(`GET ${target} HTTP/1.1`, `Host: ${host}`));
      assert.equal(code, want, headErrorText[code as 1]);
      if (code === 0) assert.equal(buf.toString("latin1", h.authStart, h.authEnd), "h9Zz.example");
    });
  }
});

describe("parseRequest: limits", () => {
  test("exactly MAX_HEADERS lines pass, one more fails", () => {
    const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-${i}: ${i}`);
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", ...many(MAX_HEADERS - 1))).code, 0);
    assert.equal(parse(head("GET / HTTP/1.1", "Host: a", ...many(MAX_HEADERS))).code, HeadError.TOO_MANY_HEADERS);
  });

  test("a method of 32 bytes is looked up (unknown), one of 33 is a malformed line", () => {
    assert.equal(parse(head(`${"A".repeat(32)} / HTTP/1.1`, "Host: a")).code, HeadError.BAD_METHOD);
    assert.equal(parse(head(`${"A".repeat(33)} / HTTP/1.1`, "Host: a")).code, HeadError.BAD_REQUEST_LINE);
  });

  test("regression: a tab after chunked is refused (llhttp refuses it; spaces are fine)", () => {
    assert.equal(parse(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked\t")).code, HeadError.UNSUPPORTED_CODING);
    assert.equal(parse(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked \t ")).code, HeadError.UNSUPPORTED_CODING);
    assert.equal(parse(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:\tchunked  ")).code, 0);
  });
});

describe("findHeadEnd", () => {
  const msg = bytes(head("GET / HTTP/1.1", "Host: a"));
  test("offset after CRLFCRLF, -1 while incomplete", () => {
    assert.equal(findHeadEnd(msg, 0, msg.length), msg.length);
    for (let len = 0; len < msg.length; len++) assert.equal(findHeadEnd(msg, 0, len), -1, `len ${len}`);
  });
  test("only the first head counts; `from` resumes a search", () => {
    const two = Buffer.concat([msg, msg]);
    assert.equal(findHeadEnd(two, 0, two.length), msg.length);
    assert.equal(findHeadEnd(two, msg.length - 3, two.length), msg.length);
  });
  test("a search that starts inside CRLFCRLF finds only a whole one", () => {
    // The LF at 1 is bare, but before `from`: what follows is CRLF, not CRLFCRLF.
    assert.equal(findHeadEnd(bytes("A\n\r\n"), 2, 4), -1);
  });
  test("bare LF is refused at once, wherever it is", () => {
    for (const raw of ["\n", "GET / HTTP/1.1\n", "GET / HTTP/1.1\r\nHost: a\n", "GET / HTTP/1.1\r\n\n", "GET / HTTP/1.1\r\nA: b\r\n\n\r\n"]) {
      assert.equal(findHeadEnd(bytes(raw), 0, raw.length), -HeadError.BARE_LF, JSON.stringify(raw));
    }
  });
});

describe("skipEmptyLines", () => {
  test("CRLF pairs only, from `from`", () => {
    const cases: [string, number, number][] = [
      // [bytes, from, offset of the first byte after the empty lines]
      ["\r\n\r\nGET", 0, 4], ["GET", 0, 0], ["\r\n", 0, 2], ["\r\n\r", 0, 2], ["\r\r\n", 0, 0], ["\n\r\n", 0, 0], ["x\r\n\r\nG", 1, 5], ["x\r\nG", 2, 2],
    ];
    for (const [raw, from, want] of cases) assert.equal(skipEmptyLines(bytes(raw), from), want, JSON.stringify(raw));
  });
});

describe("findHeader / headerValue", () => {
  test("first match, case-insensitive; latin1 value", () => {
    const { h, buf } = parse(head("GET / HTTP/1.1", "Host: a", "Cookie: x=1", "COOKIE: x=2", "X-Name: caf\xe9"));
    assert.equal(findHeader(buf, h, "cookie"), 1);
    assert.equal(findHeader(buf, h, "missing"), -1);
    assert.equal(headerValue(buf, h, 3), "caf\xe9");
  });
});

describe("parseResponse", () => {
  const ok: [string, string, number, number][] = [
    ["200 OK", "HTTP/1.1 200 OK", 200, 11],
    ["HTTP/1.0", "HTTP/1.0 404 Not Found", 404, 10],
    ["missing reason phrase", "HTTP/1.1 204", 204, 11],
    ["empty reason phrase", "HTTP/1.1 204 ", 204, 11],
    ["obs-text and tabs in the reason", "HTTP/1.1 200 \xc7a\tva", 200, 11],
    ["100 Continue", "HTTP/1.1 100 Continue", 100, 11],
    ["103 Early Hints", "HTTP/1.1 103 Early Hints", 103, 11],
    ["599", "HTTP/1.1 599 x", 599, 11],
  ];
  for (const [name, line, status, version] of ok) {
    test(`status line: ${name}`, () => {
      const { code, h } = parseRes(head(line, "Content-Length: 0"));
      assert.equal(code, 0);
      assert.deepEqual([h.status, h.version, h.contentLength], [status, version, 0]);
    });
  }

  const bad: [string, string, number][] = [
    ["two-digit status", "HTTP/1.1 20 OK", HeadError.BAD_STATUS_LINE],
    ["four-digit status", "HTTP/1.1 2000 OK", HeadError.BAD_STATUS_LINE],
    ["status 600", "HTTP/1.1 600 X", HeadError.BAD_STATUS_LINE],
    ["status 099", "HTTP/1.1 099 X", HeadError.BAD_STATUS_LINE],
    ["tab after the status", "HTTP/1.1 200\tOK", HeadError.BAD_STATUS_LINE],
    ["two spaces before the status", "HTTP/1.1  200 OK", HeadError.BAD_STATUS_LINE],
    ["lower-case version", "http/1.1 200 OK", HeadError.BAD_STATUS_LINE],
    ["HTTP/2", "HTTP/2 200 OK", HeadError.BAD_STATUS_LINE],
    ["HTTP/1.2", "HTTP/1.2 200 OK", HeadError.BAD_VERSION],
    ["NUL in the reason", "HTTP/1.1 200 O\0K", HeadError.BAD_STATUS_LINE],
    ["a byte below 0 in the tens", "HTTP/1.1 2/0 OK", HeadError.BAD_STATUS_LINE],
    ["a byte below 0 in the units", "HTTP/1.1 20/ OK", HeadError.BAD_STATUS_LINE],
  ];
  for (const [name, line, code] of bad) {
    test(`refused: ${name}`, () => assert.equal(parseRes(head(line, "Content-Length: 0")).code, code));
  }

  const framing: [string, string[], { chunked: boolean; untilClose: boolean; contentLength: number } | number][] = [
    ["chunked", ["Transfer-Encoding: chunked"], { chunked: true, untilClose: false, contentLength: -1 }],
    ["chunked last in a list", ["Transfer-Encoding: gzip, chunked"], { chunked: true, untilClose: false, contentLength: -1 }],
    ["chunked last over two lines", ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"], { chunked: true, untilClose: false, contentLength: -1 }],
    ["chunked not last: until close", ["Transfer-Encoding: chunked, gzip"], { chunked: false, untilClose: true, contentLength: -1 }],
    ["chunked not last over two lines", ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"], { chunked: false, untilClose: true, contentLength: -1 }],
    ["no framing", [], { chunked: false, untilClose: false, contentLength: -1 }],
    ["Content-Length", ["Content-Length: 12"], { chunked: false, untilClose: false, contentLength: 12 }],
    ["Content-Length and chunked", ["Content-Length: 12", "Transfer-Encoding: chunked"], HeadError.LENGTH_AND_CHUNKED],
    ["chunked and Content-Length", ["Transfer-Encoding: chunked", "Content-Length: 12"], HeadError.LENGTH_AND_CHUNKED],
    // regression: a non-chunked coding with a length was framed by the length; RFC 9112 §6.3 says TE wins
    ["regression: gzip coding with Content-Length is refused", ["Transfer-Encoding: gzip", "Content-Length: 12"], HeadError.LENGTH_AND_CHUNKED],
    ["different Content-Lengths", ["Content-Length: 1", "Content-Length: 2"], HeadError.CONFLICTING_LENGTH],
    // regression: llhttp reads `chunked<TAB>` as not chunked (until close) while we read it as chunked
    ["regression: chunked followed by a tab is refused", ["Transfer-Encoding: chunked\t"], HeadError.UNSUPPORTED_CODING],
    ["chunked followed by spaces", ["Transfer-Encoding: gzip, chunked  "], { chunked: true, untilClose: false, contentLength: -1 }],
    // regression: an empty Transfer-Encoding was read as until close; llhttp refuses it
    ["regression: empty Transfer-Encoding is refused", ["Transfer-Encoding:  "], HeadError.UNSUPPORTED_CODING],
    ["a list of nothing: until close", ["Transfer-Encoding: , ,"], { chunked: false, untilClose: true, contentLength: -1 }],
    ["bad Content-Length", ["Content-Length: 1x"], HeadError.BAD_CONTENT_LENGTH],
    ["chunked and Content-Length: 0", ["Transfer-Encoding: chunked", "Content-Length: 0"], HeadError.LENGTH_AND_CHUNKED],
    ["chunked right after the colon", ["Transfer-Encoding:chunked"], { chunked: true, untilClose: false, contentLength: -1 }],
    ["chunked after a comma and a tab", ["Transfer-Encoding: gzip,\tchunked"], { chunked: true, untilClose: false, contentLength: -1 }],
  ];
  for (const [name, fields, want] of framing) {
    test(`framing: ${name}`, () => {
      const { code, h } = parseRes(head("HTTP/1.1 200 OK", ...fields));
      if (typeof want === "number") return assert.equal(code, want);
      assert.equal(code, 0);
      assert.deepEqual({ chunked: h.chunked, untilClose: h.untilClose, contentLength: h.contentLength }, want);
    });
  }

  test("Connection, Keep-Alive and listed headers are dropped; Host is not checked", () => {
    const { code, h, buf } = parseRes(head("HTTP/1.1 200 OK", "Connection: close, X-Hop", "Keep-Alive: 5", "X-Hop: 1", "Host: a", "Host: b"));
    assert.equal(code, 0);
    assert.equal(h.connClose, true);
    assert.deepEqual(lines(buf, h), ["Connection=close, X-Hop (drop)", "Keep-Alive=5 (drop)", "X-Hop=1 (drop)", "Host=a", "Host=b"]);
    assert.equal(h.host, -1);
  });

  test("regression: a 1xx that closes the connection is refused (llhttp closes, we read on)", () => {
    assert.equal(parseRes(head("HTTP/1.1 103 Early Hints", "Connection: close")).code, HeadError.BAD_INTERIM);
    assert.equal(parseRes(head("HTTP/1.0 100 Continue")).code, HeadError.BAD_INTERIM);
    assert.equal(parseRes(head("HTTP/1.0 100 Continue", "Connection: keep-alive")).code, 0);
    assert.equal(parseRes(head("HTTP/1.0 200 OK")).code, 0, "a final response may close");
    assert.equal(parseRes(head("HTTP/1.0 101 Switching Protocols", "Upgrade: x")).code, 0, "a 101 is not interim: the connection is the new protocol's");
  });

  test("101 with Upgrade", () => {
    const { code, h } = parseRes(head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"));
    assert.equal(code, 0);
    assert.deepEqual([h.status, h.upgrade, h.connUpgrade, h.flags[0]], [101, 0, true, H_UPGRADE]);
  });

  test("X-Forwarded-* are a request matter", () => {
    const { h } = parseRes(head("HTTP/1.1 200 OK", "X-Forwarded-For: 1", "Content-Length: 0"));
    assert.deepEqual([h.xff, h.dropped], [-1, 0]);
  });
});
