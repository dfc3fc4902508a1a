import { createHash } from "node:crypto";
import { readFileSync, unlinkSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// The process around a running gateway: a pid file (for `holdfast reload`) and a watch
// on the config file (`--watch`). Reloading itself is control/reload.ts.

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

/** Watches `file` for changes (editors replace files: the directory is watched too). */
export function watchConfig(file: string, onChange: () => void): FSWatcher {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const abs = resolve(file);
  const dir = resolve(abs, "..");
  const base = abs.slice(dir.length + 1);
  const w = watch(dir, (_event, name) => {
    if (name !== null && name !== base) return;
    // Editors write in several steps: wait until the file settles.
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  });
  w.unref();
  return w;
}
