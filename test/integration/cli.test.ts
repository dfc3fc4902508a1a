import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpBackend } from "../support/backends.ts";
import { BIN, runCli } from "../support/cli.ts";
import { PROCESS_START_MS, within } from "../support/wait.ts";
import { concurrentTests } from "../support/concurrent.ts";

// Three tests at a time: each owns its gateway, servers and clients, and most of each
// is waiting on a timeout or a drain (test/support/concurrent.ts).
const tests = concurrentTests(3);

const dir = mkdtempSync(join(tmpdir(), "holdfast-cli-"));

/** Starts `holdfast gateway -c file`; resolves once every listener printed its port. */
async function startCli(file: string): Promise<{ proc: ChildProcess; ports: Record<string, number> }> {
  const proc = spawn(process.execPath, [BIN, "gateway", "-c", file], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOLDFAST_LOG: "warn" } });
  const ports: Record<string, number> = {};
  let out = "";
  await within(new Promise<void>((resolve, reject) => {
    proc.on("exit", (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
    proc.stdout!.on("data", (d) => {
      out += d;
      for (const m of out.matchAll(/listener (\S+) \(\w+\) listening on [\d.]+:(\d+)/g)) ports[m[1]!] = Number(m[2]);
      if (Object.keys(ports).length > 0 && out.endsWith("\n")) resolve();
    });
  }), PROCESS_START_MS, "the gateway to print its listeners").catch((e: unknown) => {
    proc.kill("SIGKILL");
    throw e;
  });
  proc.removeAllListeners("exit");
  return { proc, ports };
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]);
}

tests.test("holdfast check: every error with its path, exit 1; a valid file, exit 0", async () => {
  const bad = join(dir, "bad.yaml");
  writeFileSync(
    bad,
    `admin: { listen: 127.0.0.1:9900 }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:8080, routes: [ { backend: nope } ], bogus: 1 }
backends:
  api:
    balance: round-robin
    timeouts: { connect: 5 seconds }
    servers: [ { name: a, address: "no-port" , weight: 0 } ]
`,
  );
  const r = await runCli(["check", "-c", bad]);
  assert.equal(r.code, 1);
  const all = r.stdout + r.stderr;
  // Each of the five errors, one line each, starting with its path.
  assert.deepEqual(
    all.split("\n").filter(Boolean).map((l) => l.slice(0, l.indexOf(": "))),
    ["listeners[0].routes[0].backend", "listeners[0].bogus", "backends.api.timeouts.connect", "backends.api.servers[0].address", "backends.api.servers[0].weight"],
    all,
  );
  assert.match(all, /expected a duration like "5s", got "5 seconds"/);

  const good = join(dir, "good.yaml");
  writeFileSync(good, `listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]\nbackends: { b: { servers: [ { name: a, address: 127.0.0.1:1 } ] } }\n`);
  const ok = await runCli(["check", "-c", good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok/);

  const missing = await runCli(["check", "-c", join(dir, "missing.yaml")]);
  assert.equal(missing.code, 2);
});

tests.test("holdfast gateway refuses an invalid config and starts nothing", async () => {
  const bad = join(dir, "bad2.yaml");
  writeFileSync(bad, `listeners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]\nbackends: { b: { balance: nope, servers: [ { name: a, address: 127.0.0.1:1 } ] } }\n`);
  const r = await runCli(["gateway", "-c", bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /backends\.b\.balance/);
  assert.match(r.stderr, /nothing was started/);
  assert.doesNotMatch(r.stdout, /listening/);
});

tests.test("holdfast --help documents the commands", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0);
  for (const c of ["gateway", "check", "demo"]) assert.match(r.stdout, new RegExp(c));
});

tests.test("64 MiB up and 64 MiB down through the gateway grow its memory by less than 16 MiB", async () => {
  // 4 times the bound each way: a gateway that buffered a body would show it 4 times
  // over. (It was 1 GiB each way, then 256 MiB: most of this file's time, for the same
  // verdict.)
  const SIZE = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const be = await httpBackend("big", (req, res) => {
    if (req.method === "POST") {
      let n = 0;
      req.on("data", (c: Buffer) => (n += c.length));
      req.on("end", () => res.end(String(n)));
      return;
    }
    res.writeHead(200, { "content-length": SIZE });
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  const file = join(dir, "big.yaml");
  writeFileSync(file, `admin: { listen: 127.0.0.1:0 }\nworkers: 1\nlisteners: [ { name: web, mode: http, listen: 127.0.0.1:0, routes: [ { backend: b } ] } ]\nbackends: { b: { servers: [ { name: big, address: 127.0.0.1:${be.port} } ] } }\n`);
  const { proc, ports } = await startCli(file);
  const pid = proc.pid!;
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    // warm up once so JIT and pools are in place before the baseline
    await within(new Promise<void>((resolve, reject) => request({ port: ports.web, host: "127.0.0.1", method: "POST", headers: { "content-length": 3 } }, (r) => r.resume().on("end", resolve)).on("error", reject).end("abc")), 30_000, "the warm-up request");
    const base = rssKiB(pid);
    let peak = base;
    sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 20);
    // The bounds below only rule out a hang (a response that never ends), not a slow machine.
    const upload = await within(new Promise<string>((resolve, reject) => {
      const req = request({ port: ports.web, host: "127.0.0.1", method: "POST", path: "/up", headers: { "content-length": SIZE } }, (res) => {
        let s = "";
        res.on("data", (d) => (s += d));
        res.on("end", () => resolve(s));
        res.on("error", reject);
      });
      req.on("error", reject);
      let sent = 0;
      const pump = () => {
        while (sent < SIZE) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    }), 120_000, `the ${SIZE}-byte upload's response`);
    assert.equal(upload, String(SIZE));
    const downloaded = await within(new Promise<number>((resolve, reject) => {
      request({ port: ports.web, host: "127.0.0.1", path: "/down" }, (res) => {
        let n = 0;
        res.on("data", (c: Buffer) => (n += c.length));
        res.on("end", () => resolve(n));
        res.on("error", reject);
      })
        .on("error", reject)
        .end();
    }), 120_000, `the ${SIZE}-byte download`);
    clearInterval(sampler);
    assert.equal(downloaded, SIZE);
    const growthMiB = (peak - base) / 1024;
    // Bodies stream with backpressure: growth is a few socket buffers, not the body.
    assert.ok(growthMiB < 16, `RSS grew by ${growthMiB.toFixed(1)} MiB (base ${(base / 1024).toFixed(1)} MiB)`);
    process.stdout.write(`# ${(2 * SIZE) / 1024 / 1024} MiB through the gateway: RSS ${(base / 1024).toFixed(1)} MiB → peak ${(peak / 1024).toFixed(1)} MiB\n`);
  } finally {
    clearInterval(sampler); // before the process it reads is gone
    proc.kill("SIGTERM");
    await within(once(proc, "exit"), 15_000, "the gateway to exit after SIGTERM");
    await be.close();
  }
});

tests.run("the holdfast command");
