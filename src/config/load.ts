import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import type { z } from "zod";
import type { BackendConfig, Config, ConfigIssue, ListenerConfig, TlsCertificate } from "./types.ts";
import type { PathIssue, PathSegment } from "./issues.ts";
import { crossCheck } from "./cross-checks.ts";
import { interpolate, type Env } from "./interpolate.ts";
import { toConfigIssues, zodIssues } from "./issues.ts";
import { redactIssues } from "./redact.ts";
import { list, rec } from "./unchecked.ts";
import { configSchema } from "./schema.ts";
import { inspectCa, inspectKeyPair } from "./tls-files.ts";

/**
 * The outcome of loading a config: the config, or every problem found.
 *
 * @example
 * const r: LoadResult = loadConfig(text, { env: {}, baseDir: "." });
 * if (!r.ok) console.error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
 */
export type LoadResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/**
 * {@link LoadResult}, plus the case where the file itself could not be read.
 *
 * @example
 * const r = loadConfigFile(file);
 * if (!r.ok && "unreadable" in r) process.exitCode = 2;
 */
export type FileLoadResult =
  | LoadResult
  | { readonly ok: false; readonly issues: readonly ConfigIssue[]; readonly unreadable: true };

/**
 * Where `loadConfig` finds what the text alone does not say.
 *
 * @example
 * loadConfig(text, { env: process.env, baseDir: dirname(file) });
 */
export interface LoadOptions {
  /** Values for `${VAR}`; pass `process.env` in production, a literal in tests. */
  readonly env: Env;
  /** Relative file paths in the config (TLS) start here: the config file's folder. */
  readonly baseDir: string;
  /** Why a file cannot be read, or `undefined`; defaults to the file system. */
  readonly readable?: (absolutePath: string) => string | undefined;
  /** Reads a file the config names (TLS certificates, keys, CAs); defaults to the file system. */
  readonly readFile?: (absolutePath: string) => Buffer;
}

/**
 * Loads a config from YAML text: parse (syntax errors as `line:column`), expand `${VAR}`,
 * validate the shape (strict; defaults filled in), check the relationships between
 * fields. Every problem is reported at once, each with its path, in file order; nothing
 * is thrown for bad input. Top-level keys starting with `x-` are ignored (a home for
 * YAML anchors, as in Compose files); relative TLS paths are resolved from `baseDir`.
 *
 * @example
 * const r = loadConfig(text, { env: process.env, baseDir: "/etc/holdfast" });
 * if (r.ok) startGateway(r.config);
 * else for (const i of r.issues) console.error(`${i.path}: ${i.message}`);
 */
export function loadConfig(text: string, options: LoadOptions): LoadResult {
  return loadYaml(text, options, {
    schema: configSchema,
    crossCheck: (raw, readable) => crossCheck(raw, { readable }),
    files: (config, raw, read) => {
      const files = new FileReader(options.baseDir, read);
      const listeners = config.listeners.map((l, i) => files.listener(l, raw, i));
      const backends = Object.fromEntries(Object.entries(config.backends).map(([name, b]) => [name, files.backend(b)]));
      return { config: { ...config, listeners, backends }, issues: files.issues };
    },
  });
}

/**
 * What {@link loadYaml} validates against: a zod schema (leaves from `schema-fields.ts`, so
 * messages read the same everywhere) and the cross-field checks on the raw tree.
 *
 * @example
 * const spec: YamlSpec<HubConfig> = { schema: hubConfigSchema, crossCheck: hubChecks };
 */
export interface YamlSpec<T> {
  readonly schema: z.ZodType<T, unknown>;
  /** Checks between fields on the raw (interpolated) tree; `readable` resolves files from `baseDir`. */
  readonly crossCheck?: (raw: unknown, readable: (file: string) => string | undefined) => PathIssue[];
  /**
   * Reads the files a valid config names (TLS certificates) and completes the config with
   * what they hold; runs last, once every path is known to be readable.
   */
  readonly files?: (config: T, raw: unknown, read: (absolutePath: string) => Buffer) => { readonly config: T; readonly issues: readonly PathIssue[] };
}

/**
 * The pipeline behind every holdfast config file (the gateway's and the hub's): parse
 * the YAML (syntax errors as `line:column`), expand `${VAR}`, validate against `spec`
 * (strict; defaults filled in) and its cross-field checks, and report every problem at
 * once, each with its path, in file order. Top-level `x-` keys are ignored.
 *
 * @example
 * const r = loadYaml(text, { env: process.env, baseDir: "." }, { schema: hubConfigSchema });
 * if (!r.ok) for (const i of r.issues) console.error(formatIssue(i));
 */
