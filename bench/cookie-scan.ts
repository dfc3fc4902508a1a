// Micro-benchmark of the sticky cookie scan on hostile Cookie headers: readCookie's cost
// per byte at two sizes, 4× apart. A linear scan costs the same per byte at both (the
// "4× size / 1× size" column stays near 1); a quadratic one grows with the size. Moved
// here from a timed assertion in src/core/sticky/cookie.test.ts (tests assert results,
// the bench measures time). Not a test. Run it alone with `node bench/cookie-scan.ts`,
// or through `npm run bench` (WORKLOADS=cookie-scan).
import { readCookie } from "../src/core/sticky/cookie.ts";

/**
 * One line of the result: a hostile header shape at two sizes.
 *
 * @example
 * const row: Row = { header: "a;a;…HF_SRV=x", "1× (bytes)": 100_000, "ns/byte at 1×": 1.9, "ns/byte at 4×": 2.0, "4× size / 1× size": 1.05 };
 */
export interface Row {
  header: string;
  "1× (bytes)": number;
  "ns/byte at 1×": number;
  "ns/byte at 4×": number;
  "4× size / 1× size": number;
}

const SHAPES: [string, (n: number) => string][] = [
  ["pairs without = (a;a;…HF_SRV=x)", (n) => "a;".repeat(n) + "HF_SRV=x"],
  ["near-miss names (HF_SRV2=1; …)", (n) => "HF_SRV2=1; ".repeat(n / 5) + "HF_SRV=x"],
  ["name without = (HF_SRV HF_SRV …)", (n) => "HF_SRV ".repeat(n / 3.5) + "; HF_SRV=x"],
];
const SIZE = 100_000; // repetitions at 1×: ~200 KB headers
const ROUNDS = 7;

/** Best of ROUNDS, in ns per byte of header. */
function nsPerByte(header: string): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    if (readCookie(header, "HF_SRV") !== "x") throw new Error("readCookie lost the cookie");
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / header.length);
  }
  return best;
}

/**
 * Per-byte cost of the scan on each hostile shape at 1× and 4× its size.
 *
 * @example
 * const rows = benchCookieScan(); // rows[0]["4× size / 1× size"] ≈ 1 when linear
 */
export function benchCookieScan(): Row[] {
  return SHAPES.map(([header, make]) => {
    const small = make(SIZE);
    const large = make(4 * SIZE);
    nsPerByte(small); // warm-up
    const a = nsPerByte(small);
    const b = nsPerByte(large);
    return { header, "1× (bytes)": small.length, "ns/byte at 1×": a, "ns/byte at 4×": b, "4× size / 1× size": b / a };
  });
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) console.table(benchCookieScan());
