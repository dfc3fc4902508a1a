/**
 * Resolves on the first SIGINT or SIGTERM; a second one exits at once (the graceful
 * stop of the lifecycle issue builds on this).
 *
 * @example
 * await untilSignal();
 * await gateway.stop();
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (sig: NodeJS.Signals) => {
      if (seen) process.exit(130);
      seen = true;
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
    (globalThis as { holdfastSignals?: boolean }).holdfastSignals = true;
  });
}

/**
 * The graceful-stop signals of a long-running command, installed at once (so a signal
 * that arrives while starting is kept): `stopped` resolves on the first SIGTERM/SIGINT;
 * a second one runs `force` (if set), says so on stderr and exits with 130.
 *
 * @example
 * const stop = stopSignals("holdfast");
 * // ...start...
 * stop.force = () => primary.kill();
 * const sig = await stop.stopped;
 */
export function stopSignals(name: string): { readonly stopped: Promise<NodeJS.Signals>; force: (() => void) | undefined } {
  let seen: NodeJS.Signals | undefined;
  let resolve: (sig: NodeJS.Signals) => void = () => {};
  const out = { stopped: new Promise<NodeJS.Signals>((r) => (resolve = r)), force: undefined as (() => void) | undefined };
  const handler = (sig: NodeJS.Signals) => {
    if (seen !== undefined) {
      process.stderr.write(`${name}: ${sig} again: exiting now\n`);
      out.force?.();
      process.exit(130);
    }
    seen = sig;
    resolve(sig);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  (globalThis as { holdfastSignals?: boolean }).holdfastSignals = true;
  return out;
}
