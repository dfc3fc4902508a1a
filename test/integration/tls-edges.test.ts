// TLS termination (src/gateway/tls/front.ts) across reloads: ALPN follows `protocols` for
// new handshakes, and certificate files broken after the config was read refuse the
// reload with the file named, the old certificate serving on.
import assert from "node:assert/strict";
import { once } from "node:events";
import { copyFileSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { join } from "node:path";
import { test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { loadConfig } from "../../src/config/load.ts";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { makeCa } from "../support/tls.ts";
import { within } from "../support/wait.ts";

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
async function handshake(port: number, ca: string): Promise<{ alpn: string | false; serial: string }> {
  const s = tlsConnect({ port, host: "127.0.0.1", ca, servername: "alpn.test", ALPNProtocols: ["h2", "http/1.1"] });
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
    // The same files, whole again: the reload goes through and new handshakes get the new certificate.
    copyFileSync(second.keyPath, live.key);
    await gw.gw.reload(next);
    assert.notEqual((await handshake(gw.port(), ca.cert)).serial, before);
  } finally {
    await gw.close();
    await be.close();
  }
});
