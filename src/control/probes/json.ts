/**
 * JSON body assertions for application-aware checks (`expect.json`). PURE.
 *
 * Objects match as subsets: every key listed in the expectation must match, nested
 * objects recursively, extra keys in the body are ignored (a health body carries
 * latencies and timestamps nobody can assert on). Arrays and scalars must be equal.
 *
 * @example
 * jsonMismatch({ status: "healthy", db: { connected: true } },
 *              { status: "healthy", db: { connected: true, latency_ms: 5 } }); // undefined
 * jsonMismatch({ status: "healthy" }, { status: "degraded" });
 * // 'json: status expected "healthy", got "degraded"'
 */

/**
 * Returns `undefined` when `actual` satisfies `expected`, else the first mismatch as a
 * reason naming its path.
 *
 * @example
 * jsonMismatch({ a: { b: 1 } }, { a: {} }); // "json: a.b expected 1, got nothing"
 */
export function jsonMismatch(expected: Readonly<Record<string, unknown>>, actual: unknown): string | undefined {
  const path = mismatchAt(expected, actual, "");
  if (path === undefined) return undefined;
  return `json: ${path.at} expected ${show(path.want)}, got ${show(path.got)}`;
}

interface Mismatch {
  readonly at: string;
  readonly want: unknown;
  readonly got: unknown;
}

function mismatchAt(want: unknown, got: unknown, at: string): Mismatch | undefined {
  if (isPlainObject(want)) {
    if (!isPlainObject(got)) return { at: at || "(root)", want, got };
    for (const key of Object.keys(want)) {
      const m = mismatchAt(want[key], Object.hasOwn(got, key) ? got[key] : undefined, at ? `${at}.${key}` : key);
      if (m !== undefined) return m;
    }
    return undefined;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return { at: at || "(root)", want, got };
    for (let i = 0; i < want.length; i++) {
      const m = mismatchAt(want[i], got[i], `${at}[${i}]`);
      if (m !== undefined) return m;
    }
    return undefined;
  }
  return want === got ? undefined : { at: at || "(root)", want, got };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
