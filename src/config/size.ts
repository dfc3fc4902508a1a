import { describe, fail, ok, type Parsed } from "./parse-result.ts";

const UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
const SIZE = /^(\d+)(?:\.(\d+))?\s?(B|KiB|MiB|GiB)$/;
// "1MB" is ambiguous (10^6 or 2^20 depending on who wrote it): refused with the binary
// spelling suggested, rather than silently read one way.
const DECIMAL = /^(\d+(?:\.\d+)?)\s?([kKmMgG])[bB]?$/;

/**
 * Parses a size in bytes: `512B`, `64KiB`, `1MiB`, `1.5MiB`, `2GiB`, or a bare
 * non-negative integer (bytes). Units are binary; `1MB` and `1k` are refused with the
 * binary spelling suggested, since they mean 10^6 to some readers and 2^20 to others.
 *
 * @example
 * parseSize("1MiB");  // { ok: true, value: 1_048_576 }
 * parseSize(4096);    // { ok: true, value: 4096 }
 * parseSize("1MB");   // { ok: false, message: 'expected a size like "64KiB" or "1MiB", got "1MB" (did you mean "1MiB"? ...)' }
 */
export function parseSize(input: unknown): Parsed<number> {
  const bad = (why = "") => fail<number>(`expected a size like "64KiB" or "1MiB", got ${describe(input)}${why}`);
  if (typeof input === "number") return Number.isSafeInteger(input) && input >= 0 ? ok(input) : bad();
  if (typeof input !== "string") return bad();
  const m = SIZE.exec(input);
  if (m === null) {
    const d = DECIMAL.exec(input);
    if (d === null) return bad();
    const unit = ({ k: "KiB", m: "MiB", g: "GiB" } as const)[d[2]!.toLowerCase() as "k" | "m" | "g"];
    return bad(` (did you mean "${d[1]}${unit}"? sizes use binary units: B, KiB, MiB, GiB)`);
  }
  const scale = UNITS[m[3] as keyof typeof UNITS];
  const fraction = m[2] ?? "";
  const value = Number(`${m[1]}.${fraction || "0"}`) * scale;
  if (!Number.isInteger(value)) return bad(" (not a whole number of bytes)");
  if (!Number.isSafeInteger(value)) return bad(" (too large)");
  return ok(value);
}

/**
 * Formats bytes the way {@link parseSize} reads them back, in the largest unit that
 * gives at most one decimal. Used in error messages and docs.
 *
 * @example
 * formatSize(1_048_576); // "1MiB"
 * formatSize(1536);      // "1.5KiB"
 * formatSize(1000);      // "1000B"
 */
export function formatSize(bytes: number): string {
  for (const unit of ["GiB", "MiB", "KiB"] as const) {
    const size = UNITS[unit];
    if (bytes >= size && (bytes * 10) % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
