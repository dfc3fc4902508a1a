import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { mulberry32 } from "../core/balance/testing.kit.ts";
import { loadConfig } from "./load.ts";
import { fuzzSeed } from "../../test/support/seed.ts";

/**
 * Random YAML never crashes the config loader or `holdfast check`: every document
 * either loads or gets a list of issues, each with a path and a message in plain words.
 * Inputs: the golden testdata and the docs' examples, mutated as trees (values of the
 * wrong type, keys moved, unknown keys, deep nesting, `${VAR}` references) and as text
 * (YAML's own syntax: anchors, aliases, merge keys, tags, flow collections, documents).
 *   FUZZ_SEED=123          replay a run (printed with every failure)
 *   FUZZ_CONFIG=50000      more documents (default 250: about 3 s on our VMs)
 * A document that sends the loader into a loop still fails, at the test timeout; how fast it
 * loads is the bench's business, not a test's.
 */
const SEED = fuzzSeed();
const DOCS = Number(process.env.FUZZ_CONFIG ?? 250);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The only issues without a location: they are about the whole document. Any other
 * issue names its path (or, before there is a tree, its line:column).
 */
const DOCUMENT_LEVEL = /^(expected a mapping, got |the config is empty$|Excessive alias count)/;

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const pick = <T>(random: Random, list: readonly T[]): T => list[int(random, list.length)]!;

const TESTDATA = join(ROOT, "src/config/testdata");
const SEEDS: string[] = [
  ...readdirSync(TESTDATA).filter((f) => f.endsWith(".yaml")).map((f) => join(TESTDATA, f)),
  ...readdirSync(join(ROOT, "docs/examples")).filter((f) => f.endsWith(".yaml")).map((f) => join(ROOT, "docs/examples", f)),
].map((f) => readFileSync(f, "utf8"));
/** Seeds that load (a golden .json beside them, or a docs example). */
const VALID: string[] = [
  ...readdirSync(TESTDATA).filter((f) => f.endsWith(".json") && f !== "env.json").map((f) => join(TESTDATA, f.replace(/\.json$/, ".yaml"))),
  ...readdirSync(join(ROOT, "docs/examples")).filter((f) => f.endsWith(".yaml")).map((f) => join(ROOT, "docs/examples", f)),
].map((f) => readFileSync(f, "utf8"));

const KEYS = [
  "admin", "listen", "token", "workers", "shutdown", "delay", "timeout", "cluster", "redis", "listeners", "name", "mode", "tls",
  "cert", "key", "routes", "match", "pathPrefix", "host", "header", "allow", "backend", "split", "weight", "backends", "balance",
  "hashKey", "sticky", "cookie", "ttl", "health", "type", "path", "interval", "rise", "fall", "expect", "status", "passive",
  "slowStart", "maxConn", "queueTimeout", "admission", "rate", "burst", "keepAlive", "maxIdle", "idleTimeout", "timeouts",
  "connect", "server", "tunnel", "drainTimeout", "drainSpread", "rebalance", "maxSkew", "maxLifetime", "websocket",
  "pingInterval", "pongTimeout", "servers", "address", "backup", "accessLog", "maxHeaderSize", "requestHeaders", "clientIdle",
  "x-defaults", "<<", "retries", "proxyProtocol", "on5xx", "json", "maxLatency", "unknownKey", "",
];
const SCALARS: unknown[] = [
  0, -1, 1, 2, 65535, 65536, 1.5, -0.0, 1e308, 2 ** 53 + 1, Number.NaN, Number.POSITIVE_INFINITY, true, false, null,
  "", " ", "5s", "250ms", "1h", "5 seconds", "-1s", "0s", "1e3ms", "99999999999999999999h", "127.0.0.1:0", ":8080", "0.0.0.0:80",
  "[::1]:9900", "[::1", "host:99999", "a b:80", "10.0.0.0/8", "10.0.0.0/33", "::/0", "round-robin", "maglev", "nope",
  "header:X-User", "cookie:", "query:q", "http", "tcp", "auto", "${HOLDFAST_ADMIN_TOKEN}", "${PORT}", "${MISSING}",
  "${PORT:-8080}", "$${literal}", "${", "${1BAD}", "${A}${B}", "\u0000", "é\u202e", "x".repeat(600), "yes", "on", "~",
];
const TOKENS = [
  "&a ", "*a", "<<: *a\n", "!!binary ", "!!timestamp ", "!local ", "!!str ", "!!int ", "---\n", "...\n", "? ", "- ", ": ",
  "{", "}", "[", "]", ",", "|\n", ">-\n", "%YAML 1.1\n---\n", "\t", "#", "'", "\"", "\\", "\n  ", "&b [*b]\n", "0x1F", "0o17",
  ".inf", ".nan", "1_000", "2001-12-14t21:59:43.10-05:00",
];

