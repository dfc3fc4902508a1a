/**
 * The dashboards' stylesheet (the gateway's and the hub's): system fonts only, tabular
 * numbers, one palette of CSS variables for light and one for dark
 * (`prefers-color-scheme`). State colours are always paired with a word, never colour
 * alone.
 *
 * @example
 * `<style>${DASHBOARD_CSS}</style>`
 */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --panel: #ffffff; --panel-2: #f8f9fb; --line: #e3e6eb; --text: #1c2330; --muted: #667085;
  --accent: #2f6fed; --accent-soft: rgba(47,111,237,.12);
  --up: #12805c; --up-soft: rgba(18,128,92,.12);
  --down: #d0343f; --down-soft: rgba(208,52,63,.12);
  --drain: #b76e00; --drain-soft: rgba(221,140,0,.16);
  --maint: #5b6b82; --maint-soft: rgba(91,107,130,.16);
  --spark: #2f6fed; --spark-fill: rgba(47,111,237,.14);
  --shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.08);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1318; --panel: #171c23; --panel-2: #1c222b; --line: #2a313c; --text: #e6e9ee; --muted: #8d97a7;
    --accent: #6b9bff; --accent-soft: rgba(107,155,255,.16);
    --up: #3ccf91; --up-soft: rgba(60,207,145,.14);
    --down: #ff6b74; --down-soft: rgba(255,107,116,.16);
    --drain: #ffb547; --drain-soft: rgba(255,181,71,.16);
    --maint: #9aa8bd; --maint-soft: rgba(154,168,189,.16);
    --spark: #6b9bff; --spark-fill: rgba(107,155,255,.18);
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.num, td.n, .kpi b { font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
header.top { position: sticky; top: 0; z-index: 5; display: flex; gap: 16px; align-items: center; flex-wrap: wrap;
  padding: 10px 24px; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 17px; letter-spacing: .2px; display: flex; align-items: center; gap: 8px; }
.brand svg { color: var(--accent); }
.conn { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); padding: 2px 8px; border-radius: 99px; background: var(--panel-2); border: 1px solid var(--line); }
.conn i { width: 8px; height: 8px; border-radius: 50%; background: var(--muted); display: inline-block; }
.conn.live i { background: var(--up); box-shadow: 0 0 0 3px var(--up-soft); }
.conn.stale i { background: var(--drain); }
.meta { color: var(--muted); font-size: 12.5px; }
.spacer { flex: 1; }
.auth { display: flex; gap: 6px; align-items: center; }
.auth input { width: 190px; }
.auth .lock { font-size: 12px; color: var(--muted); }
body.armed .auth .lock { color: var(--up); }
input, button { font: inherit; color: inherit; }
input { background: var(--panel-2); border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; }
input:focus { outline: 2px solid var(--accent-soft); border-color: var(--accent); }
button { background: var(--panel-2); border: 1px solid var(--line); border-radius: 6px; padding: 3px 9px; cursor: pointer; font-size: 12.5px; }
button:hover:not(:disabled) { border-color: var(--accent); color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.primary:hover:not(:disabled) { color: #fff; filter: brightness(1.08); }
button:disabled { opacity: .45; cursor: not-allowed; }
main { padding: 18px 24px 40px; max-width: 1480px; margin: 0 auto; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 12px; margin-bottom: 18px; }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; box-shadow: var(--shadow); }
.kpi span { display: block; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.kpi b { display: block; font-size: 22px; font-weight: 650; margin-top: 2px; }
.kpi small { display: block; min-height: 16px; font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.kpi.bad b { color: var(--down); }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 22px 0 8px; font-weight: 600; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; box-shadow: var(--shadow); overflow: hidden; margin-bottom: 16px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
table.servers { table-layout: fixed; min-width: 1360px; }
table.servers td { overflow: hidden; text-overflow: ellipsis; }
col.c-state { width: 164px; } col.c-weight { width: 66px; } col.c-active { width: 64px; } col.c-tunnels { width: 68px; }
col.c-idle { width: 50px; } col.c-rps { width: 176px; } col.c-err { width: 66px; } col.c-p50 { width: 86px; } col.c-p99 { width: 86px; }
col.c-checks { width: 134px; } col.c-actions { width: 300px; }
th, td { padding: 6px 10px; text-align: left; white-space: nowrap; border-top: 1px solid var(--line); vertical-align: middle; }
thead th { border-top: 0; font-size: 11.5px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .4px; background: var(--panel-2); }
th.n, td.n { text-align: right; }
tbody tr:hover td { background: var(--panel-2); }
.bhead { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; padding: 12px 14px; }
.bhead .name { font-size: 16px; font-weight: 650; }
.bhead .tag { font-size: 12px; color: var(--muted); background: var(--panel-2); border: 1px solid var(--line); border-radius: 99px; padding: 1px 8px; }
.bhead .stat { font-size: 12.5px; color: var(--muted); }
.bhead .stat b { color: var(--text); font-weight: 600; font-variant-numeric: tabular-nums; }
.bhead .spark { margin-left: auto; }
.srv b { font-weight: 600; }
.srv .addr { display: block; color: var(--muted); font-size: 11.5px; line-height: 1.2; }
.badge { font-size: 11px; padding: 0 6px; border-radius: 4px; margin-left: 6px; background: var(--maint-soft); color: var(--maint); }
.state { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; font-size: 12.5px; padding: 2px 9px 2px 7px; border-radius: 99px; }
.state i { width: 8px; height: 8px; border-radius: 50%; background: currentColor; }
.state.up { color: var(--up); background: var(--up-soft); }
.state.down { color: var(--down); background: var(--down-soft); }
.state.draining { color: var(--drain); background: var(--drain-soft); }
.state.maintenance { color: var(--maint); background: var(--maint-soft); }
.since { color: var(--muted); font-size: 11.5px; margin-left: 6px; }
tr.s-down td:first-child { box-shadow: inset 3px 0 0 var(--down); }
tr.s-draining td:first-child { box-shadow: inset 3px 0 0 var(--drain); }
tr.s-maintenance td:first-child { box-shadow: inset 3px 0 0 var(--maint); }
tr.s-up td:first-child { box-shadow: inset 3px 0 0 var(--up); }
.muted { color: var(--muted); }
.err { color: var(--down); font-weight: 600; }
.ticks { display: inline-flex; gap: 2px; align-items: flex-end; height: 16px; }
.ticks i { width: 5px; height: 14px; border-radius: 2px; background: var(--up); opacity: .85; }
.ticks i.fail { background: var(--down); opacity: 1; }
.ticks i.slow { height: 14px; }
svg.spark { display: block; }
svg.spark path.line { fill: none; stroke: var(--spark); stroke-width: 1.5; stroke-linejoin: round; }
svg.spark path.area { fill: var(--spark-fill); stroke: none; }
.rps { display: flex; align-items: center; gap: 8px; justify-content: flex-end; }
.rps b { min-width: 42px; text-align: right; font-weight: 600; font-variant-numeric: tabular-nums; }
.actions { display: flex; gap: 4px; align-items: center; }
.actions input { width: 58px; padding: 2px 6px; }
.listeners td .mode { font-size: 11px; font-weight: 700; letter-spacing: .4px; padding: 1px 6px; border-radius: 4px; background: var(--accent-soft); color: var(--accent); }
.empty { padding: 20px; color: var(--muted); }
#toasts { position: fixed; right: 18px; bottom: 18px; display: flex; flex-direction: column; gap: 8px; z-index: 10; max-width: 460px; }
.toast { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--up); border-radius: 8px; padding: 9px 12px; box-shadow: 0 4px 14px rgba(0,0,0,.18); font-size: 13px; }
.toast.error { border-left-color: var(--down); }
footer { color: var(--muted); font-size: 12px; margin-top: 26px; }
footer a { color: var(--accent); }
`;
