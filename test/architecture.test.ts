// The dependency rule (docs/architecture.md#the-dependency-rule), checked on every import
// under src/ so the layering cannot erode silently. The TypeScript parser reads each
// file (static imports, `export ... from`, `import()`, type-only imports alike).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const SRC = resolve(import.meta.dirname, "../src");

/**
 * Each area and the areas it may import (besides itself). An area is a top folder of
 * src/, `hub/core` and `admin/kit` (which have stricter rules than their parents), or a
 * root file. A folder that is not listed fails the test: add it here on purpose.
 */
const LOWER = ["config", "codec", "core", "protocol", "errors", "log"];
export const RULE: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  core: ["protocol", "config", "errors"],
  "hub/core": ["protocol", "core"],
  config: [],
  errors: ["config"],
  log: [],
  codec: ["protocol", "core", "errors"],
  gateway: LOWER,
  pool: LOWER,
  "admin/kit": LOWER,
  hub: [...LOWER, "hub/core", "pool", "admin/kit"],
  control: [...LOWER, "gateway"],
  admin: [...LOWER, "admin/kit", "control", "gateway"],
  workers: [...LOWER, "admin", "admin/kit", "control", "gateway"],
  cli: [...LOWER, "workers", "admin", "admin/kit", "control", "gateway", "hub", "hub/core", "pool", "client"],
  // The package entries re-export the public API; nothing imports them back.
  index: [...LOWER, "workers", "admin", "admin/kit", "control", "gateway", "hub", "hub/core", "pool", "client"],
  client: ["protocol"],
};

/** Pure areas: no `node:*` or package import, no timers, clock, randomness, Buffer or process. */
const PURE = new Set(["core", "hub/core", "protocol"]);
/** Areas that run in a browser: no `node:*` import, no Buffer or process. */
const BROWSER = new Set(["client"]);
/** Areas nothing may import. */
const TOP = new Set(["cli"]);

const PURE_GLOBALS = new Set(["setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate", "queueMicrotask", "performance", "globalThis", "Buffer", "process"]);
const PURE_MEMBERS = new Set(["Date.now", "Math.random"]);
const BROWSER_GLOBALS = new Set(["Buffer", "process"]);

/**
 * Known violations, each `from -> to` (paths under src/). The test fails when one
 * disappears, so the list only shrinks; it must end empty.
 */
const ALLOWED: ReadonlySet<string> = new Set<string>([
]);

/** Test-only files: unit tests and test kits (`*.kit.ts`), kept out of the build by one glob each. */
function isTestOnly(file: string): boolean {
  return file.endsWith(".test.ts") || file.endsWith(".kit.ts");
}

/**
 * Files that belong to another area than their folder: the hub's broker contract is
 * pure types, shared by the pure hub core and the brokers that implement it.
 */
const AREA_OVERRIDES: Readonly<Record<string, string>> = { "hub/broker/types.ts": "hub/core" };

function areaOf(file: string): string {
  const override = AREA_OVERRIDES[file];
  if (override !== undefined) return override;
  const parts = file.split("/");
  if (parts.length === 1) return parts[0]!.replace(/(\.test|\.kit)?\.ts$/, "");
  if ((parts[0] === "hub" && parts[1] === "core") || (parts[0] === "admin" && parts[1] === "kit")) return `${parts[0]}/${parts[1]}`;
  return parts[0]!;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

interface Parsed {
  readonly imports: { readonly spec: string; readonly line: number }[];
  /** Uses of globals a pure or browser file may not touch: `name@line`. */
  readonly globals: { readonly name: string; readonly line: number }[];
}

function parse(path: string): Parsed {
  return scan(path, readFileSync(path, "utf8"));
}

function scan(path: string, text: string): Parsed {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports: { spec: string; line: number }[] = [];
  const globals: { name: string; line: number }[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      imports.push({ spec: n.moduleSpecifier.text, line: lineOf(n) });
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0])) {
      imports.push({ spec: n.arguments[0].text, line: lineOf(n) });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      imports.push({ spec: n.argument.literal.text, line: lineOf(n) });
    } else if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && PURE_MEMBERS.has(`${n.expression.text}.${n.name.text}`)) {
      globals.push({ name: `${n.expression.text}.${n.name.text}`, line: lineOf(n) });
    } else if (ts.isIdentifier(n) && PURE_GLOBALS.has(n.text) && isFreeReference(n)) {
      globals.push({ name: n.text, line: lineOf(n) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports, globals };
}

/** True when `id` names a global rather than a property, a member or a declaration. */
function isFreeReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodSignature(p) || ts.isMethodDeclaration(p)) && p.name === id) return false;
  if ((ts.isParameter(p) || ts.isVariableDeclaration(p) || ts.isFunctionDeclaration(p) || ts.isBindingElement(p)) && p.name === id) return false;
  return true;
}