export function loadYaml<T>(
  text: string,
  options: LoadOptions,
  spec: YamlSpec<T>,
): { readonly ok: true; readonly config: T } | { readonly ok: false; readonly issues: readonly ConfigIssue[] } {
  const yaml = readYaml(text);
  if ("issues" in yaml) return { ok: false, issues: yaml.issues };
  const { doc, lines } = yaml;
  const expanded = interpolate(doc, options.env);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb ("excessive alias count"), an alias before its anchor, a merge key
    // (<<) given something other than mappings: at the node's line:column when found.
    return { ok: false, issues: [{ path: aliasOrMergeAt(doc, lines), message: (e as Error).message }] };
  }
  raw = withoutExtensions(raw);
  const zod = zodIssues();
  const parsed = spec.schema.safeParse(raw, { error: zod.errorMap });
  const readable = options.readable ?? fileReadable;
  const found: PathIssue[] = [
    ...(parsed.success ? [] : zod.collect(parsed.error.issues)),
    ...(spec.crossCheck?.(raw, (file) => readable(resolve(options.baseDir, file))) ?? []),
  ];
  // A value whose variable is missing is not worth a second message about its shape.
  const issues = [
    ...expanded.issues,
    ...found.filter((i) => !expanded.failed.some((f) => startsWith(i.path, f))),
  ];
  if (issues.length > 0 || !parsed.success) return { ok: false, issues: toConfigIssues(inDocumentOrder(doc, redactIssues(issues, raw))) };
  if (spec.files === undefined) return { ok: true, config: parsed.data };
  const withFiles = spec.files(parsed.data, raw, options.readFile ?? readFileSync);
  if (withFiles.issues.length > 0) return { ok: false, issues: toConfigIssues(inDocumentOrder(doc, withFiles.issues)) };
  return { ok: true, config: withFiles.config };
}

/**
 * Reads a config file's text, or the {@link FileLoadResult} that says why it cannot be read.
 *
 * @example
 * const t = readConfigText("hub.yaml");
 * if (typeof t !== "string") return t; // { ok: false, unreadable: true, issues }
 */
export function readConfigText(path: string): string | { readonly ok: false; readonly issues: readonly ConfigIssue[]; readonly unreadable: true } {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return { ok: false, unreadable: true, issues: [{ path: "", message: `cannot read ${path}: ${reason(e)}` }] };
  }
}

/**
 * Reads and loads a config file (see {@link loadConfig}); relative paths inside it start
 * at its folder. Synchronous: it runs at start and on reload, off the data path, and
 * `holdfast check` wants an exit code at once.
 *
 * @example
 * const r = loadConfigFile("holdfast.yaml");
 * if (!r.ok) process.exitCode = "unreadable" in r ? 2 : 1;
 */
export function loadConfigFile(path: string, env: Env = process.env): FileLoadResult {
  const text = readConfigText(path);
  if (typeof text !== "string") return text;
  return loadConfig(text, { env, baseDir: dirname(resolve(path)) });
}

// Top-level keys starting with "x-" are ignored, as in Compose files: a place for YAML
// anchors shared by several sections (`x-defaults: &defaults`). Anywhere else an
// unknown key is an error.
// Stage one: YAML syntax, positions as line:column since there is no path yet.
function readYaml(text: string): { doc: Document; lines: LineCounter } | { issues: ConfigIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { merge: true, prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  // After a syntax error the parser reports every following token as unexpected: only
  // the first one says something. Duplicate keys are independent of each other: all kept.
  const first = doc.errors.find((e) => e.code !== "DUPLICATE_KEY");
  const sourceLines = text.split("\n");
  const issues = doc.errors
    .filter((e) => e === first || e.code === "DUPLICATE_KEY")
    .map((e) => {
      const at = e.linePos?.[0];
      // yaml appends " at line L, column C:" and a code frame; we keep the first clause.
      let message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      // `{ token: ${TOKEN} }`: YAML reads the `{` of `${` as the start of a mapping.
      if (at && /[{[][^"']*\$\{/.test(sourceLines[at.line - 1] ?? "")) message += ' (a ${VAR} inside { } or [ ] must be quoted: "${VAR}")';
      return { path: at ? `${at.line}:${at.col}` : "", message };
    });
  if (issues.length > 0) return { issues };
  if (doc.contents === null) return { issues: [{ path: "", message: "the config is empty" }] };
  // A list or mapping as a key (`? [a, b]`) has no place in a config, and yaml would
  // stringify it with a process warning.
  visit(doc, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return;
      const at = lines.linePos(pair.key.range?.[0] ?? 0);
      issues.push({ path: `${at.line}:${at.col}`, message: "a key must be a plain value, not a list or a mapping" });
    },
  });
  return issues.length > 0 ? { issues } : { doc, lines };
}

// Where toJS failed: the first alias whose anchor comes later (or nowhere), or the
// first merge key whose value is not mappings; "" when neither (an alias bomb).
function aliasOrMergeAt(doc: Document, lines: LineCounter): string {
  const mapping = (n: unknown): boolean => isMap(isAlias(n) ? n.resolve(doc) : n);
  let at: Node | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      at = node;
      return visit.BREAK;
    },
    Pair(_, pair) {
      if (!isScalar(pair.key) || typeof pair.key.value !== "symbol") return undefined;
      const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      if (isSeq(value) ? value.items.every(mapping) : mapping(value)) return undefined;
      at = pair.key;
      return visit.BREAK;
    },
  });
  const offset = at?.range?.[0];
  if (offset === undefined) return "";
  const p = lines.linePos(offset);
  return `${p.line}:${p.col}`;
}

