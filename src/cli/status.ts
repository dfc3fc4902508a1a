import type { Overview } from "../admin/overview.ts";
import { renderStatus } from "../admin/table.ts";

/**
 * Where `holdfast status` looks when no `--admin` is given (the default admin.listen).
 *
 * @example
 * await runStatus({ admin: DEFAULT_ADMIN_URL });
 */
export const DEFAULT_ADMIN_URL = "http://127.0.0.1:9900";

/**
 * `holdfast status [--admin URL] [--json]`: the dashboard's table in the terminal, from
 * `GET /api/backends`. Exit 0 on success; 1 with a message saying what to check when
 * the admin API cannot be reached or answers an error.
 *
 * @example
 * process.exitCode = await runStatus({ admin: "http://127.0.0.1:9900" });
 */
export async function runStatus(opts: { admin?: string; json?: boolean }, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const base = (opts.admin ?? DEFAULT_ADMIN_URL).replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(`${base}/api/backends`);
  } catch {
    err.write(`holdfast status: --admin must be a URL like ${DEFAULT_ADMIN_URL}, got ${JSON.stringify(opts.admin)}\n`);
    return 1;
  }
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: "application/json" } });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    err.write(`holdfast status: cannot reach the admin API at ${base} (${why}).\nIs the gateway running, and is this its admin.listen address? Use --admin http://HOST:PORT.\n`);
    return 1;
  }
  const body = await res.text();
  if (!res.ok) {
    let msg = body;
    try {
      msg = (JSON.parse(body) as { error?: string }).error ?? body;
    } catch {
      // not JSON: show it as is
    }
    err.write(`holdfast status: ${url.href} answered ${res.status}: ${msg.trim()}\n`);
    return 1;
  }
  let overview: Overview;
  try {
    overview = JSON.parse(body) as Overview;
    if (!Array.isArray(overview.backends)) throw new Error("no backends list");
  } catch {
    err.write(`holdfast status: ${url.href} did not answer a holdfast overview (is this a holdfast admin address?)\n`);
    return 1;
  }
  if (opts.json === true) {
    out.write(`${JSON.stringify(overview, null, 2)}\n`);
    return 0;
  }
  const color = out.isTTY === true && process.env.NO_COLOR === undefined;
  out.write(renderStatus(overview, { color }));
  return 0;
}
