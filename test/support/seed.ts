// The seed of a seeded (fuzz) test file: one value per run, replayable.

/**
 * The seed for this run: `FUZZ_SEED` to replay one (`.ci/run` sets and prints one per CI
 * run), else a fresh one. Tests print it with every failure and in their suite's title.
 *
 * @example
 * const random = mulberry32(fuzzSeed());
 */
export function fuzzSeed(): number {
  const s = process.env.FUZZ_SEED;
  return s !== undefined && s !== "" ? Number(s) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}
