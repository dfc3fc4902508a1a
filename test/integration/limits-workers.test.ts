// listeners[].limits with two worker processes: the limits are per process, so one
// client gets at most twice maxConnectionsPerClient, and /metrics sums the workers'
// refusals. A process test, apart from limits.test.ts (in process): the gateway runs in
// child processes, out of a mutation run's sight (no mutant is ever killed here), and its
// waits on three processes starting (20 s) and answering (3 s) failed the http-listener
// module's dry run at load 20 on two cores.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseExposition, sumSamples } from "../support/admin.ts";
import { httpBackend } from "../support/backends.ts";
import { spawnHoldfast } from "../support/cluster.ts";
import { fixedPort } from "../support/ports.ts";
import { loopbackClient as client } from "../support/raw.ts";
import { waitFor } from "../support/wait.ts";

const REQ = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

test("limits with workers: 2 are per process: one client gets at most 2 x maxConnectionsPerClient, /metrics sums the refusals", async () => {
  const a = await httpBackend("a");
  const port = await fixedPort();
  const adminPort = await fixedPort();
  const proc = await spawnHoldfast(["gateway"], `
admin: { listen: 127.0.0.1:${adminPort} }
workers: 2
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:${port}
    limits: { maxConnectionsPerClient: 2 }
    routes: [ { backend: b } ]
backends:
  b: { servers: [ { name: a, address: 127.0.0.1:${a.port} } ] }
`, []);
  const open: ReturnType<typeof client>[] = [];
  try {
    // Both workers listen once a connection from elsewhere is served.
    await waitFor("the workers to serve", async () => {
      const c = client(port, "127.0.0.9", `${REQ.slice(0, -2)}Connection: close\r\n\r\n`);
      const text = await c.answer(1000).catch(() => "");
      c.socket.destroy();
      return /^HTTP\/1\.1 200 /.test(text);
    }, 20_000, 100);
    for (let i = 0; i < 10; i++) {
      const c = client(port, "127.0.0.2", REQ);
      await c.answer();
      open.push(c);
    }
    const ok = open.filter((c) => /^HTTP\/1\.1 200 /.test(c.text)).length;
    const refused = open.filter((c) => /^HTTP\/1\.1 503 [^]*too many connections from 127\.0\.0\.2/.test(c.text)).length;
    assert.equal(ok + refused, 10);
    assert.ok(ok >= 2 && ok <= 4, `${ok} connections admitted: each of the 2 workers admits at most 2`);
    await waitFor("the workers' refusals in /metrics", async () => {
      // The primary's admin API may come up after the workers serve: not up yet is "not yet".
      const text = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text(), () => "");
      const n = sumSamples(parseExposition(text).samples, "holdfast_connections_refused_total", { listener: "web", limit: "maxConnectionsPerClient" });
      return n === refused;
    }, 20_000, 100);
  } finally {
    for (const c of open) c.socket.destroy();
    proc.child.kill("SIGTERM");
    await proc.exited;
    await a.close();
  }
});
