#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to 32 MiB under a
// burst of handshakes and stays there; capped, an idle WebSocket tunnel costs ~4.9 KiB
// instead of ~8.9 (bench: "Memory per idle WebSocket tunnel"), at no measurable CPU
// cost per request. Workers get the same flag from the primary.
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
// SIGHUP last: once it is caught (what /proc/PID/status shows), so are the other two.
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, early);
const compiled = new URL("../dist/cli/main.js", import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL("../src/cli/main.ts", import.meta.url).href);
