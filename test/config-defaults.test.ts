// docs/config.md states each key's default in the third column of its table. Here every
// such default is checked against what the loader fills in, the way a reader would
// check it: a config that writes the key with its documented default must load to the
// same config as one that leaves the key out. And every key the schema gives a default
// must have been checked that way, so a default changed in code (src/config/defaults.ts,
// the schema) or in the docs alone fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { formatIssue } from "../src/config/issues.ts";
import { loadConfig } from "../src/config/load.ts";
import { configSchema } from "../src/config/schema.ts";
import { schemaKeysWithDefaults, type ZodNode } from "./support/schema-keys.ts";

const root = join(import.meta.dirname, "..");
const tlsDir = join(root, "src", "config", "testdata", "tls");
/** Any file the configs name reads as the config tests' throwaway certificate or key. */
const readFile = (path: string): Buffer => readFileSync(join(tlsDir, /key/.test(path.split("/").pop()!) ? "key.pem" : "cert.pem"));
const readable = (): string | undefined => undefined;

type Obj = Record<string, unknown>;

/** Where a table's keys live: the key written relative to it. */
type Scope = "top" | "web" | "l4" | "backend" | "tlsWeb" | "tlsBackend";

/** The sections of docs/config.md and where their keys are relative to. */
function scopeOf(heading: string): Scope | undefined {
  if (["Top level", "admin", "workers", "shutdown", "cluster"].includes(heading)) return "top";
  if (["Keys of every listener", "limits", "`mode: http`", "routes"].includes(heading)) return "web";
  if (["`mode: tcp`", "SNI routing on tcp listeners"].includes(heading)) return "l4";
  if (heading === "tls") return "tlsWeb";
  if (heading === "TLS to the servers") return "tlsBackend";
  if (["backends", "servers", "balance", "hashKey", "sticky", "health", "passive", "slowStart", "maxConn and queueTimeout", "retries", "admission", "keepAlive", "timeouts", "drainTimeout and drainSpread", "rebalance", "maxLifetime", "websocket", "sse"].includes(heading)) return "backend";
  return undefined;
}

/**
 * The smallest config, as data, that every key is written into. It sets no key whose
 * default is checked, except where a section must be present for its keys to have
 * defaults at all (`present`: health, passive, websocket... given as `{}` or their
 * required keys only).
 */
function base(scope: Scope, present: string | undefined): Obj {
  const backend: Obj = { servers: [{ name: "s1", address: "127.0.0.1:9001" }] };
  const web: Obj = { name: "web", mode: "http", listen: "127.0.0.1:8080", routes: [{ backend: "b" }] };
  if (scope === "tlsWeb") web.tls = { cert: "cert.pem", key: "key.pem" };
  if (scope === "tlsBackend") backend.tls = {};
  if (present !== undefined) backend[present] = SECTIONS[present];
  return { listeners: [web, { name: "l4", mode: "tcp", listen: "127.0.0.1:8081", backend: "b" }], backends: { b: backend } };
}

/** Backend sections absent by default, as the smallest value that makes their keys' defaults apply. */
const SECTIONS: Obj = {
  health: {},
  passive: {},
  websocket: {},
  sticky: { source: true, ttl: "1m" },
};

/** The object `scope` points at inside `config`. */
function scopeObject(config: Obj, scope: Scope): Obj {
  const listeners = config.listeners as Obj[];
  const b = (config.backends as Obj).b as Obj;
  switch (scope) {
    case "top":
      return config;
    case "web":
    case "tlsWeb":
      return listeners[0]!;
    case "l4":
      return listeners[1]!;
    case "backend":
    case "tlsBackend":
      return b;
  }
}

/** Writes `value` at `key` (`a.b`, `servers[].weight`: the first element) under `into`. */
function setKey(into: Obj, key: string, value: unknown): void {
  const parts = key.split(".");
  let o = into;
  for (const [i, raw] of parts.entries()) {
    const list = raw.endsWith("[]");
    const name = list ? raw.slice(0, -2) : raw;
    if (i === parts.length - 1 && !list) {
      o[name] = value;
      return;
    }
    let next = o[name];
    if (list) {
      next = (next as Obj[] | undefined)?.[0];
      assert.ok(next !== undefined, `${key}: the base config has no ${name}[0]`);
    } else if (next === undefined) next = o[name] = {};
    o = next as Obj;
  }
}

