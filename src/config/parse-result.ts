/**
 * The result of the config folder's small parsers: a value, or a message that reads
 * well after a path (`backends.api.health.interval: expected a duration like "5s", got 5`).
 * Parsers never throw on user input.
 *
 * @example
 * const r = parseDuration("1h30m");
 * if (r.ok) r.value; // 5_400_000
 * else r.message;
 */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/**
 * A successful {@link Parsed}.
 *
 * @example
 * return ok(5000);
 */
export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/**
 * A failed {@link Parsed}.
 *
 * @example
 * return fail(`expected a duration like "5s", got ${describe(input)}`);
 */
export function fail<T = never>(message: string): Parsed<T> {
  return { ok: false, message };
}

/**
 * How a value read from YAML is shown in an error: strings quoted, lists and mappings
 * named rather than dumped (they can be long, and may hold secrets).
 *
 * @example
 * describe("5 seconds"); // '"5 seconds"'
 * describe(5);           // '5'
 * describe(null);        // 'an empty value'
 * describe([1]);         // 'a list'
 */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/**
 * The closest of `candidates` to a misspelt `word`, or `undefined` when none is close.
 * Case, `_` and `-` are ignored first, so `max_conn` finds `maxConn`.
 *
 * @example
 * suggest("intervall", ["interval", "timeout"]); // "interval"
 * suggest("zzz", ["interval"]);                  // undefined
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const w = squash(word);
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(w.length / 3)) + 1;
  for (const c of candidates) {
    const d = c === word ? Infinity : squash(c) === w ? 0 : distance(w, squash(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The {@link suggest}ion as a message suffix, or the empty string.
 *
 * @example
 * `unknown key${didYouMean("tsl", ["tls"])}`; // 'unknown key (did you mean "tls"?)'
 */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s === undefined ? "" : ` (did you mean ${JSON.stringify(s)}?)`;
}

// Edit distance counting a swap of two neighbours as one edit (optimal string
// alignment): "tsl" is one edit from "tls". The words are config keys, so the table is tiny.
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
