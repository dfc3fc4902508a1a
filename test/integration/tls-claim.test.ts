import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { httpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";

// Regression: a listener with `tls` served plain HTTP while telling the backends
// `X-Forwarded-Proto: https` and marking sticky cookies `Secure` (issue 13). Until it
// terminates TLS, it must not claim to.
test("a listener that does not terminate TLS claims neither https nor Secure cookies", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-claim-"));
  writeFileSync(join(dir, "cert.pem"), "not parsed yet\n");
  writeFileSync(join(dir, "key.pem"), "not parsed yet\n");
  const a = await httpBackend("a");
  const gw = await startGateway(`
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    tls: { cert: ${join(dir, "cert.pem")}, key: ${join(dir, "key.pem")} }
    routes: [ { backend: b } ]
backends:
  b:
    sticky: { cookie: HF_SRV, ttl: 1h }
    servers: [ { name: a, address: 127.0.0.1:${a.port} } ]
`);
  try {
    const c = rawClient(gw.port());
    const res = await c.request("GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-Proto: https\r\n\r\n");
    c.close();
    assert.match(res, /^HTTP\/1\.1 200 /);
    const cookie = /^set-cookie: (.*)$/im.exec(res)?.[1];
    assert.ok(cookie !== undefined, "the sticky cookie is issued");
    assert.doesNotMatch(cookie, /Secure/i);
    assert.equal(a.requests.at(-1)!.headers["x-forwarded-proto"], "http");
  } finally {
    await gw.close();
    await a.close();
  }
});