function load(config: Obj, where: string): unknown {
  const r = loadConfig(JSON.stringify(config), { env: {}, baseDir: root, readFile, readable });
  assert.ok(r.ok, `${where} does not load:\n${r.ok ? "" : r.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
  return r.config;
}

interface Row {
  readonly line: number;
  readonly heading: string;
  readonly keys: string[];
  readonly defaultCell: string;
}

/** Every table row of docs/config.md with its section heading: keys (backticked, first cell) and the default cell (third). */
function rows(): Row[] {
  const lines = readFileSync(join(root, "docs", "config.md"), "utf8").split("\n");
  const out: Row[] = [];
  let heading = "";
  let isKeyTable = false;
  for (const [i, line] of lines.entries()) {
    const h = /^#{2,3} (.*)$/.exec(line);
    if (h) heading = h[1]!;
    if (!line.startsWith("|")) {
      isKeyTable = false;
      continue;
    }
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells[0] === "key" && cells[2] === "default") isKeyTable = true;
    else if (isKeyTable && !cells[0]!.startsWith("---")) out.push({ line: i + 1, heading, keys: [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), defaultCell: cells[2]! });
  }
  return out;
}

/**
 * Documented defaults that hold only under a condition the cell states: the condition
 * as the base config's extra section or key, checked like the others.
 */
const CONDITIONS: Record<string, { readonly value?: unknown; readonly also?: (scoped: Obj) => void }> = {
  // "`[http1, h2]` with `tls`, `[http1]` without": the web listener of the base has no tls.
  protocols: { value: ["http1"] },
  // "`source` for the hash policies"
  hashKey: { also: (b) => (b.balance = "source-hash") },
  // `bounded-hash` only
  hashBalanceFactor: { also: (b) => (b.balance = "bounded-hash") },
  // "`method`, `path`, `host`, `expect` only with `health.type: http`" (Cross-field rules)
  "health.method": { also: httpCheck },
  "health.path": { also: httpCheck },
  "health.expect": { also: httpCheck },
  "health.expect.status": { also: httpCheck },
};

function httpCheck(b: Obj): void {
  b.health = { type: "http" };
}

/** Defaults that are not a value one can write (computed, drawn at random, taken from elsewhere). */
const NOT_A_VALUE = /^(required|absent|–|-|random|the |`ceil\(rate\)`|`backend` or `routes`)/;

const relative = (k: string): string => k.replaceAll(".[]", "[]").replace(/^listeners\[\]\./, "").replace(/^backends\.\*\./, "");

test("docs/config.md: every documented default, written into a config, loads to the same config as leaving the key out", () => {
  const checked = new Set<string>();
  const failures: string[] = [];
  let n = 0;
  for (const row of rows()) {
    const scope = scopeOf(row.heading);
    if (scope === undefined || NOT_A_VALUE.test(row.defaultCell)) continue;
    const literal = /^`([^`]+)`/.exec(row.defaultCell)?.[1];
    if (literal === undefined) continue;
    for (const key of row.keys) {
      const cond = CONDITIONS[key] ?? {};
      const where = `docs/config.md:${row.line} (${row.heading}) ${key}: \`${literal}\``;
      // A key inside a section that is absent by default: its default applies once the section is there.
      const section = key.split(".")[0]!;
      const without = base(scope, key.includes(".") && section in SECTIONS ? section : undefined);
      cond.also?.(scopeObject(without, scope));
      const withKey = structuredClone(without);
      const value = "value" in cond ? cond.value : parse(literal) as unknown;
      setKey(scopeObject(withKey, scope), key, value);
      let same: boolean;
      try {
        same = JSON.stringify(load(withKey, where)) === JSON.stringify(load(without, `${where} (left out)`));
      } catch (e) {
        failures.push((e as Error).message);
        continue;
      }
      n++;
      if (!same) failures.push(`${where}: the loader's default differs`);
      else checked.add(key);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(n > 40, `only ${n} documented defaults found: did the tables' layout change?`);
  const missing = [...new Set(schemaKeysWithDefaults(configSchema as unknown as ZodNode).map(relative))].filter((k) => !checked.has(k));
  assert.deepEqual(missing, [], "keys the schema gives a default whose documented default was not checked (no row, or not a value)");
});
