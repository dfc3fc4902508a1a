import { createHash } from "node:crypto";
import { readFileSync, unlinkSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Config } from "../config/types.ts";

// The process around a running gateway: a pid file (for `holdfast reload`) and a watch
// on the config file and the TLS files it names (`--watch`). Reloading itself is control/reload.ts.

/** Where `holdfast gateway -c FILE` writes its pid unless `--pid-file` says otherwise. */
export function defaultPidFile(configFile: string): string {
  const id = createHash("sha1").update(resolve(configFile)).digest("hex").slice(0, 12);
  return join(tmpdir(), `holdfast-${id}.pid`);
}

/**
 * Writes the pid; the returned function removes the file only while it still holds this
 * pid (a newer gateway started with the same config during our graceful stop owns it now).
 */
export function writePidFile(path: string): () => void {
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

/**
 * `--watch`: calls `onChange` when the config file changes, or one of the files it names
 * ({@link ConfigWatch.also}: the TLS certificates, keys and CA files), so a certificate
 * renewed in place (certbot swaps the symlinks under `live/`) is reloaded like an edited
 * config. Editors and certbot replace files rather than write them: the directories are
 * watched, and events for other names in them are ignored.
 *
 * @example
 * const w = new ConfigWatch("holdfast.yaml", () => void reload());
 * w.also(tlsFiles(config));
 */
export class ConfigWatch {
  readonly #file: string;
  readonly #onChange: () => void;
  /** Directory → the names watched in it, and its watcher. */
  readonly #dirs = new Map<string, { names: Set<string>; watcher: FSWatcher | null }>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(file: string, onChange: () => void) {
    this.#file = resolve(file);
    this.#onChange = onChange;
    this.also([]);
  }

  /** Watches the config file and `files` (replacing the files given before). */
  also(files: readonly string[]): void {
    const want = new Map<string, Set<string>>();
    for (const f of [this.#file, ...files.map((x) => resolve(x))]) {
      const dir = dirname(f);
      if (!want.has(dir)) want.set(dir, new Set());
      want.get(dir)!.add(basename(f));
    }
    for (const [dir, d] of this.#dirs) {
      if (want.has(dir)) continue;
      d.watcher?.close();
      this.#dirs.delete(dir);
    }
    for (const [dir, names] of want) {
      const have = this.#dirs.get(dir);
      if (have !== undefined) {
        have.names = names;
        continue;
      }
      const d: { names: Set<string>; watcher: FSWatcher | null } = { names, watcher: null };
      try {
        d.watcher = watch(dir, (_event, name) => {
          if (name !== null && !d.names.has(name)) return;
          // Editors write in several steps: wait until the files settle.
          if (this.#timer !== undefined) clearTimeout(this.#timer);
          this.#timer = setTimeout(this.#onChange, 200);
        });
        d.watcher.unref();
        d.watcher.on("error", () => {});
      } catch {
        // A folder that is gone: the reload that follows says what is missing.
      }
      this.#dirs.set(dir, d);
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const d of this.#dirs.values()) d.watcher?.close();
    this.#dirs.clear();
  }
}

/** The files a config reads besides itself: certificates and keys of TLS listeners, CA files of TLS backends. */
export function tlsFiles(config: Config): string[] {
  const out: string[] = [];
  for (const l of config.listeners) if (l.mode === "http" && l.tls !== undefined) for (const c of l.tls.certs) out.push(c.cert, c.key);
  for (const b of Object.values(config.backends)) if (b.tls?.ca !== undefined) out.push(b.tls.ca);
  return out;
}
