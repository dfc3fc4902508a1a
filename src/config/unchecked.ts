// Helpers to read the YAML tree before the schema has vouched for it: the cross-field
// checks run on it even when some fields are wrong, so that one `check` run reports
// every error. Anything of an unexpected type reads as absent (the schema reports it).

/**
 * The value as a plain mapping, or `undefined`.
 *
 * @example
 * rec({ a: 1 }); // { a: 1 }
 * rec([1]);      // undefined
 */
export function rec(v: unknown): Readonly<Record<string, unknown>> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * The value as a list, or an empty list.
 *
 * @example
 * list("x"); // []
 */
export function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * The value when it is a string.
 *
 * @example
 * text(5); // undefined
 */
export function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * Whether `key` is set (own keys only: a backend named `constructor` is not
 * `Object.prototype.constructor`).
 *
 * @example
 * has({ a: 1 }, "a");           // true
 * has({}, "constructor");       // false
 */
export function has(obj: Readonly<Record<string, unknown>> | undefined, key: string): boolean {
  return obj !== undefined && Object.hasOwn(obj, key) && obj[key] !== undefined;
}
