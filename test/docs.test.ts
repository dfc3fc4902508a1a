// Examples in docs are run by a test (undici's test/examples.js): every config a reader
// may copy must load. Covered:
//
// - every docs/examples/*.yaml file, through `loadConfig` and through `runCheck`
//   (what `holdfast check -c FILE` runs; the certificates tls.yaml names are made by
//   the test in certbot's layout, so check reads and verifies real files);
// - every ```yaml block of README.md, docs/config.md and docs/architecture.md that is a
//   complete config.
//
// The fragment rule: a block is a complete config when it has a top-level
// `listeners:` key AND a top-level `backends:` key (both at column 0). Any other block
// is a fragment (one section, one key, a snippet): it is not loaded as a config, and
// the test says so by name ("fragment ... not a complete config"), but it must still
// parse as YAML.
//
// Also: docs/config.md names every key of the schema, so a key added to
// src/config/schema*.ts without documentation fails here; every src/ or test/ path
// the docs name exists, so a file moved without its docs fails here; and every link to a
// heading (`[x](docs/config.md#tls)`, `[x](#tls)`) in README.md and docs/*.md finds that heading.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { test } from "node:test";
import { parseDocument } from "yaml";
import type { Env } from "../src/config/interpolate.ts";
import { runCheck } from "../src/cli/check.ts";
import { formatIssue } from "../src/config/issues.ts";
import { loadConfig } from "../src/config/load.ts";
import { configSchema } from "../src/config/schema.ts";
import { schemaKeys, type ZodNode } from "./support/schema-keys.ts";
import { makeCa } from "./support/tls.ts";

const root = join(import.meta.dirname, "..");
const examplesDir = join(root, "docs", "examples");

/** The variables the documented configs reference; any other reference is an error. */
const env: Env = {
  HOLDFAST_ADMIN_TOKEN: "docs-test-admin-token",
  HOLDFAST_STICKY_SECRET: "docs-test-sticky-secret-0123456789",
};

/**
 * TLS files named in the docs do not exist here: each reads as the config tests'
 * throwaway certificate (a name with "key" in it: its private key), so only the keys
 * around them are checked.
 */
const readable = (): string | undefined => undefined;
const tlsDir = join(root, "src", "config", "testdata", "tls");
const readFile = (path: string): Buffer => readFileSync(join(tlsDir, /key/.test(path.split("/").pop()!) ? "key.pem" : "cert.pem"));

let live: string | undefined;

/**
 * A folder laid out like certbot's /etc/letsencrypt/live/ with the certificates
 * docs/examples/tls.yaml names (made once, by a throwaway CA), for its
 * `LETSENCRYPT_LIVE`: `holdfast check` reads the files and checks each key fits.
 */
function certbotLive(): string {
  if (live !== undefined) return live;
  const ca = makeCa();
  const dir = join(ca.dir, "live");
  for (const names of [["example.com", "www.example.com", "api.example.com"], ["example.org", "www.example.org"]]) {
    const pem = ca.issue(names);
    mkdirSync(join(dir, names[0]!), { recursive: true });
    writeFileSync(join(dir, names[0]!, "fullchain.pem"), pem.cert);
    writeFileSync(join(dir, names[0]!, "privkey.pem"), pem.key);
  }
  return (live = dir);
}

const COMPLETE = (text: string): boolean => /^listeners:/m.test(text) && /^backends:/m.test(text);

interface Block {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** The ```yaml fenced blocks of a Markdown file, with the line their text starts on. */
function yamlBlocks(file: string): Block[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks: Block[] = [];
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (start < 0 && /^```ya?ml\s*$/.test(line)) start = i + 1;
    else if (start >= 0 && /^```\s*$/.test(line)) {
      blocks.push({ file, line: start + 1, text: lines.slice(start, i).join("\n") });
      start = -1;
    }
  }
  assert.equal(start, -1, `${file}: a \`\`\`yaml block is not closed`);
  return blocks;
}

