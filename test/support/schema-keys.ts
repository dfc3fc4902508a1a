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
export function schemaKeys(node: ZodNode, prefix = "", out: string[] = [], keep: (child: ZodNode) => boolean = () => true): string[] {
  const def = node._zod.def;
  switch (def.type) {
    case "object":
      for (const [key, child] of Object.entries(def.shape as Record<string, ZodNode>)) {
        if (keep(child)) out.push(`${prefix}${key}`);
        schemaKeys(child, `${prefix}${key}.`, out, keep);
      }
      break;
    case "pipe":
      schemaKeys(def.in as ZodNode, prefix, out, keep);
      break;
    case "default":
    case "prefault":
    case "optional":
      schemaKeys(def.innerType as ZodNode, prefix, out, keep);
      break;
    case "array":
      schemaKeys(def.element as ZodNode, `${prefix}[].`, out, keep);
      break;
    case "record":
      schemaKeys(def.valueType as ZodNode, `${prefix}*.`, out, keep);
      break;
    case "union":
      for (const option of def.options as ZodNode[]) schemaKeys(option, prefix, out, keep);
      break;
  }
  return out;
}

/**
 * The key paths whose schema gives a default (the loader fills them in when absent).
 *
 * @example
 * schemaKeysWithDefaults(configSchema as unknown as ZodNode).includes("backends.*.retries"); // true
 */
export function schemaKeysWithDefaults(node: ZodNode): string[] {
  return schemaKeys(node, "", [], (child) => ["default", "prefault"].includes(child._zod.def.type));
}
