import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { httpBackend, type Backend } from "../support/backends.ts";
import { runCli, startGatewayProcess, type GatewayProcess } from "../support/cli.ts";
import { childPids, ownerOf } from "../support/procs.ts";
import { makeCa, tlsConnection, type Pem, type TestCa, type TlsConnection } from "../support/tls.ts";
import { until } from "../support/wait.ts";

// TLS in a real `holdfast gateway` process, with one process and with two workers:
// certificates reloaded by SIGHUP and by `holdfast reload` (what certbot's deploy hook
// runs), and session tickets that resume on whichever worker the kernel picks.

const NAME = "reload.test";

function gatewayYaml(workers: number, backendPort: number, cert: string, key: string): string {
  return `admin: { listen: 127.0.0.1:0 }
workers: ${workers}
shutdown: { delay: 0s, timeout: 5s }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${cert}, key: ${key} }, routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${backendPort} }] }
`;
}

/** The gateway's processes that serve connections: its workers, or itself with `workers: 1`. */
function servingPids(g: GatewayProcess, workers: number): number[] {
  return workers === 1 ? [g.pid] : childPids(g.pid);
}

/**
 * New connections until each serving process accepted at least one; every one must show
 * the certificate with CN `cn`. Returns how many were made.
 */
async function everyProcessServes(g: GatewayProcess, ca: TestCa, pids: readonly number[], cn: string): Promise<number> {
  const seen = new Set<number>();
  let made = 0;
  while (seen.size < pids.length) {
    assert.ok(made < 200, `200 connections reached only ${[...seen].join(",")} of ${pids.join(",")}`);
    const c = await tlsConnection(g.port(), ca.cert, { servername: NAME });
    made++;
    try {
      assert.equal(c.cn, cn, `connection ${made}`);
      assert.equal((await c.request(`/new${made}`)).status, 200);
      const pid = ownerOf(g.port(), c.socket.localPort!, pids);
      if (pid !== undefined) seen.add(pid);
    } finally {
      c.close();
    }
  }
  return made;
}

/** Keep-alive connections, one held by each serving process (the others closed). */
async function onePerProcess(g: GatewayProcess, ca: TestCa, pids: readonly number[]): Promise<TlsConnection[]> {
  const held = new Map<number, TlsConnection>();
  for (let i = 0; i < 200 && held.size < pids.length; i++) {
    const c = await tlsConnection(g.port(), ca.cert, { servername: NAME });
    assert.equal((await c.request("/kept")).status, 200);
    const pid = ownerOf(g.port(), c.socket.localPort!, pids);
    if (pid !== undefined && !held.has(pid)) held.set(pid, c);
    else c.close();
  }
  assert.equal(held.size, pids.length, "a kept connection on each serving process");
  return [...held.values()];
}

const reloads = (g: GatewayProcess) => g.logs().filter((l) => l.msg === "reload" && l.summary !== "no changes").length;
const refusals = (g: GatewayProcess) => g.logs().filter((l) => String(l.msg).startsWith("reload refused"));

