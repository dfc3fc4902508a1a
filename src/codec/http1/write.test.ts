import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bytes, head } from "./corpus.kit.ts";
import { FWD } from "./differential.kit.ts";
import { Head, findHeadEnd, parseRequest, parseResponse } from "./head.ts";
import { startOracle, type Oracle } from "./llhttp-oracle.kit.ts";
import { ForwardInfo, writeRequestHead, writeResponseHead } from "./write.ts";

function req(raw: string, upgrade = false, fwd = FWD): { out: string; buf: Buffer; h: Head } {
  const buf = bytes(raw);
  const h = new Head();
  const end = findHeadEnd(buf, 0, buf.length);
  assert.equal(parseRequest(buf, end, h), 0);
  return { out: writeRequestHead(buf, h, fwd, upgrade, buf, end, buf.length).toString("latin1"), buf, h };
}

function res(raw: string, extra = "", withTail = true): { out: Buffer; buf: Buffer; h: Head } {
  const buf = bytes(raw);
  const h = new Head();
  const end = findHeadEnd(buf, 0, buf.length);
  assert.equal(parseResponse(buf, end, h), 0);
  const out = withTail ? writeResponseHead(buf, h, extra, buf, end, buf.length) : writeResponseHead(buf, h, extra, null, 0, 0);
  return { out, buf, h };
}

const XF = "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n";