function randomValue(random: Random, depth: number): unknown {
  const r = random();
  if (depth > 4 || r < 0.6) return pick(random, SCALARS);
  if (r < 0.8) return Array.from({ length: int(random, 4) }, () => randomValue(random, depth + 1));
  return Object.fromEntries(Array.from({ length: int(random, 4) }, () => [pick(random, KEYS), randomValue(random, depth + 1)]));
}

/** One structural change somewhere in the tree (in place); returns the (possibly new) root. */
function mutateTree(random: Random, root: unknown): unknown {
  if (root === null || typeof root !== "object" || random() < 0.05) return randomValue(random, 0);
  // Walk down a random path.
  let node = root as Record<string, unknown> | unknown[];
  for (let d = 0; d < 6; d++) {
    const keys = Object.keys(node);
    if (keys.length === 0 || random() < 0.3) break;
    const child = (node as Record<string, unknown>)[pick(random, keys)];
    if (child === null || typeof child !== "object") break;
    node = child as Record<string, unknown> | unknown[];
  }
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  const k = keys.length > 0 ? pick(random, keys) : pick(random, KEYS);
  switch (int(random, 7)) {
    case 0: obj[k] = randomValue(random, 0); break; // a value of any type
    case 1: delete obj[k]; break; // a required key gone
    case 2: obj[Array.isArray(obj) ? obj.length : pick(random, KEYS)] = randomValue(random, 2); break; // a key where it does not belong
    case 3: obj[k] = [obj[k], obj[k]]; break; // wrapped in a list (and duplicated)
    case 4: { // deep nesting
      let v: unknown = obj[k];
      for (let n = int(random, 60); n > 0; n--) v = random() < 0.5 ? [v] : { [pick(random, KEYS)]: v };
      obj[k] = v;
      break;
    }
    case 5: if (Array.isArray(obj) && obj.length > 0) obj.push(structuredClone(obj[0])); break; // duplicate entry (names clash)
    default: obj[k] = typeof obj[k] === "string" ? `${obj[k]}${pick(random, ["", "x", ":", "/", " ", "${PORT}"])}` : obj[k];
  }
  return root;
}

/** Splices YAML tokens, flips bits, cuts: the syntax-level mutations. */
function mutateText(random: Random, text: string): string {
  const at = int(random, text.length + 1);
  switch (int(random, 5)) {
    case 0: return text.slice(0, at) + pick(random, TOKENS) + text.slice(at);
    case 1: return text.slice(0, at) + text.slice(at + 1 + int(random, 5));
    case 2: { // duplicate a line (duplicate keys, clashing names)
      const lines = text.split("\n");
      const i = int(random, lines.length);
      lines.splice(int(random, lines.length + 1), 0, lines[i]!);
      return lines.join("\n");
    }
    case 3: return text.slice(0, at);
    default: {
      const c = text.charCodeAt(Math.min(at, text.length - 1)) ^ (1 << int(random, 7));
      return text.slice(0, at) + String.fromCharCode(c) + text.slice(at + 1);
    }
  }
}

/** A valid seed in another YAML style with a change that keeps it valid (names, weights, order). */
function gentleDoc(random: Random): string {
  const text = pick(random, VALID);
  let s = stringify(parse(text, { merge: true }), { collectionStyle: random() < 0.5 ? "flow" : "block", indent: 2 + int(random, 3) });
  if (random() < 0.5) s = s.replace(/weight: \d+/g, () => `weight: ${1 + int(random, 256)}`);
  if (random() < 0.5) s = s.replace(/name: (\w+)/, (_, n: string) => `name: ${n}${int(random, 1000)}`);
  return s;
}

