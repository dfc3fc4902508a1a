import { z } from "zod";
import type { AddressRole } from "./address.ts";
import { parseAddress } from "./address.ts";
import { parseDuration } from "./duration.ts";
import { parseHashKey, isToken } from "./hash-key.ts";
import { parseCidr } from "./ip.ts";
import { formatSize, parseSize } from "./size.ts";
import { describe, didYouMean, fail, ok, type Parsed } from "./parse-result.ts";

// Leaves are parsed by our own small functions rather than zod's primitives, so every
// message reads the same way ("expected X, got Y") and the parsers are unit-testable
// without zod. Zod composes them: strict objects, lists, maps, defaults.

/**
 * A zod leaf from a {@link Parsed} parser; a missing value is `required` unless the
 * caller wraps it in `.optional()` or `.default()`.
 *
 * @example
 * const port = field((v) => (typeof v === "number" ? ok(v) : fail("expected a number")));
 */
export function field<T>(parse: (value: unknown) => Parsed<T>) {
  return z.unknown().transform((value, ctx): T => {
    const r = value === undefined ? fail<T>("required") : parse(value);
    if (r.ok) return r.value;
    ctx.addIssue({ code: "custom", message: r.message, input: value });
    return z.NEVER;
  });
}

/**
 * A duration in milliseconds; `positive` refuses 0 (an interval of 0 would spin).
 *
 * @example
 * z.strictObject({ interval: duration({ positive: true }).default(5000) });
 */
export function duration(opts: { positive?: boolean } = {}) {
  return field((v) => {
    const r = parseDuration(v);
    if (r.ok && opts.positive && r.value === 0) return fail<number>(`must be more than 0, got ${describe(v)}`);
    return r;
  });
}

/**
 * An integer within `[min, max]` (`max` optional).
 *
 * @example
 * int(1, 256).default(1); // a server weight
 */
export function int(min: number, max?: number) {
  const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
  return field((v) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && (max === undefined || v <= max)
      ? ok(v)
      : fail<number>(`expected an integer ${range}, got ${describe(v)}`),
  );
}

/**
 * A finite number above `above` (exclusive) or within `[min, max]`.
 *
 * @example
 * num({ above: 1 });        // rebalance.maxSkew
 * num({ min: 0, max: 1 });  // health.jitter
 */
export function num(bounds: { above?: number; min?: number; max?: number }) {
  const { above, min, max } = bounds;
  const range =
    above !== undefined ? `> ${above}` : min !== undefined && max !== undefined ? `from ${min} to ${max}` : `>= ${min ?? 0}`;
  return field((v) =>
    typeof v === "number" &&
    Number.isFinite(v) &&
    (above === undefined || v > above) &&
    (min === undefined || v >= min) &&
    (max === undefined || v <= max)
      ? ok(v)
      : fail<number>(`expected a number ${range}, got ${describe(v)}`),
  );
}

/**
 * A string; `nonEmpty` refuses `""` (an empty env var, say). Numbers and booleans are
 * refused with a hint, since YAML reads `true` and `200` as such.
 *
 * @example
 * str({ nonEmpty: true });     // admin.token
 * str({ startsWith: "/" });    // a path
 */
export function str(opts: { nonEmpty?: boolean; startsWith?: string } = {}) {
  return field((v) => {
    if (typeof v === "number" || typeof v === "boolean") return fail<string>(`expected a string, got ${v} (quote it: "${v}")`);
    if (typeof v !== "string") return fail<string>(`expected a string, got ${describe(v)}`);
    if (opts.nonEmpty && v === "") return fail<string>("must not be empty");
    if (opts.startsWith && !v.startsWith(opts.startsWith)) {
      return fail<string>(`must start with ${JSON.stringify(opts.startsWith)}, got ${describe(v)}`);
    }
    return ok(v);
  });
}

/**
 * `true` or `false`. YAML 1.2 reads `yes`/`on` as strings, so they land here as errors.
 *
 * @example
 * bool().default(false);
 */
export function bool() {
  return field((v) => (typeof v === "boolean" ? ok(v) : fail<boolean>(`expected true or false, got ${describe(v)}`)));
}

/**
 * One of a fixed list of strings, with a suggestion for a near miss.
 *
 * @example
 * oneOf(["tcp", "http"] as const).default("tcp");
 */
export function oneOf<const T extends readonly string[]>(values: T) {
  return field((v) =>
    typeof v === "string" && values.includes(v)
      ? ok(v as T[number])
      : fail<T[number]>(
          `expected one of ${values.join(" | ")}, got ${describe(v)}${typeof v === "string" ? didYouMean(v, values) : ""}`,
        ),
  );
}

/**
 * Listener, backend and server names: safe in URLs (`/api/backends/{b}`), metric labels
 * and logs.
 *
 * @example
 * NAME.test("api-1"); // true
 * NAME.test("api 1"); // false
 */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The message for a bad name.
 *
 * @example
 * nameMessage("a b"); // 'expected a name like "api-1" (...), got "a b"'
 */
export const nameMessage = (v: unknown): string =>
  `expected a name like "api-1" (letters, digits, ".", "_", "-"; at most 64), got ${describe(v)}`;

/**
 * A name field (see {@link NAME}).
 *
 * @example
 * z.strictObject({ name: name() });
 */
export function name() {
  return field((v) => (typeof v === "string" && NAME.test(v) ? ok(v) : fail<string>(nameMessage(v))));
}

/**
 * An RFC 9110 token (header, cookie or method name).
 *
 * @example
 * token('a cookie name like "HF_SRV"');
 */
export function token(what: string) {
  return field((v) => (typeof v === "string" && isToken(v) ? ok(v) : fail<string>(`expected ${what}, got ${describe(v)}`)));
}

/**
 * A `host:port` address (see `parseAddress`).
 *
 * @example
 * address("listen").default(() => ({ host: "127.0.0.1", port: 9900 }));
 */
export function address(role: AddressRole) {
  return field((v) => parseAddress(v, role));
}

/**
 * A CIDR block, normalized (see `parseCidr`).
 *
 * @example
 * z.array(cidr());
 */
export const cidr = () => field(parseCidr);

/**
 * A backend's hashKey, parsed (see `parseHashKey`).
 *
 * @example
 * hashKey().optional();
 */
export const hashKey = () => field(parseHashKey);

/**
 * A size in bytes (see `parseSize`), at least `min`.
 *
 * @example
 * size(1024).default(1_048_576); // sendQueue.maxBytes
 */
export function size(min = 0) {
  return field((v) => {
    const r = parseSize(v);
    if (r.ok && r.value < min) return fail<number>(`must be at least ${formatSize(min)}, got ${describe(v)}`);
    return r;
  });
}
