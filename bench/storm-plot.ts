// A small SVG plot of the reconnect storms (bench/storm.ts): connections per second
// reaching the hub after the drop, one panel per kind of drop, one line per policy.
// Hand-written SVG: no plotting dependency, a file that diffs and renders anywhere.
import type { StormRun } from "./storm.ts";

const COLORS = ["#1f7a3a", "#c0392b", "#7f8c8d"];
const W = 760;
const PANEL_H = 220;
const M = { left: 64, right: 16, top: 28, bottom: 34 };

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/**
 * The plot for the runs on one hub (by its label), one panel per drop, as an SVG
 * document. `seconds[i]` is panel i's time axis; rates above `cap` are clipped and
 * labelled, so one policy's spike does not flatten the others.
 *
 * @example
 * writeFileSync("docs/client-storm.svg", stormSvg(runs, "any rate", [20, 3], 12_000));
 */
export function stormSvg(runs: StormRun[], hub: string, seconds: number[], cap: number): string {
  const panels = [...new Set(runs.filter((r) => r.hub === hub).map((r) => r.drop))];
  const policies = [...new Set(runs.map((r) => r.policy))];
  const H = panels.length * (PANEL_H + M.top + M.bottom) + 10 + policies.length * 18;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ];
  panels.forEach((drop, pi) => {
    const mine = runs.filter((r) => r.drop === drop && r.hub === hub);
    const secs = seconds[pi] ?? seconds[seconds.length - 1]!;
    const y0 = pi * (PANEL_H + M.top + M.bottom) + M.top;
    const x = (t: number) => M.left + (t / secs) * (W - M.left - M.right);
    const top = Math.max(...mine.map((r) => r.r.peakAcceptedPerS));
    const peak = top > cap ? cap : niceMax(top);
    let offScale = 0;
    const y = (v: number) => y0 + PANEL_H - (Math.min(v, peak) / peak) * PANEL_H;
    out.push(`<text x="${M.left}" y="${y0 - 10}" font-weight="600">${esc(drop)} — hub accepts ${esc(hub)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (peak * i) / 4;
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${Math.round(v).toLocaleString("en-US")}</text>`);
    }
    const step = secs > 10 ? 2 : secs > 4 ? 1 : 0.5;
    for (let t = 0; t <= secs + 1e-9; t += step) out.push(`<text x="${x(t)}" y="${y0 + PANEL_H + 16}" text-anchor="middle" fill="#555">${t} s</text>`);
    out.push(`<text transform="translate(14 ${y0 + PANEL_H / 2}) rotate(-90)" text-anchor="middle" fill="#555">connects/s</text>`);
    for (const r of mine) {
      const color = COLORS[policies.indexOf(r.policy) % COLORS.length];
      const pts: string[] = [];
      const per = 1000 / r.r.bucketMs;
      const last = Math.min(r.r.accepted.length + 1, Math.ceil((secs * 1000) / r.r.bucketMs));
      let clipped: [number, number] | null = null;
      for (let b = 0; b < last; b++) {
        const t0 = (b * r.r.bucketMs) / 1000;
        const rate = (r.r.accepted[b] ?? 0) * per;
        if (rate > peak && clipped === null) clipped = [t0, rate];
        const v = y(rate);
        pts.push(`${x(t0).toFixed(1)},${v.toFixed(1)}`, `${x(t0 + r.r.bucketMs / 1000).toFixed(1)},${v.toFixed(1)}`);
      }
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.join(" ")}"/>`);
      if (clipped !== null) {
        out.push(`<text x="${x(clipped[0]) + 8}" y="${y0 + 14 + 15 * offScale++}" fill="${color}">↑ ${Math.round(r.r.peakAcceptedPerS).toLocaleString("en-US")}/s (off scale)</text>`);
      }
    }
    out.push(`<line x1="${M.left}" x2="${M.left}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#999"/>`);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y0 + PANEL_H}" y2="${y0 + PANEL_H}" stroke="#999"/>`);
  });
  policies.forEach((p, i) => {
    const ly = H - (policies.length - i) * 18 + 6;
    out.push(`<line x1="${M.left}" x2="${M.left + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/>`);
    out.push(`<text x="${M.left + 28}" y="${ly}">${esc(p)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
