import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyClose, observe, OriginCounters, snapshot, totals, type CloseReason, type CloseSeen, type ConnectTiming } from "./stats.ts";

const tlsByName: ConnectTiming = { dnsMs: 1, tcpMs: 0.5, tlsMs: 2.5, lookedUp: true, tls: true };
const plainByIp: ConnectTiming = { dnsMs: 0, tcpMs: 0.2, tlsMs: 0, lookedUp: false, tls: false };
const live = { protocol: "h1", idle: 0, pending: 0 } as const;

test("classifyClose: what the socket showed → why it closed", () => {
  const quiet: CloseSeen = { closing: false, sawEnd: false, errorCode: undefined, errorMessage: undefined, resetAsked: false };
  const cases: [string, Partial<CloseSeen>, CloseReason][] = [
    ["undici's idle timer", { errorCode: "UND_ERR_INFO", errorMessage: "socket idle timeout" }, "idleTimeout"],
    ["server's FIN seen by undici", { sawEnd: true, errorCode: "UND_ERR_SOCKET", errorMessage: "other side closed" }, "serverClosed"],
    ["FIN without an error", { sawEnd: true }, "serverClosed"],
    ["'other side closed' before our end listener", { errorCode: "UND_ERR_SOCKET", errorMessage: "other side closed" }, "serverClosed"],
    ["Connection: close / short keep-alive hint", { errorCode: "UND_ERR_INFO", errorMessage: "reset" }, "serverClosed"],
    ["a request asked for reset", { errorCode: "UND_ERR_INFO", errorMessage: "reset", resetAsked: true }, "local"],
    ["a reset from the server", { errorCode: "ECONNRESET", errorMessage: "read ECONNRESET" }, "error"],
    ["headers timeout", { errorCode: "UND_ERR_HEADERS_TIMEOUT", errorMessage: "Headers Timeout Error" }, "error"],
    ["HTTP/2 frame error", { errorCode: "UND_ERR_INFO", errorMessage: "HTTP/2: \"frameError\" received" }, "error"],
    ["pool closing wins over everything", { closing: true, sawEnd: true, errorCode: "ECONNRESET" }, "local"],
    ["closed by us without an error", {}, "local"],
  ];
  for (const [what, seen, want] of cases) assert.equal(classifyClose({ ...quiet, ...seen }), want, what);
});

test("observe: non-cumulative buckets, upper bound inclusive, last = +Inf", () => {
  const counts = [0, 0, 0];
  for (const v of [0, 1, 1.5, 2, 3, 1e9]) observe([1, 2], counts, v);
  assert.deepEqual(counts, [2, 2, 2]);
});

test("counters: reuse counted per request; savings only where they were real", () => {
  const c = new OriginCounters();
  const a = c.opened(tlsByName, 1000);
  const b = c.opened(plainByIp, 1000);
  for (let i = 0; i < 3; i++) c.sent(a); // 1 new + 2 reused
  c.sent(b); // new
  c.sent(b); // reused, but no DNS and no TLS on that connection
  assert.deepEqual([c.requests, c.reused, c.dnsLookupsSaved, c.tlsHandshakesSaved], [5, 3, 2, 2]);
  assert.equal(c.meanHandshakeMs(), (4 + 0.2) / 2);
  assert.deepEqual([a.requests, b.requests], [3, 2]);
});

test("counters: a close observes requests and lifetime, once per connection", () => {
  const c = new OriginCounters();
  const a = c.opened(tlsByName, 1000);
  c.sent(a);
  c.sent(a);
  c.closed(a, "idleTimeout", 31_000);
  const s = snapshot(c, live);
  assert.equal(s.open, 0);
  assert.deepEqual(s.closeReasons, { idleTimeout: 1, serverClosed: 0, error: 0, local: 0 });
  assert.deepEqual([s.requestsPerConnection.count, s.requestsPerConnection.sum, s.requestsPerConnection.counts[1]], [1, 2, 1]);
  assert.deepEqual([s.connectionLifetimeSeconds.count, s.connectionLifetimeSeconds.sum], [1, 30]);
  assert.equal(s.connectionLifetimeSeconds.counts[5], 1, "30 s: the (15, 30] bucket");
  assert.equal(s.handshakeSeconds.counts[2], 1, "4 ms: the (2.5, 5] ms bucket");
});

test("snapshot: handshakeMsSaved = mean measured handshake × reused requests; rates; live view passed through", () => {
  const c = new OriginCounters();
  const a = c.opened({ dnsMs: 10, tcpMs: 20, tlsMs: 30, lookedUp: true, tls: true }, 0);
  const b = c.opened({ dnsMs: 0, tcpMs: 20, tlsMs: 10, lookedUp: false, tls: true }, 0);
  for (let i = 0; i < 10; i++) c.sent(a);
  c.sent(b);
  const s = snapshot(c, { protocol: "h2", idle: 1, pending: 4 });
  assert.deepEqual(s.handshakeMs, { mean: 45, dns: 5, tcp: 20, tls: 20 });
  assert.equal(s.connectionsReused, 9);
  assert.equal(s.handshakeMsSaved, 45 * 9);
  assert.equal(s.reuseRate, 9 / 11);
  assert.deepEqual([s.protocol, s.idle, s.pending, s.open], ["h2", 1, 4, 2]);
  assert.deepEqual(snapshot(new OriginCounters(), live).reuseRate, 0, "no request: 0, not NaN");
  assert.equal(snapshot(new OriginCounters(), live).handshakeMsSaved, 0);
});

test("totals: sums, each origin saving at its own mean", () => {
  const fast = new OriginCounters();
  const slow = new OriginCounters();
  const f = fast.opened({ dnsMs: 0, tcpMs: 1, tlsMs: 1, lookedUp: false, tls: true }, 0);
  const s = slow.opened({ dnsMs: 50, tcpMs: 100, tlsMs: 200, lookedUp: true, tls: true }, 0);
  for (let i = 0; i < 101; i++) fast.sent(f);
  for (let i = 0; i < 3; i++) slow.sent(s);
  slow.connectFailed();
  fast.retries = 2;
  const t = totals({ "https://fast": snapshot(fast, live), "https://slow": snapshot(slow, live) });
  assert.deepEqual([t.requests, t.connectionsCreated, t.connectionsReused, t.dnsLookupsSaved, t.tlsHandshakesSaved], [104, 2, 102, 2, 102]);
  assert.equal(t.handshakeMsSaved, 2 * 100 + 350 * 2);
  assert.equal(t.reuseRate, 102 / 104);
  assert.deepEqual([t.connectErrors, t.retries], [1, 2]);
  assert.deepEqual(Object.keys(t.origins), ["https://fast", "https://slow"]);
});