for (const workers of [1, 2]) {
  test(`workers: ${workers} — a renewed certificate is served after SIGHUP and after \`holdfast reload\`; kept connections go on; a broken file is refused, logged, and the old certificate keeps serving`, { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-tls-reload-"));
    const ca = makeCa();
    // Three certificates for the same name, told apart by their CN (and serial).
    const [v1, v2, v3] = ["v1", "v2", "v3"].map((v) => ca.issue([`${v}.${NAME}`, NAME])) as [Pem, Pem, Pem];
    const live = { cert: join(dir, "fullchain.pem"), key: join(dir, "privkey.pem") };
    const install = (p: Pem) => {
      copyFileSync(p.certPath, live.cert);
      copyFileSync(p.keyPath, live.key);
    };
    install(v1);
    const be: Backend = await httpBackend("a");
    const file = join(dir, "holdfast.yaml");
    writeFileSync(file, gatewayYaml(workers, be.port, live.cert, live.key));
    // No --pid-file: `holdfast reload -c FILE` finds the gateway by the config's path,
    // as in certbot's `--deploy-hook "holdfast reload -c /etc/holdfast/holdfast.yaml"`.
    let g: GatewayProcess | undefined;
    const kept: TlsConnection[] = [];
    try {
      g = await startGatewayProcess(file);
      const gw = g;
      const pids = servingPids(gw, workers);
      assert.equal(pids.length, workers);
      await everyProcessServes(gw, ca, pids, `v1.${NAME}`);
      kept.push(...(await onePerProcess(gw, ca, pids)));
      const keptWork = async (step: string) => {
        for (const c of kept) {
          assert.equal((await c.request(`/kept-${step.replace(/\W+/g, "-")}`)).status, 200, `a kept connection after ${step}`);
          assert.equal(c.cn, `v1.${NAME}`, "it keeps the certificate of its handshake");
        }
      };

      // (a) certbot renewed the files in place; SIGHUP.
      install(v2);
      gw.proc.kill("SIGHUP");
      await until(() => reloads(gw) === 1, 15_000, () => `the reload in the log:\n${gw.output().slice(-2000)}`);
      await everyProcessServes(gw, ca, pids, `v2.${NAME}`);
      await keptWork("SIGHUP");

      // (b) renewed again; `holdfast reload -c FILE`.
      install(v3);
      const cli = await runCli(["reload", "-c", file]);
      assert.equal(cli.code, 0, cli.stderr);
      await until(() => reloads(gw) === 2, 15_000, () => `the second reload in the log:\n${gw.output().slice(-2000)}`);
      await everyProcessServes(gw, ca, pids, `v3.${NAME}`);
      await keptWork("holdfast reload");

      // A broken certificate file (SIGHUP), then a key that is not the certificate's
      // (`holdfast reload`): both refused by path and logged; v3 keeps serving.
      writeFileSync(live.cert, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
      gw.proc.kill("SIGHUP");
      await until(() => refusals(gw).length === 1, 15_000, () => `a refusal in the log:\n${gw.output().slice(-2000)}`);
      assert.match(JSON.stringify(refusals(gw)[0]!.errors), /listeners\[0\]\.tls\.cert: /);
      await everyProcessServes(gw, ca, pids, `v3.${NAME}`);
      copyFileSync(v3.certPath, live.cert);
      copyFileSync(v1.keyPath, live.key);
      assert.equal((await runCli(["reload", "-c", file])).code, 0);
      await until(() => refusals(gw).length === 2, 15_000, () => `a second refusal in the log:\n${gw.output().slice(-2000)}`);
      assert.match(JSON.stringify(refusals(gw)[1]!.errors), /listeners\[0\]\.tls\.key: /);
      await everyProcessServes(gw, ca, pids, `v3.${NAME}`);
      await keptWork("the refused reloads");
      assert.equal(reloads(gw), 2, "no reload was applied after the first two");
      for (const c of kept) c.close();
      kept.length = 0;
      assert.equal(await gw.stop(), 0);
    } finally {
      for (const c of kept) c.close();
      await g?.stop();
      await be.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("workers: 2 — a session ticket from one connection resumes on both workers, over many new connections (TLS 1.3 and 1.2)", { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-tls-tickets-"));
  const ca = makeCa();
  const pem = ca.issue([NAME]);
  const be = await httpBackend("a");
  const file = join(dir, "holdfast.yaml");
  writeFileSync(file, gatewayYaml(2, be.port, pem.certPath, pem.keyPath));
  let g: GatewayProcess | undefined;
  try {
    g = await startGatewayProcess(file);
    const workers = childPids(g.pid);
    assert.equal(workers.length, 2);
    for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
      const first = await tlsConnection(g.port(), ca.cert, { servername: NAME, maxVersion });
      assert.equal(first.reused, false);
      assert.equal((await first.request("/first")).status, 200);
      const issuer = ownerOf(g.port(), first.socket.localPort!, workers);
      assert.ok(issuer !== undefined, "the worker that issued the ticket");
      const ticket = await first.session;
      first.close();
      // The same ticket on new connections until each worker resumed it at least 5 times.
      const resumedOn = new Map<number, number>(workers.map((w) => [w, 0]));
      let made = 0;
      while ([...resumedOn.values()].some((n) => n < 5)) {
        assert.ok(made < 300, `${maxVersion}: after ${made} connections, resumptions per worker ${JSON.stringify([...resumedOn])}`);
        const c = await tlsConnection(g.port(), ca.cert, { servername: NAME, maxVersion, session: ticket });
        made++;
        try {
          assert.equal(c.reused, true, `${maxVersion}: connection ${made} resumed the session`);
          assert.equal((await c.request(`/resumed${made}`)).status, 200);
          const w = ownerOf(g.port(), c.socket.localPort!, workers);
          if (w !== undefined) resumedOn.set(w, resumedOn.get(w)! + 1);
        } finally {
          c.close();
        }
      }
      const other = workers.find((w) => w !== issuer)!;
      assert.ok(resumedOn.get(other)! >= 5, `${maxVersion}: resumed on the worker that did not issue the ticket`);
    }
    assert.equal(await g.stop(), 0);
  } finally {
    await g?.stop();
    await be.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
