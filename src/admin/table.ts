import type { BackendOverview, Overview, ServerOverview } from "./overview.ts";

/**
 * `holdfast status`: the dashboard's table as terminal text, from the same overview
 * JSON. Columns are aligned on the longest cell; with `color` the state words and the
 * check ticks are coloured (ANSI), without it the output is plain text for pipes,
 * files and tests.
 *
 * @example
 * process.stdout.write(renderStatus(await (await fetch(url + "/api/backends")).json(), { color: process.stdout.isTTY }));
 */

const ANSI = { green: "\x1b[32m", red: "\x1b[31m", yellow: "\x1b[33m", grey: "\x1b[90m", bold: "\x1b[1m", reset: "\x1b[0m" };
const STATE_COLOR: Record<string, string> = { up: ANSI.green, down: ANSI.red, draining: ANSI.yellow, maintenance: ANSI.grey };

/**
 * req/s as the dashboard shows it.
 *
 * @example
 * fmtRps(41.93); // "41.9"
 */
export function fmtRps(x: number): string {
  return x >= 100 ? String(Math.round(x)) : x >= 10 ? x.toFixed(1) : x === 0 ? "0" : x.toFixed(2);
}

/**
 * A latency in ms, `-` when unknown.
 *
 * @example
 * fmtMs(3.14159); // "3.14 ms"
 */
export function fmtMs(x: number | null): string {
  if (x === null) return "-";
  if (x >= 10_000) return ">=10 s";
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 100) return `${Math.round(x)} ms`;
  if (x >= 10) return `${x.toFixed(1)} ms`;
  return `${x.toFixed(2)} ms`;
}

/**
 * A share as a percentage, `-` when unknown.
 *
 * @example
 * fmtPct(0.0123); // "1.2 %"
 */
export function fmtPct(x: number | null): string {
  if (x === null) return "-";
  if (x === 0) return "0 %";
  if (x < 0.001) return "<0.1 %";
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
}

/**
 * A duration in its two largest units.
 *
 * @example
 * fmtDuration(7_980_000); // "2h 13m"
 */
export function fmtDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

interface Cell {
  readonly text: string;
  readonly right?: boolean;
  /** ANSI colour of the whole cell (with `color`). */
  readonly color?: string | undefined;
  /** The cell already coloured, same visible text (with `color`). */
  readonly painted?: string;
}

/** Aligns rows of cells; colour is applied after padding so it never shifts columns. */
function table(rows: readonly (readonly Cell[])[], indent: string, color: boolean): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c.text].length)));
  return rows
    .map((r) =>
      indent +
      r
        .map((c, i) => {
          const pad = " ".repeat(widths[i]! - [...c.text].length);
          const body = color && c.painted !== undefined ? c.painted : c.text;
          const text = c.right === true ? pad + body : i === r.length - 1 ? body : body + pad;
          return color && c.color !== undefined ? c.color + text + ANSI.reset : text;
        })
        .join("  "),
    )
    .join("\n")
    .replace(/ +$/gm, "");
}

/** A plain cell, right-aligned for numbers. */
const cell = (text: string, right = false): Cell => ({ text, right });

function checks(s: ServerOverview, color: boolean): Cell {
  if (s.checks.length === 0) return { text: "-" };
  const last = s.checks.slice(-10);
  const text = last.map((c) => (c.ok ? "+" : "x")).join("");
  const lastFail = [...last].reverse().find((c) => !c.ok);
  const suffix = lastFail !== undefined && !last[last.length - 1]!.ok ? ` ${lastFail.reason}` : "";
  if (!color) return { text: text + suffix };
  const painted = last.map((c) => (c.ok ? ANSI.green + "+" : ANSI.red + "x")).join("") + ANSI.reset + suffix;
  return { text: text + suffix, painted };
}

function serverRows(b: BackendOverview, color: boolean): Cell[][] {
  const head = ["SERVER", "ADDRESS", "STATE", "FOR", "WEIGHT", "ACTIVE", "TUNNELS", "IDLE", "REQ/S", "ERRORS", "P50", "P99", "CHECKS"];
  const rows: Cell[][] = [head.map((x, i) => cell(x, i >= 4 && i <= 11))];
  for (const s of b.servers) {
    rows.push([
      { text: s.name + (s.backup ? " (backup)" : "") },
      { text: s.address },
      { text: s.state + (s.ejected ? " (ejected)" : ""), color: STATE_COLOR[s.state] },
      { text: fmtDuration(s.stateForMs) },
      cell(s.weight === s.configWeight ? String(s.configWeight) : `${s.weight}/${s.configWeight}`, true),
      cell(String(s.active) + (s.maxConn > 0 ? `/${s.maxConn}` : ""), true),
      cell(String(s.tunnels), true),
      cell(String(s.idle), true),
      cell(fmtRps(s.rps), true),
      { text: fmtPct(s.errorRate), right: true, color: s.errorRate !== null && s.errorRate >= 0.01 ? ANSI.red : undefined },
      cell(fmtMs(s.p50Ms), true),
      cell(fmtMs(s.p99Ms), true),
      checks(s, color),
    ]);
  }
  return rows;
}

/**
 * The whole status screen.
 *
 * @example
 * renderStatus(overview, { color: false }).split("\n")[0]; // "holdfast: up 2h 13m · pid 4242 · ..."
 */
export function renderStatus(o: Overview, opts: { color: boolean }): string {
  const c = opts.color;
  const t = o.totals;
  const bold = (s: string) => (c ? ANSI.bold + s + ANSI.reset : s);
  const out: string[] = [];
  out.push(
    `${bold("holdfast")}: up ${fmtDuration(o.uptimeSeconds * 1000)} · pid ${o.pid} · ${fmtRps(t.rps)} req/s · ${t.serversUp}/${t.servers} servers up`,
    `  ${t.clientConnections} client connections · ${t.tunnels} tunnels · ${t.requests} requests (${t.errors} failed) · ` +
      `${t.admissionRejected} admission rejections · ${t.reloads} reloads (${t.reloadFailures} failed)`,
  );
  out.push("");
  const lrows: Cell[][] = [["LISTENER", "MODE", "ADDRESS", "BACKENDS", "CONNS", "TUNNELS"].map((x, i) => cell(x, i >= 4))];
  for (const l of o.listeners) {
    lrows.push([cell(l.name), cell(l.mode + (l.tls ? "+tls" : "")), cell(l.address), cell(l.backends.join(", ")), cell(String(l.connections), true), cell(String(l.tunnels), true)]);
  }
  out.push(table(lrows, "", c));
  for (const b of o.backends) {
    out.push("");
    out.push(
      `${bold(`backend ${b.name}`)}  ${b.balance} · ${b.healthCheck ?? "no active checks"} · ${b.serversUp}/${b.servers.length} up · ` +
        `${fmtRps(b.rps)} req/s · errors ${fmtPct(b.errorRate)} · p99 ${fmtMs(b.p99Ms)} · queue ${b.queue}`,
    );
    out.push(table(serverRows(b, c), "  ", c));
  }
  return out.join("\n") + "\n";
}
