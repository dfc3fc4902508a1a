// Markdown helpers: medians, spread, per-round ratios, tables.
// Ported from holdfast's shared benchmark anchors (anchors/tools/report.js).
import type { Row } from "./context.ts";

type N = number | null | undefined;

export function median(xs: N[]): number | null {
  const s = xs.filter((x): x is number => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function fmt(x: N, d = 0): string {
  return x === null || x === undefined || Number.isNaN(x)
    ? "n/a"
    : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function spread(xs: N[], d = 0): string {
  const s = xs.filter((x): x is number => typeof x === "number");
  if (!s.length) return "n/a";
  return `${fmt(Math.min(...s), d)}–${fmt(Math.max(...s), d)}`;
}

/**
 * Median over rounds of (value of a row ÷ value of the reference row in the same
 * round). Rounds are interleaved, so this cancels slow phases of the machine better
 * than a ratio of medians.
 */
export function ratioByRun(rows: Row[], ref: Row[], key: string): number | null {
  const byRun = new Map(ref.map((r) => [r.run, r.m[key]]));
  const q = rows.map((r) => {
    const a = r.m[key];
    const b = byRun.get(r.run);
    return typeof a === "number" && typeof b === "number" && b !== 0 ? a / b : null;
  });
  return median(q);
}

export const pct = (x: number | null): string => (x === null ? "n/a" : `${fmt(100 * x)}%`);
export const times = (x: number | null): string => (x === null ? "n/a" : `${x.toFixed(2)}×`);

/** A markdown table; the first column is left-aligned, the others right-aligned unless `left` lists them. */
export function table(head: string[], lines: string[][], left: number[] = [0]): string {
  const out = [`| ${head.join(" | ")} |`, `|${head.map((_h, i) => (left.includes(i) ? " --- " : " ---: ")).join("|")}|`];
  for (const l of lines) out.push(`| ${l.join(" | ")} |`);
  return out.join("\n");
}

export const col = (rs: Row[], key: string): N[] => rs.map((r) => r.m[key]);