interface Finding {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** Every forbidden edge and pure-code use in src/, as `from -> to` with the reason. */
function check(): { findings: Finding[]; edges: Map<string, Set<string>>; files: number } {
  const files = walk(SRC).map((p) => relative(SRC, p).split("\\").join("/"));
  const findings: Finding[] = [];
  const edges = new Map<string, Set<string>>();
  const pureClean = new Map<string, boolean>();
  const parsed = new Map(files.map((f) => [f, parse(join(SRC, f))]));
  const add = (from: string, to: string, why: string) => findings.push({ from, to, why });

  const isPureClean = (file: string): boolean => {
    let ok = pureClean.get(file);
    if (ok !== undefined) return ok;
    const p = parsed.get(file);
    ok = p !== undefined && p.globals.length === 0 && p.imports.every((i) => i.spec.startsWith("."));
    pureClean.set(file, ok);
    return ok;
  };

  for (const file of files) {
    const from = areaOf(file);
    const p = parsed.get(file)!;
    const testOnly = isTestOnly(file);
    if (!(from in RULE)) add(file, "", `unknown area "${from}": add it to RULE in test/architecture.test.ts`);
    for (const { spec, line } of p.imports) {
      const where = `${file}:${line}`;
      if (!spec.startsWith(".")) {
        if ((spec === "node:test" || spec.startsWith("node:assert")) && !testOnly) add(where, spec, "only tests and *.kit.ts files import node:test or node:assert");
        if (testOnly) continue;
        if (PURE.has(from)) add(where, spec, `${from} is pure: no node:* or package imports`);
        else if (BROWSER.has(from) && spec.startsWith("node:")) add(where, spec, `${from} runs in a browser: no node:* imports`);
        continue;
      }
      const target = relative(SRC, resolve(dirname(join(SRC, file)), spec)).split("\\").join("/");
      if (target.startsWith("..")) {
        if (!testOnly) add(where, spec, "production code imports nothing outside src/");
        continue;
      }
      const to = areaOf(target);
      if (isTestOnly(target) && !testOnly) add(where, target, "production code imports no test or kit");
      if (testOnly) continue;
      if (to !== from) {
        let set = edges.get(from);
        if (set === undefined) edges.set(from, (set = new Set()));
        set.add(to);
      }
      if (TOP.has(to) && from !== to) add(where, target, `nothing imports ${to}/`);
      else if (to !== from && !(RULE[from] ?? []).includes(to)) add(where, target, `${from} may not import ${to}`);
      if (PURE.has(from) && !isPureClean(target)) add(where, target, `${from} is pure: it imports only pure files`);
    }
    if (testOnly) continue;
    const banned = PURE.has(from) ? p.globals : BROWSER.has(from) ? p.globals.filter((g) => BROWSER_GLOBALS.has(g.name)) : [];
    for (const g of banned) add(`${file}:${g.line}`, g.name, PURE.has(from) ? `${from} is pure: clock, timers, randomness and I/O come in as parameters` : `${from} runs in a browser`);
  }
  return { findings, edges, files: files.length };
}

const { findings, edges, files } = check();
const key = (f: Finding) => `${f.from.replace(/:\d+$/, "")} -> ${f.to}`;

test("architecture: every import under src/ follows the dependency rule", () => {
  assert.ok(files > 50, `found only ${files} files under ${SRC}`);
  const unexpected = findings.filter((f) => !ALLOWED.has(key(f)));
  assert.deepEqual(
    unexpected.map((f) => `${f.from} -> ${f.to}: ${f.why}`),
    [],
    "forbidden imports (see the rule in docs/architecture.md)",
  );
});

test("architecture: the allow-list of known violations holds only live entries", () => {
  const live = new Set(findings.map(key));
  assert.deepEqual([...ALLOWED].filter((k) => !live.has(k)), [], "fixed violations: remove them from ALLOWED");
});

test("architecture: the rule's own checks catch what they should", () => {
  // A pure file using timers, the clock and Buffer is flagged; injected members and property names are not.
  const p = scan("x.ts", `import { x } from "node:net"; import("./y.ts"); export { z } from "../z.ts"; let q: import("./t.ts").T;
    const t = setTimeout(() => {}, 1); const n = Date.now(); clock.setTimeout(f, 1); const b: Buffer = y; const o = { setTimeout: 1 };`);
  assert.deepEqual(p.imports.map((i) => i.spec), ["node:net", "./y.ts", "../z.ts", "./t.ts"]);
  assert.deepEqual(p.globals.map((g) => g.name), ["setTimeout", "Date.now", "Buffer"]);
  assert.equal(areaOf("hub/core/channel.ts"), "hub/core");
  assert.equal(areaOf("admin/kit/http.ts"), "admin/kit");
  assert.equal(areaOf("log.ts"), "log");
  assert.equal(areaOf("gateway/http/session.ts"), "gateway");
});

test("architecture: the edges in use (printed for docs/architecture.md)", (t) => {
  const lines = [...edges].sort(([a], [b]) => a.localeCompare(b)).map(([from, to]) => `${from} -> ${[...to].sort().join(", ")}`);
  t.diagnostic(lines.join("\n"));
  // The chain docs/architecture.md draws (cli --> workers --> admin --> control --> gateway
  // --> config, codec, core, protocol; client --> protocol) is made of edges in use.
  const chain: [string, string][] = [["cli", "workers"], ["workers", "admin"], ["admin", "control"], ["control", "gateway"], ["gateway", "config"], ["gateway", "codec"], ["gateway", "core"], ["gateway", "protocol"], ["client", "protocol"]];
  assert.deepEqual(chain.filter(([from, to]) => !edges.get(from)?.has(to)).map(([from, to]) => `${from} -> ${to}`), [], "edges the docs draw that no import uses");
});
