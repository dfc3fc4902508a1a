#!/usr/bin/env node
// Entry point of the `holdfast` command. A published package runs the compiled
// dist/; a checkout runs the TypeScript sources directly (Node >= 22.18 strips types).
import { existsSync } from "node:fs";
// Signals that arrive while the CLI is still loading (up to a second on a busy
// machine): a SIGHUP (reload) must not kill the process, its default action; a
// SIGTERM/SIGINT ends it cleanly, since nothing has started. Once a command installs
// its own handlers it sets `globalThis.holdfastSignals` and these stand aside.
const early = (sig) => {
  if (globalThis.holdfastSignals === true || sig === "SIGHUP") return;
  process.exit(0);
};
for (const sig of ["SIGHUP", "SIGTERM", "SIGINT"]) process.on(sig, early);
const compiled = new URL("../dist/cli/main.js", import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL("../src/cli/main.ts", import.meta.url).href);