function randomDoc(random: Random): string {
  if (random() < 0.15) return gentleDoc(random);
  let text = pick(random, SEEDS);
  if (random() < 0.7) {
    let tree: unknown;
    try {
      tree = parse(text, { merge: true, maxAliasCount: 100, logLevel: "silent" });
    } catch {
      tree = randomValue(random, 0);
    }
    for (let n = 1 + int(random, 4); n > 0; n--) tree = mutateTree(random, tree);
    text = stringify(tree, { aliasDuplicateObjects: false, collectionStyle: random() < 0.3 ? "flow" : "any" });
  }
  for (let n = random() < 0.6 ? 1 + int(random, 4) : 0; n > 0; n--) text = mutateText(random, text);
  return text;
}

function randomEnv(random: Random): Record<string, string> {
  const values = ["", "8080", "0", "true", "[1, 2]", "{a: 1}", "1e3", "secret", "${PORT}", "x\ny", ": ", "*a"];
  const env: Record<string, string> = {};
  for (const name of ["HOLDFAST_ADMIN_TOKEN", "PORT", "A", "B", "LISTEN_HOST"]) if (random() < 0.6) env[name] = pick(random, values);
  return env;
}

test("config fuzz: random YAML loads or gets issues with paths, never a throw", () => {
  const random = mulberry32(SEED);
  let valid = 0;
  for (let n = 0; n < DOCS; n++) {
    const text = randomDoc(random);
    const env = randomEnv(random);
    const readable = (p: string): string | undefined => (p.length % 3 === 0 ? "no such file" : undefined);
    const ctx = `document ${n}, replay: FUZZ_SEED=${SEED}\n${text.slice(0, 2000)}`;
    let r: ReturnType<typeof loadConfig>;
    try {
      r = loadConfig(text, { env, baseDir: "/etc/holdfast", readable });
    } catch (e) {
      assert.fail(`loadConfig threw ${(e as Error).stack}\n${ctx}`);
    }
    if (r.ok) {
      valid++;
      assert.ok(r.config.listeners.length > 0 && Object.keys(r.config.backends).length > 0, ctx);
      assert.deepEqual(loadConfig(text, { env, baseDir: "/etc/holdfast", readable }), r, `not deterministic: ${ctx}`);
      continue;
    }
    assert.ok(r.issues.length > 0, `no issues: ${ctx}`);
    for (const i of r.issues) {
      assert.equal(typeof i.path, "string", ctx);
      assert.ok(typeof i.message === "string" && i.message.length > 0, `empty message: ${ctx}`);
      assert.ok(!/\[object Object\]|\bundefined\b/.test(i.message), `unreadable message "${i.message}": ${ctx}`);
      if (i.path === "") assert.match(i.message, DOCUMENT_LEVEL, `an issue without a path: ${ctx}`);
    }
  }
  // Some mutated documents must still be valid, or the fuzzer only tests the first error.
  assert.ok(valid > DOCS / 50, `only ${valid} of ${DOCS} documents loaded (seed ${SEED})`);
});

test("config fuzz: holdfast check exits 0 or 1 with issues on random files, never a stack trace", async () => {
  const random = mulberry32(SEED ^ 0xc0ffee);
  const dir = mkdtempSync(join(tmpdir(), "holdfast-fuzz-"));
  try {
    const files = Array.from({ length: 3 }, (_, n) => {
      const f = join(dir, `c${n}.yaml`);
      writeFileSync(f, randomDoc(random));
      return f;
    });
    await Promise.all(files.map(async (f) => {
      const run = promisify(execFile);
      const r = await run(process.execPath, [join(ROOT, "src/cli/main.ts"), "check", "-c", f], { env: { PATH: process.env.PATH }, timeout: 60_000 })
        .then((o) => ({ code: 0, ...o }), (e: { code: number; stdout: string; stderr: string }) => e);
      const ctx = `replay: FUZZ_SEED=${SEED}\n${readFileSync(f, "utf8").slice(0, 2000)}\nstderr: ${r.stderr}`;
      // A check that never ends is killed after 60 s (code null): a failure with its input.
      assert.ok(r.code === 0 || r.code === 1, `exit code ${r.code}: ${ctx}`);
      assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|ReferenceError/, ctx);
      if (r.code === 0) assert.match(r.stdout, /^ok: /, ctx);
      else {
        const said = r.stderr.split("\n").filter((l) => l !== "");
        assert.ok(said.length > 0, `exit 1 without a word: ${ctx}`);
        for (const l of said) assert.ok(l.includes(": ") || DOCUMENT_LEVEL.test(l), `an issue without a path: ${l}\n${ctx}`);
      }
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
