// The soak's chart (bench/soak.ts): memory (RSS and V8 heap after GC, MiB) and open
// file descriptors over time, the warm-up shaded. Hand-written SVG like storm-plot.ts.

/** One sample of the soak: totals over holdfast's processes, and each process. */
export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  rssMiB: number;
  heapMiB: number | null;
  fds: number;
  tunnels: number | null;
  per: { pid: number; rssMiB: number; heapMiB: number | null; fds: number }[];
}

const W = 760;
const PANEL_H = 200;
const M = { left: 64, right: 16, top: 30, bottom: 34 };

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/**
 * Two panels: MiB (RSS, heap) and file descriptors, against minutes.
 *
 * @example
 * fs.writeFileSync("docs/soak.svg", soakSvg(samples, 300));
 */
export function soakSvg(samples: SoakSample[], warmupS: number): string {
  const end = Math.max(60, samples.at(-1)?.t ?? 60);
  const panels: { title: string; unit: string; lines: { label: string; color: string; v: (s: SoakSample) => number | null }[] }[] = [
    { title: "memory of holdfast (primary + workers)", unit: "MiB", lines: [
      { label: "RSS", color: "#1f5fa8", v: (s) => s.rssMiB },
      { label: "V8 heap after GC", color: "#1f7a3a", v: (s) => s.heapMiB },
    ] },
    { title: "open file descriptors (two per proxied WebSocket)", unit: "fds", lines: [{ label: "fds", color: "#c0392b", v: (s) => s.fds }] },
  ];
  const H = panels.length * (PANEL_H + M.top + M.bottom) + 10;
  const x = (t: number) => M.left + (t / end) * (W - M.left - M.right);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ];
  panels.forEach((p, pi) => {
    const y0 = pi * (PANEL_H + M.top + M.bottom) + M.top;
    const top = niceMax(Math.max(1, ...samples.flatMap((s) => p.lines.map((l) => l.v(s) ?? 0))) * 1.1);
    const y = (v: number) => y0 + PANEL_H - (v / top) * PANEL_H;
    out.push(`<rect x="${x(0)}" y="${y0}" width="${Math.max(0, x(Math.min(warmupS, end)) - x(0))}" height="${PANEL_H}" fill="#f3f3f3"/>`);
    if (pi === 0) out.push(`<text x="${x(0) + 4}" y="${y0 + 14}" fill="#777">warm-up</text>`);
    out.push(`<text x="${M.left}" y="${y0 - 10}" font-weight="600">${p.title}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${Math.round(v).toLocaleString("en-US")}</text>`);
    }
    const stepMin = end > 1200 ? 5 : end > 300 ? 1 : 0.5;
    for (let m = 0; m * 60 <= end + 1e-9; m += stepMin) out.push(`<text x="${x(m * 60)}" y="${y0 + PANEL_H + 16}" text-anchor="middle" fill="#555">${m} min</text>`);
    out.push(`<text transform="translate(14 ${y0 + PANEL_H / 2}) rotate(-90)" text-anchor="middle" fill="#555">${p.unit}</text>`);
    p.lines.forEach((l, li) => {
      const pts = samples.filter((s) => l.v(s) !== null).map((s) => `${x(s.t).toFixed(1)},${y(l.v(s) as number).toFixed(1)}`);
      out.push(`<polyline fill="none" stroke="${l.color}" stroke-width="1.8" points="${pts.join(" ")}"/>`);
      const lx = W - M.right - 160, ly = y0 + 14 + li * 16;
      out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.color}" stroke-width="3"/>`, `<text x="${lx + 26}" y="${ly}">${l.label}</text>`);
    });
    out.push(`<line x1="${M.left}" x2="${M.left}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#999"/>`);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y0 + PANEL_H}" y2="${y0 + PANEL_H}" stroke="#999"/>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