describe("writeRequestHead", () => {
  test("nothing to drop: the head as sent, then the proxy's lines", () => {
    const { out } = req(head("GET /a?b HTTP/1.1", "Host: example.com", "Accept: */*"));
    assert.equal(out, `GET /a?b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n${XF}X-Forwarded-Host: example.com\r\n\r\n`);
  });

  test("hop-by-hop lines are gone, the rest keep their order and bytes", () => {
    const { out } = req(head(
      "GET / HTTP/1.1", "Connection: keep-alive, X-Hop", "Host: a", "Keep-Alive: timeout=5", "X-A:  1 ", "Proxy-Connection: keep-alive",
      "TE: trailers", "x-hop: secret", "Upgrade: h2c", "X-B: 2",
    ));
    assert.equal(out, `GET / HTTP/1.1\r\nHost: a\r\nX-A:  1 \r\nX-B: 2\r\n${XF}X-Forwarded-Host: a\r\n\r\n`);
  });

  test("regression: every Upgrade line goes when not upgrading (only the last one used to)", () => {
    const { out } = req(head("GET / HTTP/1.1", "Host: a", "Upgrade: a", "X-A: 1", "Upgrade: b"));
    assert.equal(out, `GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n${XF}X-Forwarded-Host: a\r\n\r\n`);
  });

  test("regression: an empty Upgrade line is not forwarded", () => {
    const { out } = req(head("GET / HTTP/1.1", "Host: a", "Upgrade:", "Connection: upgrade"));
    assert.equal(out, `GET / HTTP/1.1\r\nHost: a\r\n${XF}X-Forwarded-Host: a\r\n\r\n`);
  });

  test("an upgrade keeps Upgrade and says Connection: upgrade", () => {
    const { out, h } = req(head("GET /ws HTTP/1.1", "Host: a", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: k"), true);
    assert.equal(h.wantsUpgrade, true);
    assert.equal(out, `GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n${XF}X-Forwarded-Host: a\r\nConnection: upgrade\r\n\r\n`);
  });

  test("an absolute-form target is forwarded in origin-form (RFC 9112 §3.2.1, §3.2.4)", () => {
    const cases: [string, string, string][] = [
      // [request line, Host line or "", forwarded request line and Host]
      ["GET http://a.example/x?y=1 HTTP/1.1", "Host: a.example", "GET /x?y=1 HTTP/1.1\r\nHost: a.example"],
      ["GET http://a.example HTTP/1.1", "Host: a.example", "GET / HTTP/1.1\r\nHost: a.example"],
      ["GET http://a.example?q HTTP/1.1", "Host: a.example", "GET /?q HTTP/1.1\r\nHost: a.example"],
      ["OPTIONS http://a.example HTTP/1.1", "Host: a.example", "OPTIONS * HTTP/1.1\r\nHost: a.example"],
      ["OPTIONS http://a.example/p HTTP/1.1", "Host: a.example", "OPTIONS /p HTTP/1.1\r\nHost: a.example"],
      // HTTP/1.0 may omit Host: the authority becomes one.
      ["GET HTTP://A.example:8080/z HTTP/1.0", "", "GET /z HTTP/1.0\r\nHost: A.example:8080"],
    ];
    for (const [line, host, want] of cases) {
      const { out } = req(head(line, ...(host ? [host] : []), "X-A: 1"));
      const hostValue = /Host: (\S+)/.exec(want)![1];
      const expected = host
        ? `${want}\r\nX-A: 1\r\n${XF}X-Forwarded-Host: ${hostValue}\r\n\r\n`
        : `${want.split("\r\n")[0]}\r\nX-A: 1\r\nHost: ${hostValue}\r\n${XF}X-Forwarded-Host: ${hostValue}\r\n\r\n`;
      assert.equal(out, expected, line);
    }
  });

  test("the client's X-Forwarded-Proto and X-Forwarded-Host are replaced", () => {
    const { out } = req(head("GET / HTTP/1.1", "X-Forwarded-Proto: https", "Host: a", "X-Forwarded-Host: evil"), false, new ForwardInfo("10.0.0.1", "https"));
    assert.equal(out, "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: a\r\n\r\n");
  });

  const TRUSTED = new ForwardInfo("192.0.2.7", "http", true);

  test("regression: an untrusted client's X-Forwarded-For, X-Forwarded-Proto/-Host and Forwarded are replaced, not appended to", () => {
    const { out } = req(head("GET / HTTP/1.1", "X-Forwarded-For: 10.9.9.9", "Host: a", "X-Forwarded-Proto: https", "X-Forwarded-Host: admin", "Forwarded: for=10.9.9.9", "X-A: b"));
    assert.equal(out, `GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n${XF}X-Forwarded-Host: a\r\n\r\n`);
  });

  test("a trusted proxy's X-Forwarded-For lines are merged in order, the client address appended", () => {
    const { out } = req(head("GET / HTTP/1.1", "X-Forwarded-For: 1.1.1.1", "Host: a", "X-Forwarded-For:", "x-forwarded-for:  2.2.2.2, 3.3.3.3 ", "X-A: b"), false, TRUSTED);
    assert.equal(out, "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n");
  });

  test("a trusted proxy's X-Forwarded-Proto, X-Forwarded-Host and Forwarded are kept (a TLS terminator in front says https)", () => {
    const { out } = req(head("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 1.1.1.1", "X-Forwarded-Proto: https", "X-Forwarded-Host: www.example", "Forwarded: for=1.1.1.1;proto=https"), false, TRUSTED);
    assert.equal(out, "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example\r\nForwarded: for=1.1.1.1;proto=https\r\nX-Forwarded-For: 1.1.1.1, 192.0.2.7\r\n\r\n");
  });

  test("a Connection-listed X-Forwarded-For from a trusted proxy is still merged (it cannot hide the client)", () => {
    const { out } = req(head("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 1.1.1.1", "Connection: X-Forwarded-For"), false, TRUSTED);
    assert.match(out, /\r\nX-Forwarded-For: 1\.1\.1\.1, 192\.0\.2\.7\r\n/);
  });

  test("a trusted proxy that sent only X-Forwarded-Proto, as the first line: its proto kept, our address alone", () => {
    const { out } = req(head("GET / HTTP/1.1", "X-Forwarded-Proto: https", "Host: a"), false, TRUSTED);
    assert.equal(out, "GET / HTTP/1.1\r\nX-Forwarded-Proto: https\r\nHost: a\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Host: a\r\n\r\n");
  });

  test("a trusted proxy's X-Forwarded-Host as the first line: kept, none of ours", () => {
    const { out } = req(head("GET / HTTP/1.1", "X-Forwarded-Host: www.example", "Host: a"), false, TRUSTED);
    assert.equal(out, `GET / HTTP/1.1\r\nX-Forwarded-Host: www.example\r\nHost: a\r\n${XF}\r\n`);
  });

  test("a trusted proxy's X-Forwarded-For: its bytes as sent (latin1), and no other 15-byte header merged", () => {
    const { out } = req(head("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 1.1.1.1, caf\xe9", "Accept-Language: en"), false, TRUSTED);
    assert.equal(out, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Language: en\r\nX-Forwarded-For: 1.1.1.1, caf\xe9, 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n");
  });

  test("a reused Head: only this head's X-Forwarded-For lines, not the last message's line at the same offsets", () => {
    // The previous head's second line sat where this head's next bytes say X-Forwarded-For again.
    const h = new Head();
    const prev = bytes(head("GET / HTTP/1.0", "X-Forwarded-For: 123", "X-Forwarded-For: 2"));
    assert.equal(parseRequest(prev, prev.length, h), 0);
    const buf = bytes(`${head("GET / HTTP/1.0", "X-Forwarded-For: 1")}X-Forwarded-For: 9\r\n`);
    const end = findHeadEnd(buf, 0, buf.length);
    assert.equal(parseRequest(buf, end, h), 0);
    const out = writeRequestHead(buf, h, TRUSTED, false, buf, end, end).toString("latin1");
    assert.equal(out, "GET / HTTP/1.0\r\nX-Forwarded-For: 1, 192.0.2.7\r\nX-Forwarded-Proto: http\r\n\r\n");
  });

  test("HTTP/1.0 without Host: no X-Forwarded-Host", () => {
    const { out } = req(head("GET / HTTP/1.0"));
    assert.equal(out, `GET / HTTP/1.0\r\n${XF}\r\n`);
  });

  test("body bytes follow the head in the same buffer", () => {
    const raw = `${head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Connection: close")}hello`;
    const buf = bytes(raw);
    const h = new Head();
    const end = findHeadEnd(buf, 0, buf.length);
    assert.equal(parseRequest(buf, end, h), 0);
    const out = writeRequestHead(buf, h, FWD, false, buf, end, end + 3).toString("latin1");
    assert.equal(out, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n${XF}X-Forwarded-Host: a\r\n\r\nhel`);
    const alone = writeRequestHead(buf, h, FWD, false, null, 0, 0).toString("latin1");
    assert.equal(alone, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n${XF}X-Forwarded-Host: a\r\n\r\n`, "no tail: the head alone");
  });

  test("regression: Connection: content-length keeps the Content-Length line", () => {
    const { out } = req(`${head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Connection: content-length")}hello`);
    assert.equal(out, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n${XF}X-Forwarded-Host: a\r\n\r\nhello`);
  });
});

describe("writeResponseHead", () => {
  const raw = `${head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5")}hello`;

  test("fast path: nothing to change returns the same bytes, not a copy", () => {
    const { out, buf } = res(raw);
    assert.equal(out.buffer, buf.buffer);
    assert.equal(out.byteOffset, buf.byteOffset);
    assert.equal(out.toString("latin1"), raw);
  });

  test("Connection, Keep-Alive and listed headers removed; extra lines added before the blank line", () => {
    const { out } = res(`${head("HTTP/1.1 200 OK", "Connection: keep-alive, X-Hop", "Content-Length: 2", "Keep-Alive: timeout=5", "X-Hop: 1", "Set-Cookie: a=b")}ok`, "Connection: close\r\nX-Extra: 1\r\n");
    assert.equal(out.toString("latin1"), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=b\r\nConnection: close\r\nX-Extra: 1\r\n\r\nok");
  });

  test("extra lines on an unchanged head, without a tail", () => {
    const { out } = res(raw, "X-Extra: 1\r\n", false);
    assert.equal(out.toString("latin1"), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Extra: 1\r\n\r\n");
  });

  test("Upgrade goes on a 200, stays on a 101", () => {
    assert.equal(res(head("HTTP/1.1 200 OK", "Upgrade: h2c", "Content-Length: 0")).out.toString("latin1"), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    const { out } = res(head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: x"), "Connection: upgrade\r\n");
    assert.equal(out.toString("latin1"), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n");
  });

  test("the body bytes are tail[tailStart, tailEnd), whatever buffer holds them", () => {
    const raw2 = `${head("HTTP/1.1 200 OK", "Content-Length: 2")}ok`;
    const buf = bytes(raw2);
    const h = new Head();
    const end = findHeadEnd(buf, 0, buf.length);
    assert.equal(parseResponse(buf, end, h), 0);
    const other = bytes(`${"#".repeat(end)}OK`);
    const cases: [string, Buffer, number, string, string][] = [
      // [what, tail, tailStart, extra, bytes sent]
      ["another buffer, at the head's length", other, end, "", `${head("HTTP/1.1 200 OK", "Content-Length: 2")}OK`],
      ["the head's buffer, past the head", buf, end + 1, "", `${head("HTTP/1.1 200 OK", "Content-Length: 2")}k`],
      ["the head's buffer, with extra lines", buf, end, "X-Extra: 1\r\n", `${head("HTTP/1.1 200 OK", "Content-Length: 2", "X-Extra: 1")}ok`],
      ["extra lines are latin1, a byte per character", buf, end, "X-Name: caf\xe9\r\n", `${head("HTTP/1.1 200 OK", "Content-Length: 2", "X-Name: caf\xe9")}ok`],
    ];
    for (const [what, tail, tailStart, extra, want] of cases) {
      assert.equal(writeResponseHead(buf, h, extra, tail, tailStart, end + 2).toString("latin1"), want, what);
    }
  });

  test("a 1xx is forwarded as is", () => {
    const { out } = res(head("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload"), "", false);
    assert.equal(out.toString("latin1"), head("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload"));
  });
});

describe("round trip through llhttp", () => {
  let oracle: Oracle;
  before(async () => {
    oracle = await startOracle();
  });
  after(() => oracle.close());

  const cases: [string, string, boolean, [string, string][], string][] = [
    ["plain GET", head("GET /a HTTP/1.1", "Host: a", "Accept: */*"), false,
      [["Host", "a"], ["Accept", "*/*"], ["X-Forwarded-For", "192.0.2.7"], ["X-Forwarded-Proto", "http"], ["X-Forwarded-Host", "a"]], ""],
    ["hop-by-hop and X-Forwarded", head("GET / HTTP/1.1", "Connection: close, X-Hop", "Host: a", "X-Hop: 1", "Keep-Alive: 1", "X-Forwarded-For: 1.1.1.1", "X-Forwarded-Host: e", "X-Forwarded-Proto: https", "TE: trailers", "Upgrade: h2c"), false,
      [["Host", "a"], ["X-Forwarded-For", "192.0.2.7"], ["X-Forwarded-Proto", "http"], ["X-Forwarded-Host", "a"]], ""],
    ["chunked POST", `${head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked")}3\r\nabc\r\n0\r\n\r\n`, false,
      [["Host", "a"], ["Transfer-Encoding", "chunked"], ["X-Forwarded-For", "192.0.2.7"], ["X-Forwarded-Proto", "http"], ["X-Forwarded-Host", "a"]], "abc"],
    ["Content-Length listed in Connection", `${head("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Connection: content-length")}abc`, false,
      [["Host", "a"], ["Content-Length", "3"], ["X-Forwarded-For", "192.0.2.7"], ["X-Forwarded-Proto", "http"], ["X-Forwarded-Host", "a"]], "abc"],
    ["identical Content-Lengths become one", `${head("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Content-Length: 3")}abc`, false,
      [["Host", "a"], ["Content-Length", "3"], ["X-Forwarded-For", "192.0.2.7"], ["X-Forwarded-Proto", "http"], ["X-Forwarded-Host", "a"]], "abc"],
    ["websocket upgrade", head("GET /ws HTTP/1.1", "Host: a", "Connection: Upgrade", "Upgrade: websocket"), true,
      [["Host", "a"], ["Upgrade", "websocket"], ["X-Forwarded-For", "192.0.2.7"], ["X-Forwarded-Proto", "http"], ["X-Forwarded-Host", "a"], ["Connection", "upgrade"]], ""],
  ];
  for (const [name, raw, upgrade, headers, body] of cases) {
    test(name, async () => {
      const { out } = req(raw, upgrade);
      const seen = await oracle.send(bytes(out));
      assert.equal(seen.error, null);
      assert.equal(seen.messages.length, 1);
      const m = seen.messages[0]!;
      assert.deepEqual(m.headers, headers);
      assert.equal(m.upgrade, upgrade);
      if (!upgrade) assert.deepEqual([m.body, m.complete], [body, true]);
    });
  }
});
