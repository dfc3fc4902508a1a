/**
 * Test helpers for the admin surface: a parser of the Prometheus text format strict
 * enough to catch a malformed exposition, a sum over parsed samples, and a small admin
 * API client. Used by the integration tests; no runtime code imports it.
 *
 * @example
 * const { samples, types } = parseExposition(await (await fetch(url + "/metrics")).text());
 * sumSamples(samples, "holdfast_requests_total", { status: "5xx" });
 */

/**
 * One sample line of an exposition.
 *
 * @example
 * const s: Sample = { name: "holdfast_tunnels", labels: { backend: "ws", server: "ws-1" }, value: 3 };
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * What {@link parseExposition} read.
 *
 * @example
 * types.get("holdfast_upstream_latency_seconds"); // "histogram"
 */
export interface Exposition {
  readonly samples: Sample[];
  /** Metric name → type, from the `# TYPE` lines. */
  readonly types: Map<string, string>;
  /** Metric names that have a `# HELP` line. */
  readonly helps: Set<string>;
}

/**
 * Parses Prometheus text format 0.0.4; throws on a line that is neither a comment nor
 * a well-formed sample.
 *
 * @example
 * parseExposition('# TYPE x counter\nx{a="b"} 3\n').samples; // [{ name: "x", labels: { a: "b" }, value: 3 }]
 */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# HELP (\w+) .+$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    // prom-client writes NaN as "Nan"; Prometheus parses floats case-insensitively.
    m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (-?[\d.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types, helps };
}

/**
 * Sum of the samples named `name` whose labels include `where`.
 *
 * @example
 * sumSamples(samples, "holdfast_server_state", { server: "a", state: "up" }); // 1
 */
export function sumSamples(samples: readonly Sample[], name: string, where: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/**
 * What {@link adminRequest} resolves.
 *
 * @example
 * const r: AdminAnswer = await adminRequest(url, "GET", "/healthz");
 */
export interface AdminAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json(): Record<string, unknown>;
}

/**
 * One admin API call: `token` becomes `Authorization: Bearer`, `auth` is sent as is,
 * a `body` is sent as JSON.
 *
 * @example
 * await adminRequest(admin.url, "POST", "/api/backends/api/servers/a1/drain", { token });
 */
export async function adminRequest(base: string, method: string, path: string, opts: { token?: string; auth?: string; body?: string } = {}): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.auth !== undefined) headers.authorization = opts.auth;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body: opts.body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}
