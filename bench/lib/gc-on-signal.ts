// Preloaded (`node --expose-gc --import ./gc-on-signal.ts ...`) into both servers of the
// hub memory benchmark (bench/hub.ts): SIGUSR2 runs a full garbage collection, so the
// load can read the server's RSS with no garbage in it, by the same method on both sides.
const gc = (globalThis as { gc?: () => void }).gc;
process.on("SIGUSR2", () => {
  gc?.();
  gc?.();
});
