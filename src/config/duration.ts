import { describe, fail, ok, type Parsed } from "./parse-result.ts";

const UNITS = { d: 86_400_000n, h: 3_600_000n, m: 60_000n, s: 1000n, ms: 1n } as const;
type Unit = keyof typeof UNITS;
const ORDER: readonly Unit[] = ["d", "h", "m", "s", "ms"];
// "ms" before "m" so that "5ms" is not read as five minutes followed by garbage.
const PART = /(\d+)(?:\.(\d+))?(ms|d|h|m|s)/y;

/**
 * Parses a duration (`250ms`, `5s`, `1m`, `1h`, `1d`, `1h30m`, `1.5s`) to milliseconds.
 * Units: `d h m s ms`, largest first, each at most once; a fraction is allowed when the
 * result is a whole number of milliseconds. A bare number is refused (is `5` seconds or
 * milliseconds?) except `0`, which means the same in every unit.
 *
 * @example
 * parseDuration("1h30m");      // { ok: true, value: 5_400_000 }
 * parseDuration("1.5s");       // { ok: true, value: 1500 }
 * parseDuration(0);            // { ok: true, value: 0 }
 * parseDuration(5);            // { ok: false, message: 'expected a duration like "5s", got 5' }
 * parseDuration("5 seconds");  // { ok: false, message: 'expected a duration like "5s", got "5 seconds"' }
 */
export function parseDuration(input: unknown): Parsed<number> {
  const bad = (why = "") => fail<number>(`expected a duration like "5s", got ${describe(input)}${why}`);
  if (input === 0 || input === "0") return ok(0);
  if (typeof input !== "string" || input === "") return bad();
  let total = 0n;
  let pos = 0;
  let previous = -1;
  while (pos < input.length) {
    PART.lastIndex = pos;
    const m = PART.exec(input);
    if (!m) return bad();
    const unit = m[3] as Unit;
    const rank = ORDER.indexOf(unit);
    if (rank <= previous) return bad(" (units go once each, largest first, like 1h30m)");
    previous = rank;
    const fraction = m[2] ?? "";
    const scale = 10n ** BigInt(fraction.length);
    const scaled = (BigInt(m[1]!) * scale + BigInt(fraction || "0")) * UNITS[unit];
    if (scaled % scale !== 0n) return bad(" (not a whole number of milliseconds)");
    total += scaled / scale;
    pos = PART.lastIndex;
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return bad(" (too long)");
  return ok(Number(total));
}

/**
 * Formats milliseconds the way a person writes them, and the way {@link parseDuration}
 * reads them back. Used in error messages.
 *
 * @example
 * formatDuration(5_400_000); // "1h30m"
 * formatDuration(1500);      // "1.5s"
 * formatDuration(250);       // "250ms"
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = "";
  for (const unit of ["d", "h", "m"] as const) {
    const size = Number(UNITS[unit]);
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0) out += `${rest / 1000}s`;
  return out;
}
