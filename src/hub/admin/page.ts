/**
 * The hub's dashboard at `GET /` of `admin.listen`: one self-contained page in the
 * gateway dashboard's style (its stylesheet from the admin kit), filled every second
 * from `/api/events`. Shows the node, the broker's health, connections and rates, the
 * busiest channels with their offsets and epochs, recoveries by outcome, closes by code
 * and broker latency. Every value goes through textContent, never innerHTML. With
 * `admin.token` set, the page asks for it (kept in sessionStorage; a `#token=` link
 * works too) and sends it as `?token=` (EventSource cannot send headers).
 *
 * @example
 * res.end(HUB_DASHBOARD_HTML);
 */
import { DASHBOARD_CSS } from "../../admin/kit/style.ts";

const HUB_CSS = `
.pill { font-size: 12px; font-weight: 650; padding: 2px 10px; border-radius: 99px; }
.pill.ok { color: var(--up); background: var(--up-soft); }
.pill.bad { color: var(--down); background: var(--down-soft); }
.pill.warn { color: var(--drain); background: var(--drain-soft); }
.grid3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
.grid3 .panel { margin-bottom: 0; }
.kpi svg.spark { margin-top: 4px; }
td.epoch { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: var(--muted); }
#gate { display: none; padding: 16px; }
body.locked #gate { display: block; }
body.locked main > :not(#gate) { display: none; }
`;

