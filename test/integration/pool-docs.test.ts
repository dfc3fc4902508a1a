// Every ```ts example of docs/pool.md runs, as written, against a local HTTPS server
// standing in for https://api.example.com (trusted through NODE_EXTRA_CA_CERTS).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { h1Server, type CountingServer } from "../support/counting-servers.ts";
import { testPki } from "../support/tls.ts";

const repo = path.resolve(import.meta.dirname, "..", "..");
const doc = readFileSync(path.join(repo, "docs", "pool.md"), "utf8");
const examples = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
const dir = mkdtempSync(path.join(tmpdir(), "holdfast-pool-docs-"));
let server: CountingServer;

before(async () => {
  writeFileSync(path.join(dir, "ca.pem"), testPki().ca);
  server = await h1Server("https", (req, res) => {
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], {
      timeout: 10_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem") },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout + stderr }));
  });
}

test("docs/pool.md has examples", () => {
  assert.ok(examples.length >= 4, `found ${examples.length} examples`);
});

for (const [i, code] of examples.entries()) {
  test(`docs/pool.md example ${i + 1} runs`, { timeout: 15_000 }, async () => {
    const source = code
      .replaceAll('from "holdfast/pool"', `from ${JSON.stringify(pathToFileURL(path.join(repo, "src", "pool", "index.ts")).href)}`)
      .replaceAll('from "prom-client"', `from ${JSON.stringify(import.meta.resolve("prom-client"))}`)
      .replaceAll("https://api.example.com", server.url);
    const file = path.join(dir, `example-${i + 1}.ts`);
    writeFileSync(file, source);
    const before = server.requests;
    const { code: exit, out } = await run(file);
    assert.equal(exit, 0, `example ${i + 1} failed:\n${out}`);
    assert.ok(server.requests > before, `example ${i + 1} sent no request`);
    assert.doesNotMatch(out, /Error/, out);
  });
}
