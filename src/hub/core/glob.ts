/**
 * Channel globs, shared by the channel rules (`channels[].match`) and the JWT `channels`
 * claim: `*` matches any run of characters, `:` included (`chat:*` matches
 * `chat:room:1`), `?` matches exactly one character, everything else matches itself.
 * There is no escape: channel names cannot contain `*` or `?` (see `rules.ts`).
 *
 * Matching is the classic two-pointer wildcard walk with one backtrack point: linear in
 * practice, O(pattern × name) at worst, no RegExp built from user input.
 *
 * @example
 * const g = compileGlob("chat:*");
 * g.test("chat:room:1"); // true
 * g.test("news");        // false
 */

/** A compiled glob. `test` allocates nothing. */
export interface Glob {
  readonly source: string;
  test(name: string): boolean;
}

const STAR = 42; // "*"
const QUESTION = 63; // "?"

/**
 * Compiles a glob once; literal patterns and `*`-suffix prefixes take a fast path.
 *
 * @example
 * compileGlob("*").test("anything:at:all"); // true
 * compileGlob("room-?").test("room-10");    // false
 */
export function compileGlob(source: string): Glob {
  const star = source.indexOf("*");
  const question = source.indexOf("?");
  if (star === -1 && question === -1) return { source, test: (name) => name === source };
  if (source === "*") return { source, test: () => true };
  if (question === -1 && star === source.length - 1) {
    const prefix = source.slice(0, -1);
    return { source, test: (name) => name.startsWith(prefix) };
  }
  return { source, test: (name) => globMatch(source, name) };
}

/**
 * Whether `name` matches the glob `pattern` (uncompiled).
 *
 * @example
 * globMatch("a?c*", "abc:d"); // true
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let starP = -1; // position after the last `*` seen
  let starN = 0; // where that `*` began matching in `name`
  while (n < name.length) {
    const c = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (c === STAR) {
      starP = ++p;
      starN = n;
    } else if (c !== -1 && (c === QUESTION || c === name.charCodeAt(n))) {
      p++;
      n++;
    } else if (starP !== -1) {
      // let the last `*` swallow one more character and retry from there
      p = starP;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}