const HUB_JS = String.raw`
(function () {
  "use strict";
  var KEY = "holdfast.hubAdminToken";
  var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) { sessionStorage.setItem(KEY, decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname); }
  var NS = "http://www.w3.org/2000/svg";
  var rows = new Map();
  var lastAt = 0;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function set(node, text) { if (node.textContent !== text) node.textContent = text; }
  function n(x) { return x >= 1e6 ? (x / 1e6).toFixed(1) + "M" : x >= 1e4 ? (x / 1e3).toFixed(1) + "k" : String(Math.round(x)); }
  function rate(x) { return x >= 100 ? Math.round(x).toLocaleString("en") : x >= 10 ? x.toFixed(1) : x.toFixed(x === 0 ? 0 : 2); }
  function ms(x) { return x == null ? "—" : x >= 1000 ? (x / 1000).toFixed(2) + " s" : x >= 10 ? x.toFixed(1) + " ms" : x.toFixed(2) + " ms"; }
  function dur(t) { var s = Math.floor(t / 1000); if (s < 60) return s + "s"; var mi = Math.floor(s / 60); if (mi < 60) return mi + "m " + (s % 60) + "s"; var h = Math.floor(mi / 60); return h + "h " + (mi % 60) + "m"; }
  function spark(values) {
    var w = 120, h = 26, svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", h);
    if (values.length < 2) return svg;
    var max = 1; values.forEach(function (v) { if (v > max) max = v; });
    var pts = values.map(function (v, i) { return [i * w / (values.length - 1), h - 1 - (v / max) * (h - 3)]; });
    var line = pts.map(function (p, i) { return (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); }).join("");
    var area = document.createElementNS(NS, "path"); area.setAttribute("class", "area"); area.setAttribute("d", line + "L" + w + " " + h + "L0 " + h + "Z");
    var path = document.createElementNS(NS, "path"); path.setAttribute("class", "line"); path.setAttribute("d", line);
    svg.appendChild(area); svg.appendChild(path);
    return svg;
  }
  function kpi(label, value, sub, bad, extra) {
    var d = el("div", "kpi" + (bad ? " bad" : ""));
    d.appendChild(el("span", null, label)); d.appendChild(el("b", null, value)); d.appendChild(el("small", null, sub || ""));
    if (extra) d.appendChild(extra);
    return d;
  }
  function table(host, head, data) {
    var t = el("table"), th = el("thead"), tr = el("tr"), tb = el("tbody");
    head.forEach(function (h) { tr.appendChild(el("th", h[1] || "", h[0])); });
    th.appendChild(tr); t.appendChild(th);
    data.forEach(function (r) { var row = el("tr"); r.forEach(function (c, i) { row.appendChild(el("td", head[i][1] || "", c)); }); tb.appendChild(row); });
    if (data.length === 0) { var e = el("tr"); var td = el("td", "muted", "none yet"); td.colSpan = head.length; e.appendChild(td); tb.appendChild(e); }
    t.appendChild(tb); host.replaceChildren(t);
  }
  function render(o) {
    lastAt = Date.now();
    document.body.classList.remove("locked");
    set($("meta"), o.node + " · " + o.config.listen + " · up " + dur(o.uptimeMs));
    var st = $("status");
    var status = o.stopping ? ["stopping", "warn"] : o.broker.up ? ["ok", "ok"] : ["broker down", "bad"];
    set(st, status[0]); st.className = "pill " + status[1];
    st.title = o.broker.reason || "";
    var t = o.totals, r = o.recoveries, rec = 0, all = 0;
    Object.keys(r).forEach(function (k) { all += r[k]; if (k === "recovered") rec += r[k]; });
    var pub = (o.brokerOps.filter(function (x) { return x.op === "publish"; })[0]) || null;
    $("kpis").replaceChildren(
      kpi("Connections", n(t.connections), t.websocket + " WebSocket · " + t.sse + " SSE", false, spark(o.series.connections)),
      kpi("Subscriptions", n(t.subscriptions), t.channels + " channels"),
      kpi("Publications/s", rate(o.rates.publications), n(t.publications) + " stored here"),
      kpi("Deliveries/s", rate(o.rates.deliveries), n(t.deliveries) + " total", false, spark(o.series.deliveries)),
      kpi("Broker", o.broker.up ? "up" : "down", o.broker.type + (pub ? " · publish p99 " + ms(pub.p99ms) : ""), !o.broker.up),
      kpi("Recoveries", rec + " / " + all, "recovered / subscribes"),
      kpi("Gaps", n(t.gaps), t.repaired + " repaired · " + t.resubscribes + " resubscribed", t.resubscribes > 0),
      kpi("Overflows", n(t.overflows), t.dropped + " dropped · " + o.config.sendQueue.onOverflow, t.overflows > 0),
      kpi("Outbound reuse", o.pools.requests === 0 ? "—" : o.pools.reuseRate === 0 ? "0 %" : (o.pools.reuseRate * 100).toFixed(o.pools.reuseRate < 0.1 ? 1 : 0) + " %",
        n(o.pools.requests) + " calls · " + n(o.pools.connectionsCreated) + " connections" + (o.pools.connectErrors > 0 ? " · " + n(o.pools.connectErrors) + " connect errors" : ""),
        o.pools.connectErrors > 0)
    );
    $("kpis").lastChild.title = o.pools.origins.map(function (x) { return x.origin + ": " + x.requests + " calls, " + x.open + " open, handshake " + ms(x.handshakeMs); }).join("\n") || "no outbound call yet (the JWKS fetch of auth.jwt.jwksUrl)";
    var tb = $("channels"), seen = new Set();
    var trs = o.channels.map(function (c) {
      seen.add(c.name);
      var row = rows.get(c.name);
      if (!row) {
        row = { tr: el("tr"), cells: [] };
        ["", "", "n", "n", "n", "epoch", "n"].forEach(function (cls) { var td = el("td", cls); row.cells.push(td); row.tr.appendChild(td); });
        rows.set(c.name, row);
      }
      var v = [c.name, c.rule, String(c.subscribers), String(c.pending), c.offset == null ? "—" : String(c.offset), c.epoch || "—", c.presence == null ? "—" : String(c.presence)];
      v.forEach(function (x, i) { set(row.cells[i], x); });
      return row.tr;
    });
    rows.forEach(function (_, k) { if (!seen.has(k)) rows.delete(k); });
    if (trs.length === 0) { var e = el("tr"); var td = el("td", "muted", "no channel has subscribers on this node"); td.colSpan = 7; e.appendChild(td); trs = [e]; }
    tb.replaceChildren.apply(tb, trs);
    set($("shown"), o.totals.channels > o.channelsShown ? "(the " + o.channelsShown + " busiest of " + o.totals.channels + ")" : "");
    table($("recoveries"), [["Outcome"], ["Subscribes", "n"]], Object.keys(r).sort().map(function (k) { return [k, String(r[k])]; }));
    table($("closes"), [["Code"], ["By"], ["Count", "n"]], o.closes.map(function (c) { return [String(c.code), c.by, String(c.count)]; }));
    table($("broker"), [["Operation"], ["Calls", "n"], ["Errors", "n"], ["p50 (bucket)", "n"], ["p99 (bucket)", "n"]], o.brokerOps.map(function (b) { return [b.op, n(b.count), String(b.errors), "≤ " + ms(b.p50ms), "≤ " + ms(b.p99ms)]; }));
  }
  function conn() {
    var live = Date.now() - lastAt < 3000, c = $("conn");
    c.className = "conn " + (live ? "live" : "stale");
    set(c.lastChild, live ? "live" : "reconnecting…");
  }
  var es;
  function connect() {
    var tok = sessionStorage.getItem(KEY) || "";
    if (es) es.close();
    es = new EventSource("/api/events" + (tok ? "?token=" + encodeURIComponent(tok) : ""));
    es.onmessage = function (e) { try { render(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    es.onerror = function () {
      conn();
      fetch("/api/overview" + (tok ? "?token=" + encodeURIComponent(tok) : "")).then(function (res) {
        if (res.status === 401) { document.body.classList.add("locked"); es.close(); }
      }, function () {});
    };
  }
  $("gate-form").addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("gate-token").value);
    connect();
  });
  setInterval(conn, 1000);
  connect();
})();
`;

