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
