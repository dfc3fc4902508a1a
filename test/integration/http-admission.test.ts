// Admission control on an HTTP/1.1 listener, byte-exact on raw sockets: what it meters
// (a connection's first request, and every upgrade), what a refused request gets (503
// with a Retry-After from the rate; a WebSocket 101 then a 1013 close frame), and what
// it counts and publishes. Written for mutants of src/gateway/http/exchange-dispatch.ts
// (#pick, #refuseAdmission) and upgrade.ts (acceptThenClose) (issue 15).
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { ERROR_CODE_LIST } from "../../src/errors.ts";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events, on, type AdmissionRefused } from "../../src/gateway/diagnostics.ts";
import { okResponse, tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";

// RFC 6455 § 1.3's example key and the accept value it must get.
const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const upgrade = (key: string | null) =>
  `GET /ws${key === null ? "-keyless" : key === "" ? "-empty-key" : ""} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key === null ? "" : `Sec-WebSocket-Key: ${key}\r\n`}Sec-WebSocket-Version: 13\r\n\r\n`;

const REFUSED_BODY = "503 Service Unavailable: server a of backend b is admitting no more new connections right now\n";

/** A server close frame (unmasked, short): its code and reason, or null when `bytes` is not one. */
function closeFrame(bytes: Buffer): { code: number; reason: string } | null {
  if (bytes.length < 4 || bytes[0] !== 0x88 || bytes[1]! > 125 || bytes.length !== 2 + bytes[1]!) return null;
  return { code: bytes.readUInt16BE(2), reason: bytes.subarray(4).toString("utf8") };
}

/** Resolves when `s` closes; fails after `ms`. */
function closed(s: Socket, ms: number): Promise<void> {
  if (s.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the gateway did not close the connection within ${ms} ms`)), ms);
    s.once("close", () => (clearTimeout(t), resolve()));
  });
}

test("admission meters a connection's first request and every upgrade, not the later requests it admitted: 503 + Retry-After, or 101 then 1013, for the rest of the rate's interval; counted, published and logged without a server", async () => {
  // One token per 1000 s, a burst of one: the first request takes it, and the next
  // token is 1000 s after that, less the time the test has taken so far.
  const seen: string[] = [];
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      const line = d.toString("latin1").split("\r\n")[0]!;
      seen.push(line);
      s.write(okResponse(line));
    });
  });
  // The gateway's clock (its timer wheel's, performance.now()) starts after t0: the token
  // is taken after t0, so a refusal at any moment up to now waits at least 1000 s - (now - t0).
  const t0 = performance.now();
  const minWaitMs = () => 1_000_000 - (performance.now() - t0);
  const gw = await startGateway(simpleConfig([{ name: "a", port: server.port }], "    admission: { rate: 0.001, burst: 1 }"));
  const refusals: AdmissionRefused[] = [];
  const records: AccessRecord[] = [];
  const offs = [on(events.admissionRefused, (m) => refusals.push(m)), gw.on(events.exchangeFinished, ({ record }) => records.push({ ...record }))];
  const admitted = rawClient(gw.port());
  try {
    assert.ok((await admitted.request("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n")).endsWith("\r\n\r\nGET /1 HTTP/1.1"));
    assert.ok((await admitted.request("GET /2 HTTP/1.1\r\nHost: t\r\n\r\n")).endsWith("\r\n\r\nGET /2 HTTP/1.1"), "a later request of an admitted connection is not metered");

    // A new connection: 503, Retry-After the seconds to the next token, jittered up to
    // twice that (jitteredRetryAfter: ms in [wait, 2 × wait - 1], rounded up to seconds).
    const refused = await rawExchange(gw.port(), "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.match(refused.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.ok(refused.text.endsWith(`\r\n\r\n${REFUSED_BODY}`), refused.text);
    const retryAfter = Number(/\r\nRetry-After: (\d+)\r\n/.exec(refused.text)?.[1]);
    const floorS = Math.ceil(minWaitMs() / 1000);
    assert.ok(retryAfter >= floorS && retryAfter <= 2000, `Retry-After: ${retryAfter}, not in [${floorS}, 2000]`);

    // A WebSocket upgrade on the admitted connection is metered: accepted, then closed with 1013.
    admitted.socket.write(upgrade(WS_KEY));
    const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${WS_ACCEPT}\r\n\r\n`;
    const answer = await admitted.readUntil((t) => t.length > head.length && closeFrame(Buffer.from(t.slice(head.length), "latin1")) !== null, 5000);
    assert.equal(answer.slice(0, head.length), head);
    const frame = closeFrame(Buffer.from(answer.slice(head.length), "latin1"))!;
    assert.equal(frame.code, 1013);
    const ms = Number(/^retry-after=(\d+)$/.exec(frame.reason)?.[1]);
    const floorMs = minWaitMs();
    assert.ok(ms >= floorMs && ms < 2_000_000, `close reason ${JSON.stringify(frame.reason)}, not in [${floorMs}, 2000000)`);
    await closed(admitted.socket, 5000);

    // A WebSocket upgrade without a Sec-WebSocket-Key, or with an empty one, cannot be accepted: a plain 503.
    for (const key of [null, ""]) {
      const keyless = await rawExchange(gw.port(), upgrade(key), 5000);
      assert.match(keyless.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.ok(keyless.text.endsWith(`\r\n\r\n${REFUSED_BODY}`), keyless.text);
    }

    assert.deepEqual(seen, ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"], "no refused request reaches the server");
    const a = gw.gw.backends.get("b")!.servers[0]!;
    assert.equal(a.stats.admissionRejected, 4);
    assert.equal(gw.gw.data.counters.admissionRejected, 4);
    assert.equal(gw.gw.data.counters.errors[ERROR_CODE_LIST.indexOf("HF_ERR_ADMISSION")], 4);
    assert.deepEqual(refusals.map((m) => [m.plane === gw.gw.data, m.listener, m.backend.name, m.server.name, m.websocket]), [
      [true, "web", "b", "a", false],
      [true, "web", "b", "a", true],
      [true, "web", "b", "a", true],
      [true, "web", "b", "a", true],
    ]);
    // The access records: the refusals name no server (none was connected to). (The
    // refused WebSocket's own record says status 0 and no error: reported in issue 15,
    // not pinned here.)
    const REQ_1 = Buffer.byteLength("GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.deepEqual(records.filter((r) => r.path !== "/ws").map((r) => [r.path, r.status, r.error, r.server, r.bytesIn, r.upstreamReused]), [
      ["/1", 200, undefined, "a", REQ_1, false],
      ["/2", 200, undefined, "a", REQ_1, true],
      ["/3", 503, "HF_ERR_ADMISSION", "", REQ_1, false],
      ["/ws-keyless", 503, "HF_ERR_ADMISSION", "", Buffer.byteLength(upgrade(null)), false],
      ["/ws-empty-key", 503, "HF_ERR_ADMISSION", "", Buffer.byteLength(upgrade("")), false],
    ]);
  } finally {
    for (const off of offs) off();
    admitted.close();
    await gw.close();
    await server.close();
  }
});