function assertLoads(text: string, where: string, baseDir: string): void {
  const r = loadConfig(text, { env, baseDir, readable, readFile });
  assert.ok(r.ok, `${where} does not load:\n${r.ok ? "" : r.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
}

// ------------------------------------------------------------------ docs/examples

const examples = readdirSync(examplesDir).filter((f) => f.endsWith(".yaml")).sort();

test("docs/examples has 3 to 6 example configs", () => {
  assert.ok(examples.length >= 3 && examples.length <= 6, `found ${examples.join(", ")}`);
});

for (const name of examples) {
  const file = join(examplesDir, name);
  test(`docs/examples/${name} loads`, () => {
    assertLoads(readFileSync(file, "utf8"), `docs/examples/${name}`, examplesDir);
  });

  test(`docs/examples/${name} passes holdfast check`, () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = runCheck(file, { write: (s) => out.push(s) }, { write: (s) => err.push(s) }, { ...env, LETSENCRYPT_LIVE: certbotLive() });
    assert.equal(code, 0, err.join(""));
    assert.match(out.join(""), /^ok: \d+ listeners?, \d+ backends?, \d+ servers?\n$/);
  });
}

// ------------------------------------------------------------------ Markdown blocks

const markdown = ["README.md", "docs/config.md", "docs/architecture.md"];
const blocks = markdown.flatMap(yamlBlocks);

test("docs/config.md and README.md hold complete configs to load", () => {
  for (const file of ["README.md", "docs/config.md"]) {
    const complete = blocks.filter((b) => b.file === file && COMPLETE(b.text));
    assert.ok(complete.length >= 1, `${file}: no complete config found (a rule that matches nothing tests nothing)`);
  }
});

for (const b of blocks) {
  const where = `${b.file}:${b.line}`;
  if (COMPLETE(b.text)) {
    test(`${where}: complete config loads`, () => assertLoads(b.text, where, root));
  } else {
    test(`${where}: fragment (no top-level listeners: and backends:, so not a complete config) parses as YAML`, () => {
      const doc = parseDocument(b.text, { merge: true, uniqueKeys: true });
      assert.deepEqual(doc.errors.map((e) => e.message), [], where);
    });
  }
}

// ------------------------------------------------------------------ every key documented

test("docs/config.md names every key of the schema", () => {
  const doc = readFileSync(join(root, "docs", "config.md"), "utf8");
  const keys = [...new Set(schemaKeys(configSchema as unknown as ZodNode))];
  assert.ok(keys.length > 80, `the schema walk found only ${keys.length} keys: did zod's internals change?`);
  // The docs write keys relative to their list item or backend: `timeouts.clientIdle`,
  // `routes[].match.host`, `servers[].weight`, `health.expect.status`.
  const missing = keys
    .map((k) => k.replaceAll(".[]", "[]").replace(/^listeners\[\]\./, "").replace(/^backends\.\*\./, ""))
    .filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, [], "keys of the schema missing from docs/config.md (write them as `key`)");
});

// ------------------------------------------------------------------ every path exists

test("every src/ and test/ path named in docs/*.md and README.md exists", () => {
  const files = [join(root, "README.md"), ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => join(root, "docs", f))];
  const missing: string[] = [];
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/(?<![\w.-])(?:\.\.\/)?((?:src|test)\/[\w./-]*[\w/])/g)) {
        const path = m[1]!;
        // Globs (`src/**/*.test.ts`, `schema*.ts`) name patterns, not files.
        if (/[*{]/.test(line.slice(m.index, m.index + m[0].length + 1))) continue;
        if (!existsSync(join(root, path))) missing.push(`${file.slice(root.length + 1)}:${i + 1}: ${path}`);
      }
    });
  }
  assert.deepEqual(missing, [], "paths named in the docs that do not exist");
});

// ------------------------------------------------------------------ links to headings

/** GitHub's anchors for the headings of a Markdown file (outside code fences). */
function headingAnchors(file: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(join(root, file), "utf8").split("\n")) {
    if (/^```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (m === null) continue;
    // Lower case; punctuation dropped (`/`, `,`, backticks, dots); spaces become hyphens.
    const slug = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

test("links to headings in README.md and docs/*.md find their heading", () => {
  const files = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const m of readFileSync(join(root, file), "utf8").matchAll(/\]\(([^)\s#]*)#([^)\s]+)\)/g)) {
      const target = m[1] === "" ? file : normalize(join(dirname(file), m[1]!));
      if (!target.endsWith(".md")) continue;
      checked++;
      if (!headingAnchors(target).has(m[2]!)) broken.push(`${file}: ${m[0]}`);
    }
  }
  assert.ok(checked > 20, `only ${checked} links to headings found: is the pattern right?`);
  assert.deepEqual(broken, []);
});