/**
 * The whole page, built once.
 *
 * @example
 * sendRaw(res, 200, "text/html; charset=utf-8", HUB_DASHBOARD_HTML);
 */
export const HUB_DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>holdfast hub</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_CSS}${HUB_CSS}</style>
</head>
<body>
<header class="top">
  <div class="brand">
    <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M5 4v16M19 4v16M5 12h14M9 8h6M9 16h6"/></svg>
    holdfast hub
  </div>
  <span id="conn" class="conn"><i></i><span>connecting…</span></span>
  <span id="status" class="pill">…</span>
  <span id="meta" class="meta"></span>
</header>
<main>
  <div id="gate" class="panel">
    <form id="gate-form" autocomplete="off">This admin server needs its token (admin.token):
      <input id="gate-token" type="password" placeholder="admin token" aria-label="admin token">
      <button class="primary" type="submit">Open</button>
    </form>
  </div>
  <section id="kpis" class="kpis" aria-label="totals"></section>
  <h2>Channels <span id="shown" class="muted"></span></h2>
  <div class="panel scroll">
    <table>
      <thead><tr><th>Channel</th><th>Rule</th><th class="n">Subscribers</th><th class="n">Pending</th><th class="n">Offset</th><th>Epoch</th><th class="n">Presence here</th></tr></thead>
      <tbody id="channels"><tr><td colspan="7" class="muted">Waiting for the first update…</td></tr></tbody>
    </table>
  </div>
  <div class="grid3">
    <div><h2>Recoveries by outcome</h2><div id="recoveries" class="panel"></div></div>
    <div><h2>Closes by code</h2><div id="closes" class="panel"></div></div>
    <div><h2>Broker operations</h2><div id="broker" class="panel"></div></div>
  </div>
  <footer>
    Updated every second over <code>/api/events</code>. Rates over the last second; the sparklines show the
    last minute. Also: <a href="/metrics">/metrics</a>, <a href="/api/overview">/api/overview</a>, <a href="/healthz">/healthz</a>.
  </footer>
</main>
<script>${HUB_JS}</script>
</body>
</html>
`;
