/**
 * HTTP probe (L7): one request on a fresh connection (`agent: false`,
 * `Connection: close`), judged on status, latency and optional JSON assertions. The
 * JSON body may carry `weight` (integer 0–256), the server's own view of its capacity
 * (HAProxy's agent-check idea), which the state machine uses as an absolute weight.
 *
 * @example
 * const probe = httpProbe({ path: "/health", expect: { status: [200], json: { status: "healthy" } } });
 * await probe({ host: "10.0.1.10", port: 8080 }, AbortSignal.timeout(2000));
 * // { ok: false, latencyMs: 3.2, reason: 'json: status expected "healthy", got "degraded"' }
 */
import { Agent, request, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import type { Address } from "../../config/types.ts";
import { encodeProxyV1, encodeProxyV2 } from "../../codec/proxy/encode.ts";
import type { Probe, ProbeResult } from "../../core/health/types.ts";
import { jsonMismatch } from "./json.ts";
import { abortReason, socketErrorReason } from "./reasons.ts";

/**
 * Default cap on the body read: health bodies are small; anything bigger is a bug.
 *
 * @example
 * httpProbe({ maxBodyBytes: DEFAULT_MAX_BODY * 2 });
 */
export const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * What to send and what to expect; `HealthConfig` satisfies it.
 *
 * @example
 * const opts: HttpProbeOptions = { method: "HEAD", path: "/ready", host: "api.internal" };
 */
export interface HttpProbeOptions {
  /** Default `GET`. */
  readonly method?: string;
  /** Default `/`. */
  readonly path?: string;
  /** Host header; default the target's `host:port`. */
  readonly host?: string | undefined;
  readonly expect?: {
    /** Accepted statuses; empty or absent = any 2xx or 3xx. */
    readonly status?: readonly number[];
    /** Slower than this (ms, request start to body end) fails. */
    readonly maxLatency?: number | undefined;
    /** Every listed key must match (objects as subsets, see `json.ts`). */
    readonly json?: Readonly<Record<string, unknown>> | undefined;
  };
  /** Body bytes read at most, default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Check over TLS, like the traffic (`backends.*.tls`). */
  readonly tls?: { readonly ca: string | undefined; readonly rejectUnauthorized: boolean; readonly servername: string | undefined } | undefined;
  /**
   * The backend expects a PROXY header first (`backends.*.proxyProtocol`): the check sends
   * one that names no client (v1 `UNKNOWN`, v2 `LOCAL`, the spec's form for health checks).
   */
  readonly proxyProtocol?: "v1" | "v2" | undefined;
}

/**
 * Builds the HTTP probe. It never rejects: every failure is a result with a reason
 * (`status 404`, `connect refused`, `timeout after 2000ms`, `body is not JSON`, ...).
 *
 * @example
 * new HealthChecker({ config: backend.health, probe: httpProbe(backend.health) });
 */
export function httpProbe(opts: HttpProbeOptions = {}): Probe {
  const method = opts.method ?? "GET";
  const path = opts.path ?? "/";
  const statuses = opts.expect?.status ?? [];
  const maxLatency = opts.expect?.maxLatency;
  const assertions = opts.expect?.json;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  // A fresh connection per check either way; a request's own createConnection is ignored
  // when an agent is in play, so TLS and PROXY connections come from the agent's.
  let agent: Agent | false = false;
  if (opts.tls !== undefined || opts.proxyProtocol !== undefined) {
    const a = new Agent({ keepAlive: false });
    a.createConnection = (o: { host?: string | null; port?: number | null }) => connection({ host: o.host ?? "", port: o.port ?? 0 }, opts);
    agent = a;
  }

  return (target, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const started = performance.now();
      if (signal.aborted) {
        resolve({ ok: false, latencyMs: 0, reason: abortReason(signal, 0) });
        return;
      }
      let done = false;
      const finish = (ok: boolean, reason: string, weight?: number): void => {
        if (done) return;
        done = true;
        signal.removeEventListener("abort", onAbort);
        req.destroy();
        const latencyMs = performance.now() - started;
        resolve(weight === undefined ? { ok, latencyMs, reason } : { ok, latencyMs, reason, weight });
      };
      const onAbort = (): void => finish(false, abortReason(signal, performance.now() - started));

      const req = request({
        host: target.host,
        port: target.port,
        method,
        path,
        agent,
        headers: { Host: opts.host ?? hostHeader(target), Connection: "close", "User-Agent": "holdfast-health", Accept: "application/json, */*" },
      });
      signal.addEventListener("abort", onAbort, { once: true });
      req.once("error", (err) => finish(false, socketErrorReason(err)));
      req.once("response", (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const statusOk = statuses.length === 0 ? status >= 200 && status < 400 : statuses.includes(status);
        if (!statusOk) {
          finish(false, `status ${status}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const judge = (body: Buffer | undefined): void => {
          const latency = performance.now() - started;
          if (maxLatency !== undefined && latency > maxLatency) {
            finish(false, `latency ${Math.round(latency)}ms over maxLatency ${maxLatency}ms`);
            return;
          }
          const verdict = judgeBody(body, assertions, maxBody);
          if (verdict.fail !== undefined) finish(false, verdict.fail);
          else finish(true, `status ${status}${verdict.note}`, verdict.weight);
        };
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBody) judge(undefined);
          else chunks.push(chunk);
        });
        res.once("end", () => judge(Buffer.concat(chunks)));
        res.once("error", (err) => finish(false, `${socketErrorReason(err)} while reading the body`));
      });
      req.end();
    });
}

interface BodyVerdict {
  readonly fail?: string;
  readonly note: string;
  readonly weight?: number;
}

/** `body` undefined = over the cap. */
function judgeBody(body: Buffer | undefined, assertions: Readonly<Record<string, unknown>> | undefined, maxBody: number): BodyVerdict {
  const asserting = assertions !== undefined && Object.keys(assertions).length > 0;
  if (body === undefined) return asserting ? { fail: `body larger than ${maxBody} bytes`, note: "" } : { note: "" };
  const text = body.toString("utf8");
  // Without assertions the body only matters for `weight`: parse what looks like an object.
  if (!asserting && !/^\s*\{/.test(text)) return { note: "" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    if (!asserting) return { note: "" };
    const start = text.trim().slice(0, 20);
    return { fail: start === "" ? "body is not JSON (empty)" : `body is not JSON (starts with ${JSON.stringify(start)})`, note: "" };
  }
  if (asserting) {
    const mismatch = jsonMismatch(assertions, json);
    if (mismatch !== undefined) return { fail: mismatch, note: "" };
  }
  if (typeof json !== "object" || json === null || !("weight" in json)) return { note: "" };
  const w = (json as { weight: unknown }).weight;
  if (typeof w === "number" && Number.isInteger(w) && w >= 0 && w <= 256) return { note: `, weight ${w}`, weight: w };
  return { note: `, ignored weight ${JSON.stringify(w)} (want an integer 0..256)` };
}

// The PROXY header goes first in clear text, then TLS over the same connection.
function connection(target: Address, opts: HttpProbeOptions): Socket {
  const raw = connect({ host: target.host, port: target.port });
  if (opts.proxyProtocol !== undefined) raw.write((opts.proxyProtocol === "v1" ? encodeProxyV1 : encodeProxyV2)("", 0, "", 0));
  const tls = opts.tls;
  if (tls === undefined) return raw;
  const o: ConnectionOptions = { socket: raw, rejectUnauthorized: tls.rejectUnauthorized, ALPNProtocols: ["http/1.1"] };
  const servername = tls.servername ?? (/^[\d.]+$|:/.test(target.host) ? undefined : target.host);
  if (servername !== undefined) o.servername = servername;
  if (tls.ca !== undefined) o.ca = tls.ca;
  return tlsConnect(o);
}

function hostHeader(target: Address): string {
  return target.host.includes(":") ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}
