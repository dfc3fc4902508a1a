import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import type { Logger } from "../../src/log.ts";
import { deadPort } from "../support/backends.ts";

/**
 * Runs one VTest file (`varnishtest`, Debian's `varnish` package) against a real gateway
 * started here: the gateway listens on port 0 and its backends point at two ports
 * reserved for the test's fake servers. The file gets them as macros:
 *
 * - `${gw_sock}` — the gateway's listener, `"127.0.0.1 PORT"` (for `client -connect`)
 * - `${be1_port}` — backend `b` (the default route), for `server s1 -listen "127.0.0.1 ${be1_port}"`
 * - `${be2_port}` — backend `other` (requests whose Host is `other.test`)
 *
 * Paths under `/private/` are allowed from 10.0.0.0/8 only (the test client is 127.0.0.1).
 *
 * Usage while debugging: `npx node test/vtc/run.ts test/vtc/cl-te.vtc` prints the full log.
 *
 * @example
 * const r = await runVtc("test/vtc/cl-te.vtc");
 * if (!r.ok) console.log(r.log);
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");

/** The gateway every vector runs against: short timeouts so 408/504 vectors stay fast. */
export function suiteConfig(be1: number, be2: number): string {
  return `
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    maxHeaderSize: 4096
    accessLog: true
    timeouts: { requestHeaders: 1s, clientIdle: 5s }
    routes:
      - { match: { host: other.test }, backend: other }
      - { match: { pathPrefix: /private/ }, allow: [10.0.0.0/8], backend: b }
      - backend: b
backends:
  b:
    retries: 0
    timeouts: { connect: 1s, server: 2s, tunnel: 5s }
    servers: [ { name: s1, address: "127.0.0.1:${be1}" } ]
  other:
    retries: 0
    timeouts: { connect: 1s, server: 2s, tunnel: 5s }
    servers: [ { name: s2, address: "127.0.0.1:${be2}" } ]
`;
}

/** Where varnishtest is: `$VARNISHTEST`, the wrapper `.ci/run` unpacks into `.cache/varnish`, or PATH's. */
export function findVarnishtest(): string {
  const fromEnv = process.env.VARNISHTEST;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const unpacked = join(ROOT, ".cache/varnish/varnishtest");
  if (existsSync(unpacked)) return unpacked;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "varnishtest"))) return join(dir, "varnishtest");
  }
  throw new Error(
    "varnishtest not found: install Debian's varnish package, run .ci/run (it unpacks one into .cache/varnish), or set VARNISHTEST",
  );
}

/** A logger that keeps access-log records in memory (the vectors' log assertions read them). */
function memoryLog(records: Record<string, unknown>[]): Logger {
  const log = {
    info: (o: Record<string, unknown>) => records.push({ ...o }),
  };
  return log as unknown as Logger;
}

export interface VtcResult {
  readonly file: string;
  readonly ok: boolean;
  /** varnishtest's output: the whole test log when it failed. */
  readonly log: string;
  /** Access-log records the gateway wrote during the run. */
  readonly access: Record<string, unknown>[];
}

/** Runs `file` against a fresh gateway; resolves when varnishtest exits (20 s cap). */
export async function runVtc(file: string, opts: { verbose?: boolean } = {}): Promise<VtcResult> {
  const vt = findVarnishtest();
  // Free ports, bound then released: the fake servers bind them right after.
  const be1 = await deadPort();
  const be2 = await deadPort();
  const loaded = loadConfig(suiteConfig(be1, be2), { env: {}, baseDir: ROOT });
  if (!loaded.ok) throw new Error(loaded.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  const access: Record<string, unknown>[] = [];
  const gw = new Gateway(loaded.config, undefined, { accessLog: memoryLog(access), activeChecks: false });
  await gw.start();
  try {
    const port = gw.address("web").port;
    const args = ["-t", "20", ...(opts.verbose === true ? ["-v"] : []),
      "-D", `gw_sock=127.0.0.1 ${port}`, "-D", `be1_port=${be1}`, "-D", `be2_port=${be2}`, file];
    const child = spawn(vt, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const [code] = (await once(child, "close")) as [number | null];
    return { file: basename(file), ok: code === 0, log: out, access };
  } finally {
    await gw.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) {
    const r = await runVtc(f, { verbose: true });
    process.stdout.write(r.log);
    process.stdout.write(`access log: ${JSON.stringify(r.access)}\n${r.ok ? "PASS" : "FAIL"} ${r.file}\n`);
  }
}
