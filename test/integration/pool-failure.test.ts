// holdfast/pool against a server process that dies (SIGKILL) and comes back on the same
// port: what the caller sees, and what the statistics say.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { test } from "node:test";
import { Pools } from "../../src/pool/index.ts";
import { testPki } from "../support/tls.ts";

const pki = testPki();
const script = path.join(import.meta.dirname, "..", "support", "child-https-server.ts");

interface Child {
  readonly proc: ChildProcess;
  readonly port: number;
  /** Lines printed so far ("conn", "req GET /x"). */
  readonly lines: string[];
  /** Resolves when `line` has been printed. */
  printed(line: string): Promise<void>;
  kill(): Promise<void>;
}

async function startChild(port = 0): Promise<Child> {
  const proc = spawn(process.execPath, [script, String(port)], {
    env: { ...process.env, HOLDFAST_TEST_PKI: JSON.stringify({ key: pki.key, cert: pki.cert }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    lines.push(l);
    for (const w of waiters.filter((x) => x.line === l)) w.resolve();
  });
  const printed = (line: string): Promise<void> => {
    if (lines.includes(line)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child never printed ${JSON.stringify(line)}; got ${JSON.stringify(lines)}`)), 5000);
      waiters.push({ line, resolve: () => (clearTimeout(t), resolve()) });
    });
  };
  const listening = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("child server did not start within 5 s")), 5000);
    const check = setInterval(() => {
      const l = lines.find((x) => x.startsWith("listening "));
      if (l) {
        clearTimeout(t);
        clearInterval(check);
        resolve(Number(l.split(" ")[1]));
      }
    }, 10);
    proc.once("exit", (code) => {
      clearTimeout(t);
      clearInterval(check);
      reject(new Error(`child server exited with ${code}`));
    });
  });
  return {
    proc, port: listening, lines, printed,
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
    },
  };
}

test("a server that dies: in-flight POST fails, no retry; refused while down; a new connection after it is back", { timeout: 20_000 }, async () => {
  let child = await startChild();
  const url = `https://localhost:${child.port}`;
  const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
  try {
    for (let i = 0; i < 5; i++) await (await pools.request(`${url}/${i}`)).body.dump();
    const hanging = assert.rejects(pools.request(`${url}/hang`, { method: "POST", body: "x" }),
      (err: Error & { code?: string }) => ["UND_ERR_SOCKET", "ECONNRESET"].includes(err.code ?? ""));
    await child.printed("req POST /hang");
    await child.kill();
    await hanging;
    let o = pools.stats().origins[url]!;
    assert.equal(o.open, 0);
    assert.equal(o.closeReasons.serverClosed + o.closeReasons.error, 1, JSON.stringify(o.closeReasons));
    assert.equal(o.retries, 0);
    assert.deepEqual([o.requests, o.connectionsCreated], [6, 1]);
    assert.deepEqual(child.lines.filter((l) => l === "conn").length, 1);

    await assert.rejects(pools.request(`${url}/down`), { code: "ECONNREFUSED" });
    o = pools.stats().origins[url]!;
    assert.deepEqual([o.connectErrors, o.requests, o.connectionsCreated, o.retries], [1, 6, 1, 0]);

    child = await startChild(child.port);
    assert.equal(await (await pools.request(`${url}/back`)).body.text(), "ok");
    o = pools.stats().origins[url]!;
    assert.deepEqual([o.requests, o.connectionsCreated, o.open], [7, 2, 1]);
    // The child prints on its stdout, which can reach us after its response did.
    await child.printed("req GET /back");
    assert.deepEqual(child.lines.filter((l) => l !== `listening ${child.port}`), ["conn", "req GET /back"]);
  } finally {
    await pools.close();
    await child.kill();
  }
});

test("an idempotent request in flight when the server dies is retried once, then the failure reaches the caller", { timeout: 20_000 }, async () => {
  const child = await startChild();
  const url = `https://localhost:${child.port}`;
  const pools = new Pools({ connections: 1, tls: { ca: pki.ca } });
  try {
    await (await pools.request(`${url}/warm`)).body.dump();
    // The retry leaves at once: it meets the port closed (refused) or, while the kernel
    // is still tearing the process down, its listening socket's last gasp (reset).
    const hanging = assert.rejects(pools.request(`${url}/hang`),
      (err: Error & { code?: string }) => ["ECONNREFUSED", "ECONNRESET", "UND_ERR_SOCKET"].includes(err.code ?? ""));
    await child.printed("req GET /hang");
    await child.kill();
    await hanging;
    const o = pools.stats().origins[url]!;
    assert.deepEqual([o.retries, o.open], [1, 0]);
    assert.equal(o.connectErrors + o.connectionsCreated, 2, "the retry tried one new connection");
  } finally {
    await pools.close();
    await child.kill();
  }
});
