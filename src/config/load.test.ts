// The loader's seams that golden files do not show: interpolation details, file access,
// and that no input makes it throw (runCheck's exit codes: src/cli/check.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { expand, interpolate } from "./interpolate.ts";
import { loadConfig } from "./load.ts";

const MINIMAL = `
listeners:
  - { name: web, mode: http, listen: ":8080", routes: [{ backend: app }] }
backends:
  app: { servers: [{ name: a, address: "127.0.0.1:3000" }] }
`;

test("expand: references, defaults, escapes", () => {
  const env = { A: "a", EMPTY: "" };
  const cases: [string, string][] = [
    ["${A}", "a"],
    ["x${A}y${A}z", "xayaz"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${A:-d}", "a"],
    ["${EMPTY}", ""],
    ["${UNSET:-}", ""],
    ["${UNSET:-a:b c}", "a:b c"],
    ["$${A}", "${A}"],
    ["$$${A}", "$${A}"], // left to right: a lone $, then the $${ escape
    ["$A $ {A} $", "$A $ {A} $"],
  ];
  for (const [text, want] of cases) assert.deepEqual(expand(text, env), { value: want, errors: [], whole: expand(text, env).whole }, text);
  assert.deepEqual(expand("${X}-${Y}", {}).errors, ["environment variable X is not set", "environment variable Y is not set"]);
  assert.deepEqual(expand("${1X}", {}).errors, ['bad variable reference "${1X}" (expected ${NAME} or ${NAME:-default})']);
  assert.deepEqual(expand("${X", {}).errors, ['"${" without a closing "}" (write $${ for a literal ${)']);
  assert.equal(expand("${A}", env).whole, true);
  assert.equal(expand("x${A}", env).whole, false);
});

test("interpolate: plain whole references are retyped, quoted ones stay strings, aliases follow anchors", () => {
  const doc = parseDocument(
    'a: ${N}\nb: "${N}"\nc: ${T}\nd: ${S}\ne: &e ${N}\nf: *e\ng: ${OBJ}\nh:\n  - ${N}\ni: ${N}s\n',
  );
  const r = interpolate(doc, { N: "42", T: "true", S: "auto", OBJ: "{ x: 1 }" });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(doc.toJS(), { a: 42, b: "42", c: true, d: "auto", e: 42, f: 42, g: "{ x: 1 }", h: [42], i: "42s" });
});

test("interpolate: missing variables are reported with their path", () => {
  const doc = parseDocument("backends:\n  api:\n    servers:\n      - { address: '${HOST}:80' }\n");
  const r = interpolate(doc, {});
  assert.deepEqual(r.issues, [{ path: ["backends", "api", "servers", 0, "address"], message: "environment variable HOST is not set" }]);
  assert.deepEqual(r.failed, [["backends", "api", "servers", 0, "address"]]);
});

test("loadConfig: every issue has a location unless it is about the whole document (found by the config fuzzer, FUZZ_SEED=891429358)", () => {
  const issues = (text: string) => {
    const r = loadConfig(text, { env: {}, baseDir: "/" });
    return r.ok ? [] : r.issues.map((i) => [i.path, i.message]);
  };
  // A document that is one scalar is not a config: said so, whatever variables it names
  // (it used to be "environment variable X is not set" with no path).
  assert.deepEqual(issues("listeners${X}"), [["", 'expected a mapping, got "listeners${X}"']]);
  assert.deepEqual(issues("${X}"), [["", 'expected a mapping, got "${X}"']]);
  assert.deepEqual(issues("- ${X}"), [["", "expected a mapping, got a list"], ["[0]", "environment variable X is not set"]]);
  // What the YAML library refuses only when building the tree: at its line:column.
  assert.deepEqual(issues("a: 1\nb: *x\nc: &x 1\n"), [["2:4", "Unresolved alias (the anchor must be set before the alias): x"]]);
  assert.deepEqual(issues("a:\n  b: 1\n  <<: 5\n"), [["3:3", "Merge sources must be maps or map aliases"]]);
  assert.deepEqual(issues("m: &m [1]\na:\n  <<: [*m]\n"), [["3:3", "Merge sources must be maps or map aliases"]]);
});

test("loadConfig: TLS paths are checked through `readable`, resolved from baseDir, and read through `readFile`", () => {
  const yaml = MINIMAL.replace('listen: ":8080",', 'listen: ":8080", tls: { cert: c.pem, key: /abs/k.pem },');
  const asked: string[] = [];
  const read: string[] = [];
  const files: Record<string, string> = { "/etc/holdfast/c.pem": "cert.pem", "/abs/k.pem": "key.pem" };
  const readFile = (p: string) => (read.push(p), readFileSync(join(import.meta.dirname, "testdata/tls", files[p]!)));
  const r = loadConfig(yaml, { env: {}, baseDir: "/etc/holdfast", readable: (p) => (asked.push(p), undefined), readFile });
  assert.deepEqual(asked, ["/etc/holdfast/c.pem", "/abs/k.pem"]);
  assert.deepEqual(read, ["/etc/holdfast/c.pem", "/abs/k.pem"]);
  assert.ok(r.ok);
  const listener = r.config.listeners[0]!;
  assert.ok(listener.mode === "http");
  const cert = listener.tls?.certs[0];
  assert.deepEqual([cert?.cert, cert?.key, cert?.names], ["/etc/holdfast/c.pem", "/abs/k.pem", ["example.com", "*.example.com"]]);
  const refused = loadConfig(yaml, { env: {}, baseDir: "/x", readable: () => "permission denied" });
  assert.deepEqual(!refused.ok && refused.issues, [
    { path: "listeners[0].tls.cert", message: "cannot read c.pem: permission denied" },
    { path: "listeners[0].tls.key", message: "cannot read /abs/k.pem: permission denied" },
  ]);
});

test("loadConfig: issues come in file order, whichever stage found them", () => {
  const yaml = `
backends:
  app: { servers: [{ name: a, address: "127.0.0.1:3000" }], retries: -1 }
listeners:
  - { name: web, mode: tcp, listen: ":8080", backend: nope }
  - { name: web, mode: tcp, listen: ":8081", backend: app, extra: 1 }
workers: none
`;
  const r = loadConfig(yaml, { env: {}, baseDir: "." });
  assert.deepEqual(
    !r.ok && r.issues.map((i) => i.path),
    ["backends.app.retries", "listeners[0].backend", "listeners[1].name", "listeners[1].extra", "workers"],
  );
});

test("loadConfig never throws, whatever the input", () => {
  const inputs = [
    "",
    "~",
    "42",
    "[",
    "{",
    "'",
    "a: &a [*a]",
    "a: !!binary AAAA",
    "? [a, b]\n: c",
    "listeners: {}\nbackends: []",
    "listeners: [null, 1, [], {}]\nbackends: { a: null, b: 1, c: { servers: [null, 1, {}] } }",
    "backends:\n  a: { health: { interval: [], timeout: {} }, sticky: [], passive: 1, servers: {} }",
    "listeners:\n  - { mode: http, routes: [null, 1, { match: [], split: {} }, { split: [null, { backend: 1 }] }] }",
    "admin: { listen: [] }\nlisteners: [{ mode: tcp, listen: {}, backend: [] }]",
    "x: &x [a]\ny: [*x, *x, *x, *x]",
    "\u0000\uffff",
  ];
  for (let i = 0; i < 200; i++) {
    const chars = "{}[]:,-?&*!|>'\"%@` \n\tab01${}";
    inputs.push(Array.from({ length: 40 }, (_, k) => chars[(i * 31 + k * k * 7) % chars.length]).join(""));
  }
  for (const text of inputs) {
    const r = loadConfig(text, { env: {}, baseDir: "." });
    assert.equal(typeof r.ok, "boolean", text);
    if (!r.ok) assert.ok(r.issues.length > 0, text);
  }
});

