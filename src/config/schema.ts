import { z } from "zod";
import type { Config } from "./types.ts";
import { DEFAULTS } from "./defaults.ts";
import { address, duration, field, NAME, nameMessage, str } from "./schema-fields.ts";
import { describe, fail, ok, type Parsed } from "./parse-result.ts";
import { backendSchema } from "./schema-backend.ts";
import { listenerSchema } from "./schema-listener.ts";

function parseWorkers(v: unknown): Parsed<number | "auto"> {
  if (v === "auto" || (typeof v === "number" && Number.isInteger(v) && v >= 1)) return ok(v);
  return fail(`expected "auto" or an integer >= 1, got ${describe(v)}`);
}

function parseRedisUrl(v: unknown): Parsed<string> {
  const bad = () => fail<string>(`expected a URL like "redis://127.0.0.1:6379", got ${describe(v)}`);
  if (typeof v !== "string" || !URL.canParse(v)) return bad();
  const protocol = new URL(v).protocol;
  return protocol === "redis:" || protocol === "rediss:" ? ok(v) : bad();
}

const backendName = z
  .string()
  .regex(NAME, { error: (iss) => nameMessage(iss.input) });

/**
 * The whole YAML document → {@link Config}: strict at every depth (an unknown key is an
 * error), defaults filled in, durations in ms, addresses split. Relationships between
 * fields (references, uniqueness, timeout < interval, ...) are checked by `cross-checks.ts`,
 * which `loadConfig` runs alongside.
 *
 * @example
 * const r = configSchema.safeParse(YAML.parse(text));
 * if (r.success) r.data.backends.api.timeouts.connect; // 5000
 */
export const configSchema = z
  .strictObject({
    admin: z
      .strictObject({
        listen: address("listen").default(() => ({ ...DEFAULTS.admin.listen })),
        token: str({ nonEmpty: true }).optional(),
      })
      .prefault({}),
    workers: field(parseWorkers).default("auto"),
    shutdown: z
      .strictObject({
        delay: duration().default(DEFAULTS.shutdown.delay),
        timeout: duration({ positive: true }).default(DEFAULTS.shutdown.timeout),
      })
      .prefault({}),
    cluster: z.strictObject({ redis: field(parseRedisUrl) }).optional(),
    listeners: z.array(listenerSchema).min(1, { error: "needs at least one listener" }),
    backends: z
      .record(backendName, backendSchema)
      .refine((b) => Object.keys(b).length > 0, { error: "needs at least one backend" }),
  })
  .transform(
    (c): Config => ({
      admin: { listen: c.admin.listen, token: c.admin.token },
      workers: c.workers,
      shutdown: { delay: c.shutdown.delay, timeout: c.shutdown.timeout },
      cluster: c.cluster && { redis: c.cluster.redis },
      listeners: c.listeners,
      backends: Object.fromEntries(Object.entries(c.backends).map(([name, b]) => [name, { name, ...b }])),
    }),
  );
