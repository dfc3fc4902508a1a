// Every key path of a zod config schema, for the docs tests: a key added to a schema
// without documentation fails there.

/** A zod schema seen through its definition (zod 4's `_zod.def`). */
export type ZodNode = { _zod: { def: { type: string; [key: string]: unknown } } };

/**
 * Every key path of the schema, e.g. `backends.*.health.interval`, `listeners.[].name`.
 *
 * @example
 * schemaKeys(configSchema as unknown as ZodNode).includes("workers"); // true
 */
export function schemaKeys(node: ZodNode, prefix = "", out: string[] = []): string[] {
  const def = node._zod.def;
  switch (def.type) {
    case "object":
      for (const [key, child] of Object.entries(def.shape as Record<string, ZodNode>)) {
        out.push(`${prefix}${key}`);
        schemaKeys(child, `${prefix}${key}.`, out);
      }
      break;
    case "pipe":
      schemaKeys(def.in as ZodNode, prefix, out);
      break;
    case "default":
    case "prefault":
    case "optional":
      schemaKeys(def.innerType as ZodNode, prefix, out);
      break;
    case "array":
      schemaKeys(def.element as ZodNode, `${prefix}[].`, out);
      break;
    case "record":
      schemaKeys(def.valueType as ZodNode, `${prefix}*.`, out);
      break;
    case "union":
      for (const option of def.options as ZodNode[]) schemaKeys(option, prefix, out);
      break;
  }
  return out;
}
