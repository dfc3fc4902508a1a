// TLS termination (src/gateway/tls/front.ts) across reloads: ALPN follows `protocols` for
// new handshakes, and certificate files broken after the config was read refuse the
// reload with the file named, the old certificate serving on; and a TlsFront on its own
// socket: its counters, its log of a failed handshake, ticket keys that rotate.
import assert from "node:assert/strict";
import { once } from "node:events";
import { copyFileSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { join } from "node:path";
import { test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../../src/config/load.ts";
import type { HttpListenerConfig } from "../../src/config/types.ts";
import { newListenerCounters, TlsFront } from "../../src/gateway/tls/front.ts";
import type { TicketKeys } from "../../src/gateway/tls/tickets.ts";
import type { Logger } from "../../src/log.ts";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { makeCa } from "../support/tls.ts";
import { until, within } from "../support/wait.ts";

const yaml = (be: Backend, cert: string, key: string, protocols: string) => `
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, protocols: [${protocols}], tls: { cert: ${cert}, key: ${key} }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`;

const load = (text: string) => {
  const r = loadConfig(text, { env: {}, baseDir: "/" });
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return r.config;
};

/** The protocol ALPN chose for a client offering h2 and http/1.1 (false: none), and the certificate's serial. */
async function handshake(port: number, ca: string, sni = true): Promise<{ alpn: string | false; serial: string }> {
  // Without SNI (a client connecting to an IP sends none) the name is not checked.
  const s = tlsConnect({ port, host: "127.0.0.1", ca, ALPNProtocols: ["h2", "http/1.1"], ...(sni ? { servername: "alpn.test" } : { checkServerIdentity: () => undefined }) });
  s.on("error", () => {});
  await within(once(s, "secureConnect"), 10_000, "the handshake");
  const r = { alpn: s.alpnProtocol ?? false, serial: s.getPeerCertificate().serialNumber };
  s.destroy();
  return r;
}

test("a reload that drops h2 from protocols: new handshakes choose http/1.1, an h2 connection made before goes on; adding it back offers h2 again", async () => {
  const ca = makeCa();
  const pem = ca.issue(["alpn.test"]);
  const be = await httpBackend("a");
  const gw = await startGateway(yaml(be, pem.certPath, pem.keyPath, "http1, h2"));
  try {
    assert.equal((await handshake(gw.port(), ca.cert)).alpn, "h2");
    const h2 = h2connect(`https://127.0.0.1:${gw.port()}`, { ca: ca.cert, servername: "alpn.test" });
    await within(once(h2, "connect"), 10_000, "the h2 connection");
    await gw.gw.reload(load(yaml(be, pem.certPath, pem.keyPath, "http1")));
    assert.equal((await handshake(gw.port(), ca.cert)).alpn, "http/1.1");
    const s = h2.request({ ":path": "/kept" });
    s.resume();
    await within(once(s, "end"), 10_000, "a response on the h2 connection made before");
    h2.close();
    await gw.gw.reload(load(yaml(be, pem.certPath, pem.keyPath, "http1, h2")));
    assert.equal((await handshake(gw.port(), ca.cert)).alpn, "h2");
    assert.deepEqual(be.requests.map((r) => r.url), ["/kept"]);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("protocols [h2]: a client offering only http/1.1 is refused in the handshake (no_application_protocol), counted as failed", async () => {
  const ca = makeCa();
  const pem = ca.issue(["alpn.test"]);
  const be = await httpBackend("a");
  const gw = await startGateway(yaml(be, pem.certPath, pem.keyPath, "h2"));
  try {
    const s = tlsConnect({ port: gw.port(), host: "127.0.0.1", ca: ca.cert, servername: "alpn.test", ALPNProtocols: ["http/1.1"] });
    const err = await within(new Promise<Error | null>((resolve) => (s.once("error", resolve), s.once("secureConnect", () => resolve(null)))), 10_000, "the handshake's end");
    s.destroy();
    assert.equal((err as { code?: string } | null)?.code, "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL");
    await until(() => gw.gw.data.listenerCounters("web")!.failed === 1, 10_000, "the failed handshake to be counted");
    assert.equal(gw.gw.data.listenerCounters("web")!.handshakes, 0);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("certificate files broken after the config was read: the reload is refused naming both files, the old certificate serves on", async () => {
  const ca = makeCa();
  const [first, second] = [ca.issue(["alpn.test"]), ca.issue(["alpn.test"])];
  const live = { cert: join(ca.dir, "edge-cert.pem"), key: join(ca.dir, "edge-key.pem") };
  copyFileSync(second.certPath, live.cert);
  copyFileSync(second.keyPath, live.key);
  const be = await httpBackend("a");
  const gw = await startGateway(yaml(be, first.certPath, first.keyPath, "http1"));
  try {
    const before = (await handshake(gw.port(), ca.cert)).serial;
    const next = load(yaml(be, live.cert, live.key, "http1"));
    // The key of another certificate: OpenSSL refuses the pair.
    copyFileSync(first.keyPath, live.key);
    await assert.rejects(gw.gw.reload(next), (e: Error) => {
      assert.ok(e.message.startsWith(`TLS certificate ${live.cert} (key ${live.key}) refused: `), e.message);
      assert.ok(e.message.length > `TLS certificate ${live.cert} (key ${live.key}) refused: `.length, "OpenSSL's reason follows");
      return true;
    });
    assert.equal((await handshake(gw.port(), ca.cert)).serial, before);
    // The same files, whole again: the reload goes through and new handshakes get the new
    // certificate, with SNI or without (the server's own context, not SNICallback's).
    copyFileSync(second.keyPath, live.key);
    await gw.gw.reload(next);
    const after = (await handshake(gw.port(), ca.cert)).serial;
    assert.notEqual(after, before);
    assert.equal((await handshake(gw.port(), ca.cert, false)).serial, after);
    // A reload that changes the listener (its routes) but not its certificates reads no
    // certificate file again: a file broken on disk meanwhile does not refuse it.
    const routes = load(yaml(be, live.cert, live.key, "http1").replace("routes: [{ backend: b }]", "routes: [{ match: { pathPrefix: / }, backend: b }]"));
    copyFileSync(first.keyPath, live.key);
    await gw.gw.reload(routes);
    assert.equal((await handshake(gw.port(), ca.cert)).serial, after);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a TlsFront on its own: counters for a full, a resumed and a failed handshake; the failure logged; rotated ticket keys refuse an old ticket", async () => {
  const ca = makeCa();
  const pem = ca.issue(["front.test"]);
  const cfg = load(`
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath}, minVersion: TLSv1.3 }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:1 }] }
`).listeners[0] as HttpListenerConfig;
  // Ticket keys the test rotates by hand (TlsFront reads `current()` and subscribes).
  let keys = Buffer.alloc(48, 1);
  let rotate: ((k: Buffer) => void) | undefined;
  let unsubscribed = 0;
  const tickets = { current: () => keys, subscribe: (fn: (k: Buffer) => void) => ((rotate = fn), () => void unsubscribed++) } as unknown as TicketKeys;
  const counters = newListenerCounters();
  const logged: unknown[][] = [];
  const log = { debug: (...args: unknown[]) => logged.push(args) } as unknown as Logger;
  // Each connection is held open by the server until its client leaves (a ticket comes after the handshake).
  const front = new TlsFront(cfg, tickets, counters, (s) => s.on("error", () => {}), log);
  front.server.listen(0, "127.0.0.1");
  await once(front.server, "listening");
  const port = (front.server.address() as AddressInfo).port;
  /** One handshake; `ticket`: wait for the session ticket the server sends after it. */
  const connectOnce = async (opts: { session?: Buffer; maxVersion?: "TLSv1.2"; ticket?: boolean } = {}) => {
    const { ticket, ...tlsOpts } = opts;
    const s = tlsConnect({ port, host: "127.0.0.1", ca: ca.cert, servername: "front.test", ...tlsOpts });
    s.on("error", () => {});
    const session = new Promise<Buffer>((resolve) => s.once("session", resolve));
    const ok = await within(new Promise<boolean>((resolve) => (s.once("secureConnect", () => resolve(true)), s.once("close", () => resolve(false)))), 10_000, "the handshake's end");
    const r = { ok, reused: ok && s.isSessionReused(), session: ticket === true ? await within(session, 10_000, "a ticket") : undefined };
    // end(), not destroy(): the client's last handshake bytes go out before its FIN.
    if (ok) {
      const closed = new Promise((resolve) => s.once("close", resolve));
      s.end();
      await within(closed, 10_000, "the connection to close");
    }
    return r;
  };
  try {
    const first = await connectOnce({ ticket: true });
    assert.deepEqual([first.ok, first.reused], [true, false]);
    assert.deepEqual({ ...counters }, { handshakes: 1, resumed: 0, failed: 0, h1: 0, h2: 0 });
    const again = await connectOnce({ session: first.session });
    assert.equal(again.reused, true);
    // The server's side of a resumed handshake may end after the client's.
    await until(() => counters.handshakes === 2, 10_000, "the server to count the second handshake");
    assert.deepEqual({ ...counters }, { handshakes: 2, resumed: 1, failed: 0, h1: 0, h2: 0 });
    assert.equal((await connectOnce({ maxVersion: "TLSv1.2" })).ok, false);
    await until(() => counters.failed === 1, 10_000, "the failed handshake to be counted");
    assert.deepEqual({ ...counters }, { handshakes: 2, resumed: 1, failed: 1, h1: 0, h2: 0 });
    assert.equal(logged.length, 1);
    const [fields, message] = logged[0] as [{ client: string; err: string }, string];
    assert.equal(message, "TLS handshake failed");
    assert.equal(fields.client, "127.0.0.1");
    assert.match(fields.err, /unsupported protocol/);
    // New keys: a ticket issued under the old ones no longer resumes (a full handshake).
    const fresh = await connectOnce({ ticket: true });
    keys = Buffer.alloc(48, 2);
    rotate!(keys);
    const stale = await connectOnce({ session: fresh.session });
    assert.deepEqual([stale.ok, stale.reused], [true, false]);
    await until(() => counters.handshakes === 4, 10_000, "the server to count the fourth handshake");
    assert.equal(counters.resumed, 1);
    front.close();
    assert.equal(unsubscribed, 1, "close() unsubscribes from the rotations");
  } finally {
    await new Promise((r) => front.server.close(r));
  }
});