function withoutExtensions(raw: unknown): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith("x-")));
}

// Resolves the TLS paths of a valid config and reads what they hold (see tls-files.ts).
class FileReader {
  readonly issues: PathIssue[] = [];
  readonly #baseDir: string;
  readonly #read: (path: string) => Buffer;

  constructor(baseDir: string, read: (path: string) => Buffer) {
    this.#baseDir = baseDir;
    this.#read = read;
  }

  listener(l: ListenerConfig, raw: unknown, i: number): ListenerConfig {
    if (l.mode !== "http" || !l.tls) return l;
    // certs[0] is `cert`/`key` when they are given, else the first of `certs`.
    const direct = rec(rec(list(rec(raw)?.listeners)[i])?.tls)?.cert !== undefined;
    const certs = l.tls.certs.map((c, j): TlsCertificate => {
      const at: PathSegment[] = direct && j === 0 ? ["listeners", i, "tls"] : ["listeners", i, "tls", "certs", direct ? j - 1 : j];
      const cert = this.#abs(c.cert);
      const key = this.#abs(c.key);
      const certPem = this.#file(cert, [...at, "cert"]);
      const keyPem = this.#file(key, [...at, "key"]);
      if (certPem === undefined || keyPem === undefined) return { ...c, cert, key };
      const r = inspectKeyPair(certPem, keyPem);
      if (!r.ok) {
        this.issues.push({ path: [...at, r.field], message: r.message });
        return { ...c, cert, key };
      }
      return { cert, key, names: r.value.names, notAfter: r.value.notAfter, fingerprint: r.value.fingerprint };
    });
    return { ...l, tls: { ...l.tls, certs } };
  }

  backend(b: BackendConfig): BackendConfig {
    if (b.tls?.ca === undefined) return b;
    const ca = this.#abs(b.tls.ca);
    const at: PathSegment[] = ["backends", b.name, "tls", "ca"];
    const pem = this.#file(ca, at);
    if (pem === undefined) return b;
    const r = inspectCa(pem);
    if (!r.ok) this.issues.push({ path: at, message: r.message });
    return { ...b, tls: { ...b.tls, ca, caPem: r.ok ? r.value : undefined } };
  }

  #abs(p: string): string {
    return isAbsolute(p) ? p : resolve(this.#baseDir, p);
  }

  #file(path: string, at: PathSegment[]): Buffer | undefined {
    try {
      return this.#read(path);
    } catch (e) {
      this.issues.push({ path: at, message: `cannot read ${path}: ${reason(e)}` });
      return undefined;
    }
  }
}

function fileReadable(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return "not a file";
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return reason(e);
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (e as Error).message;
}

function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

// Errors are easier to fix top to bottom: sort them by where their path is in the file
// (the nearest existing ancestor for a missing key). The sort is stable.
function inDocumentOrder(doc: Document, issues: readonly PathIssue[]): PathIssue[] {
  const offset = (path: readonly PathSegment[]): number => {
    for (let n = path.length; n > 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return node.range[0];
    }
    return 0;
  };
  return issues
    .map((issue, i) => ({ issue, i, at: offset(issue.path) }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((x) => x.issue);
}
