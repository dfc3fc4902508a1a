/**
 * The dashboard's markup: a sticky header (connection, uptime, token), the totals, the
 * listeners and one panel per backend. The script fills it from `/api/events`.
 *
 * @example
 * dashboardHtml(DASHBOARD_CSS, DASHBOARD_JS); // "<!doctype html>..."
 */
export function dashboardHtml(css: string, js: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>holdfast</title>
<link rel="icon" href="data:,">
<style>${css}</style>
</head>
<body>
<header class="top">
  <div class="brand">
    <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M5 4v16M19 4v16M5 12h14M9 8h6M9 16h6"/></svg>
    holdfast
  </div>
  <span id="conn" class="conn"><i></i><span>connecting…</span></span>
  <span id="meta" class="meta"></span>
  <span class="spacer"></span>
  <form id="auth" class="auth" autocomplete="off">
    <span id="lock" class="lock" title="Server actions need the admin token (admin.token in the config)">read-only</span>
    <input id="token" type="password" placeholder="admin token" aria-label="admin token" autocomplete="current-password">
    <button id="token-save" class="primary" type="submit">Unlock</button>
    <button id="token-clear" type="button" hidden>Lock</button>
  </form>
</header>
<main>
  <section id="kpis" class="kpis" aria-label="totals"></section>
  <h2>Listeners</h2>
  <div class="panel scroll">
    <table class="listeners">
      <thead><tr><th>Listener</th><th>Mode</th><th>Address</th><th>Backends</th><th class="n">Connections</th><th class="n">Tunnels</th><th class="n">h1 · h2</th><th class="n">TLS handshakes</th></tr></thead>
      <tbody id="listeners"></tbody>
    </table>
  </div>
  <h2>Backends</h2>
  <div id="backends"><div class="panel empty">Waiting for the first update…</div></div>
  <footer>
    Updated every second over <code>/api/events</code>. Rates: req/s over the last second, errors and
    latency over the last 10 s (errors = 5xx or no response). Also: <a href="/metrics">/metrics</a>,
    <a href="/api/backends">/api/backends</a>, <code>holdfast status</code>.
  </footer>
</main>
<div id="toasts" role="status" aria-live="polite"></div>
<script>${js}</script>
</body>
</html>
`;
}
