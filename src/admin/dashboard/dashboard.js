(function () {
  "use strict";
  var TOKEN_KEY = "holdfast.adminToken";
  // "#token=..." (the demo prints such a link): keep it for this tab, out of the address bar.
  var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromHash[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  var lastAt = 0;
  var cards = new Map();
  var rows = new Map();
  var NS = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }
  function el(tag, props, kids) {
    var e = document.createElement(tag);
    if (props) for (var k in props) {
      if (k === "text") e.textContent = props[k];
      else if (k === "cls") e.className = props[k];
      else e.setAttribute(k, props[k]);
    }
    (kids || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function set(node, text) { if (node.textContent !== text) node.textContent = text; }

  // ---------------------------------------------------------------- formatting
  function fmtRps(x) { return x >= 100 ? Math.round(x).toLocaleString("en") : x >= 10 ? x.toFixed(1) : x.toFixed(x === 0 ? 0 : 2); }
  function fmtMs(x) {
    if (x == null) return "—";
    if (x >= 10000) return "≥10 s";
    if (x >= 1000) return (x / 1000).toFixed(2) + " s";
    if (x >= 100) return Math.round(x) + " ms";
    if (x >= 10) return x.toFixed(1) + " ms";
    return x.toFixed(2) + " ms";
  }
  function fmtPct(x) {
    if (x == null) return "—";
    if (x === 0) return "0 %";
    if (x < 0.001) return "<0.1 %";
    return (x * 100).toFixed(x < 0.1 ? 1 : 0) + " %";
  }
  function fmtCount(n) { return n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : String(n); }
  function fmtBytes(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }
  function fmtDur(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + "s";
    var m = Math.floor(s / 60); if (m < 60) return m + "m " + (s % 60) + "s";
    var h = Math.floor(m / 60); if (h < 48) return h + "h " + (m % 60) + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  function fmtWeight(w) { return String(Math.round(w * 10) / 10); }

  // ---------------------------------------------------------------- sparklines
  function spark(w, h) {
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", h);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    var tip = document.createElementNS(NS, "title");
    var area = document.createElementNS(NS, "path"); area.setAttribute("class", "area");
    var line = document.createElementNS(NS, "path"); line.setAttribute("class", "line");
    svg.appendChild(tip); svg.appendChild(area); svg.appendChild(line);
    return svg;
  }
  function drawSpark(svg, values) {
    var w = +svg.getAttribute("width"), h = +svg.getAttribute("height"), n = 60;
    var max = 1; values.forEach(function (v) { if (v > max) max = v; });
    var pts = [];
    var off = n - values.length;
    for (var i = 0; i < values.length; i++) {
      var x = ((off + i) / (n - 1)) * (w - 2) + 1;
      var y = h - 1.5 - (values[i] / max) * (h - 4);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    }
    if (pts.length === 0) pts = ["1," + (h - 1.5), (w - 1) + "," + (h - 1.5)];
    if (pts.length === 1) pts.unshift("1," + pts[0].split(",")[1]);
    var line = "M" + pts.join("L");
    var peak = values.length ? Math.max.apply(null, values) : 0;
    svg.childNodes[2].setAttribute("d", line);
    svg.childNodes[1].setAttribute("d", line + "L" + pts[pts.length - 1].split(",")[0] + "," + h + "L" + pts[0].split(",")[0] + "," + h + "Z");
    set(svg.childNodes[0], "req/s over the last " + values.length + " s · peak " + fmtRps(peak));
  }

  // ---------------------------------------------------------------- header and totals
  function kpi(label, value, sub, bad) {
    return el("div", { cls: "kpi" + (bad ? " bad" : ""), "data-kpi": label }, [el("span", { text: label }), el("b", { text: value }), el("small", { text: sub || "" })]);
  }
  function renderTop(o) {
    var t = o.totals;
    var recent = 0, weight = 0;
    o.backends.forEach(function (b) { if (b.errorRate != null) { var w = Math.max(b.rps, 1); recent += b.errorRate * w; weight += w; } });
    var err = weight > 0 ? recent / weight : null;
    var states = {};
    o.backends.forEach(function (b) { b.servers.forEach(function (s) { if (s.state !== "up") states[s.state] = (states[s.state] || 0) + 1; }); });
    var notUp = Object.keys(states).map(function (k) { return states[k] + " " + k; }).join(", ");
    // Upstream keep-alive pool: uses of a pooled connection ÷ all connection uses.
    var opened = 0, reused = 0;
    o.backends.forEach(function (b) { b.servers.forEach(function (s) { opened += s.connectionsCreated; reused += s.connectionsReused; }); });
    var k = $("kpis");
    k.replaceChildren(
      kpi("Uptime", fmtDur(o.uptimeSeconds * 1000), "since " + new Date(o.startedAt).toLocaleTimeString()),
      kpi("Requests/s", fmtRps(t.rps), "last second"),
      kpi("Errors", fmtPct(err), "last 10 s", err != null && err >= 0.01),
      kpi("Servers up", t.serversUp + " / " + t.servers, notUp || "all healthy", t.serversUp < t.servers),
      kpi("Client conns", fmtCount(t.clientConnections), "HTTP + tunnels"),
      kpi("Tunnels", fmtCount(t.tunnels), "WebSocket + TCP"),
      kpi("Requests", fmtCount(t.requests), fmtCount(t.errors) + " failed"),
      kpi("Upstream reuse", fmtPct(opened + reused > 0 ? reused / (opened + reused) : null), fmtCount(opened) + " connections opened"),
      kpi("Rejected", fmtCount(t.admissionRejected), "admission", t.admissionRejected > 0),
      kpi("Reloads", String(t.reloads), t.reloadFailures + " refused", t.reloadFailures > 0)
    );
    set($("meta"), "pid " + o.pid + " · started " + new Date(o.startedAt).toLocaleString() + " · " + o.listeners.length + " listeners, " + o.backends.length + " backends");
    var tb = $("listeners");
    tb.replaceChildren.apply(tb, o.listeners.map(function (l) {
      return el("tr", { "data-listener": l.name }, [
        el("td", {}, [el("b", { text: l.name })]),
        el("td", {}, [el("span", { cls: "mode", text: l.mode.toUpperCase() + (l.tls ? " + TLS" : "") + (l.protocols.indexOf("h2") >= 0 || l.protocols.indexOf("h2c") >= 0 ? " · h2" : "") })]),
        el("td", { cls: "mono", text: l.address }),
        el("td", { text: l.backends.join(", ") }),
        el("td", { cls: "n", text: fmtCount(l.connections) }),
        el("td", { cls: "n", text: fmtCount(l.tunnels) }),
        el("td", { cls: "n", title: "HTTP/1.1 · HTTP/2 connections since start", text: l.mode === "http" ? fmtCount(l.http1) + " · " + fmtCount(l.h2) : "–" }),
        el("td", { cls: "n", title: "TLS handshakes since start (resumed, failed)", text: l.tls ? fmtCount(l.tlsHandshakes) + " (" + fmtPct(l.tlsHandshakes > 0 ? l.tlsResumed / l.tlsHandshakes : null) + " resumed" + (l.tlsFailed > 0 ? ", " + fmtCount(l.tlsFailed) + " failed" : "") + ")" : "–" })
      ]);
    }));
  }

  // ---------------------------------------------------------------- backends
  var COLS = [["Server", "", "server"], ["State", "", "state"], ["Weight", "n", "weight"], ["Active", "n", "active"], ["Tunnels", "n", "tunnels"], ["Idle", "n", "idle"],
    ["Req/s · 60 s", "n", "rps"], ["Errors", "n", "err"], ["p50", "n", "p50"], ["p99", "n", "p99"], ["Checks", "", "checks"], ["Actions", "", "actions"]];
  function card(b) {
    var c = cards.get(b.name);
    if (c) return c;
    var head = el("div", { cls: "bhead" });
    var tbody = el("tbody");
    var cols = el("colgroup", {}, COLS.map(function (x) { return el("col", { cls: "c-" + x[2] }); }));
    var table = el("table", { cls: "servers" }, [cols, el("thead", {}, [el("tr", {}, COLS.map(function (x) { return el("th", { cls: x[1], text: x[0] }); }))]), tbody]);
    var root = el("section", { cls: "panel", "data-backend": b.name }, [head, el("div", { cls: "scroll" }, [table])]);
    var f = {};
    ["name", "balance", "check", "up", "rps", "err", "p99", "active", "queue"].forEach(function (k) { f[k] = el("b"); });
    head.append(
      el("span", { cls: "name", text: b.name }),
      el("span", { cls: "tag", text: b.balance }),
      el("span", { cls: "tag", text: b.healthCheck || "no active checks" }),
      el("span", { cls: "stat" }, ["up ", f.up]),
      el("span", { cls: "stat" }, ["req/s ", f.rps]),
      el("span", { cls: "stat" }, ["errors ", f.err]),
      el("span", { cls: "stat" }, ["p99 ", f.p99]),
      el("span", { cls: "stat" }, ["active ", f.active]),
      el("span", { cls: "stat" }, ["queue ", f.queue])
    );
    var sp = spark(160, 28); head.appendChild(sp);
    c = { root: root, tbody: tbody, f: f, spark: sp };
    cards.set(b.name, c);
    return c;
  }
  function row(b, s) {
    var key = b + "/" + s.name;
    var r = rows.get(key);
    if (r) return r;
    var c = {};
    function td(f, cls) { c[f] = el("td", { cls: cls || "", "data-f": f }); return c[f]; }
    var tr = el("tr", { "data-key": key, "data-server": s.name }, [td("server", "srv"), td("state"), td("weight", "n"), td("active", "n"), td("tunnels", "n"), td("idle", "n"), td("rps", "n"), td("err", "n"), td("p50", "n"), td("p99", "n"), td("checks"), td("actions")]);
    c.server.append(el("b", { text: s.name }), el("span", { cls: "addr mono", text: s.address }));
    if (s.backup) c.server.appendChild(el("span", { cls: "badge", text: "backup" }));
    c.pill = el("span", { cls: "state" }, [el("i"), el("span")]);
    c.since = el("span", { cls: "since" });
    c.state.append(c.pill, c.since);
    c.rpsNum = el("b");
    c.spark = spark(128, 24);
    c.rps.appendChild(el("div", { cls: "rps" }, [c.spark, c.rpsNum]));
    c.ticks = el("span", { cls: "ticks" });
    c.checks.appendChild(c.ticks);
    var btn = {};
    ["drain", "enable", "maintenance"].forEach(function (a) {
      btn[a] = el("button", { type: "button", "data-action": a, text: a === "maintenance" ? "Maint." : a[0].toUpperCase() + a.slice(1) });
      btn[a].addEventListener("click", function () { act(b, s.name, a); });
    });
    var w = el("input", { type: "number", min: "0", max: "256", step: "1", "data-weight": "", "aria-label": "weight for " + s.name });
    var setW = el("button", { type: "button", "data-action": "weight", text: "Set" });
    setW.addEventListener("click", function () {
      if (w.value.trim() === "") return toast("Enter a weight from 0 to 256 first.", true);
      act(b, s.name, "weight", Number(w.value));
    });
    w.addEventListener("keydown", function (e) { if (e.key === "Enter") setW.click(); });
    c.actions.appendChild(el("div", { cls: "actions" }, [btn.drain, btn.enable, btn.maintenance, w, setW]));
    r = { tr: tr, c: c, btn: btn, w: w, setW: setW };
    rows.set(key, r);
    return r;
  }
  function updateRow(r, s) {
    var c = r.c;
    r.tr.className = "s-" + s.state;
    c.pill.className = "state " + s.state;
    set(c.pill.lastChild, s.state + (s.ejected ? " (ejected)" : ""));
    set(c.since, "for " + fmtDur(s.stateForMs));
    set(c.weight, s.weight === s.configWeight ? String(s.configWeight) : fmtWeight(s.weight) + " / " + s.configWeight);
    c.weight.title = "effective / configured";
    set(c.active, String(s.active) + (s.maxConn > 0 ? " / " + s.maxConn : ""));
    set(c.tunnels, String(s.tunnels));
    set(c.idle, String(s.idle));
    set(c.rpsNum, fmtRps(s.rps));
    drawSpark(c.spark, s.rpsHistory);
    set(c.err, fmtPct(s.errorRate));
    c.err.className = "n" + (s.errorRate != null && s.errorRate >= 0.01 ? " err" : "");
    c.err.title = fmtCount(s.errors) + " failed of " + fmtCount(s.requests) + " since start · " + s.retries + " retries · " + s.ejections + " ejections · " + s.admissionRejected + " refused by admission";
    set(c.p50, fmtMs(s.p50Ms));
    set(c.p99, fmtMs(s.p99Ms));
    c.tunnels.title = fmtBytes(s.bytesIn) + " in · " + fmtBytes(s.bytesOut) + " out";
    c.idle.title = s.connectionsCreated + " connections opened, " + s.connectionsReused + " reuses";
    var ticks = s.checks.slice(-16);
    if (ticks.length === 0) {
      if (c.ticks.dataset.n !== "0") { c.ticks.replaceChildren(el("span", { cls: "muted", text: "—" })); c.ticks.title = "no active health check"; c.ticks.dataset.n = "0"; }
    } else {
      c.ticks.replaceChildren.apply(c.ticks, ticks.map(function (k) {
        return el("i", { cls: k.ok ? "" : "fail", title: (k.ok ? "ok" : "failed: " + k.reason) + " · " + fmtMs(k.latencyMs) + " · " + fmtDur(k.agoMs) + " ago" });
      }));
      c.ticks.title = ""; c.ticks.dataset.n = String(ticks.length);
    }
    var armed = token !== "";
    r.btn.drain.disabled = !armed || s.state === "draining";
    r.btn.maintenance.disabled = !armed || s.state === "maintenance";
    r.btn.enable.disabled = !armed || (s.state !== "draining" && s.state !== "maintenance");
    r.w.disabled = !armed; r.setW.disabled = !armed;
    if (document.activeElement !== r.w) r.w.placeholder = fmtWeight(s.weight);
  }
  function renderBackends(o) {
    var host = $("backends");
    if (o.backends.length === 0) { host.replaceChildren(el("div", { cls: "panel empty", text: "No backends configured." })); cards.clear(); rows.clear(); return; }
    var seenCards = new Set(), seenRows = new Set();
    var order = o.backends.map(function (b) {
      var c = card(b); seenCards.add(b.name);
      set(c.f.up, b.serversUp + "/" + b.servers.length);
      set(c.f.rps, fmtRps(b.rps));
      set(c.f.err, fmtPct(b.errorRate));
      set(c.f.p99, fmtMs(b.p99Ms));
      set(c.f.active, String(b.active) + (b.tunnels > 0 ? " (" + b.tunnels + " tunnels)" : ""));
      set(c.f.queue, String(b.queue));
      var sum = [];
      b.servers.forEach(function (s) { s.rpsHistory.forEach(function (v, i) { var j = i + (60 - s.rpsHistory.length); sum[j] = (sum[j] || 0) + v; }); });
      drawSpark(c.spark, sum.filter(function (v) { return v !== undefined; }));
      var trs = b.servers.map(function (s) { var r = row(b.name, s); seenRows.add(b.name + "/" + s.name); updateRow(r, s); return r.tr; });
      if (c.tbody.children.length !== trs.length || trs.some(function (tr, i) { return c.tbody.children[i] !== tr; })) c.tbody.replaceChildren.apply(c.tbody, trs);
      return c.root;
    });
    cards.forEach(function (_, k) { if (!seenCards.has(k)) cards.delete(k); });
    rows.forEach(function (_, k) { if (!seenRows.has(k)) rows.delete(k); });
    if (host.children.length !== order.length || order.some(function (n, i) { return host.children[i] !== n; })) host.replaceChildren.apply(host, order);
  }
  function render(o) {
    lastAt = Date.now();
    document.title = "holdfast · " + o.totals.serversUp + "/" + o.totals.servers + " up · " + fmtRps(o.totals.rps) + " req/s";
    renderTop(o);
    renderBackends(o);
    conn();
  }

  // ---------------------------------------------------------------- live updates
  function conn() {
    var c = $("conn"), live = Date.now() - lastAt < 3500;
    c.className = "conn " + (live ? "live" : "stale");
    set(c.lastChild, live ? "live" : lastAt === 0 ? "connecting…" : "reconnecting… (last update " + fmtDur(Date.now() - lastAt) + " ago)");
  }
  function connect() {
    var es = new EventSource("/api/events");
    es.onmessage = function (e) { try { render(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    es.onerror = function () { conn(); if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000); };
  }
  setInterval(conn, 1000);

  // ---------------------------------------------------------------- actions and token
  function toast(msg, bad) {
    var t = el("div", { cls: "toast" + (bad ? " error" : ""), text: msg });
    $("toasts").appendChild(t);
    setTimeout(function () { t.remove(); }, bad ? 8000 : 4000);
  }
  function act(backend, server, action, weight) {
    var url = "/api/backends/" + encodeURIComponent(backend) + "/servers/" + encodeURIComponent(server) + "/" + action;
    var init = { method: action === "weight" ? "PUT" : "POST", headers: { authorization: "Bearer " + token } };
    if (action === "weight") { init.headers["content-type"] = "application/json"; init.body = JSON.stringify({ weight: weight }); }
    fetch(url, init).then(function (res) {
      return res.json().catch(function () { return { error: res.status + " " + res.statusText }; }).then(function (body) {
        if (!res.ok) return toast(server + ": " + action + " refused (" + res.status + "): " + (body.error || "unknown error"), true);
        var s = body.server, r = rows.get(backend + "/" + server);
        if (s && r) { updateRow(r, s); if (action === "weight") r.w.value = ""; }
        toast(backend + "/" + server + ": " + (action === "weight" ? "weight set to " + weight : action === "enable" ? "enabled" : action === "drain" ? "draining" : "in maintenance"));
      });
    }).catch(function (err) { toast(server + ": " + action + " failed: " + err.message, true); });
  }
  function applyToken() {
    var armed = token !== "";
    document.body.classList.toggle("armed", armed);
    set($("lock"), armed ? "controls unlocked" : "read-only");
    $("token").hidden = armed; $("token-save").hidden = armed; $("token-clear").hidden = !armed;
    rows.forEach(function (r) {
      r.w.disabled = !armed; r.setW.disabled = !armed;
      ["drain", "enable", "maintenance"].forEach(function (a) { if (!armed) r.btn[a].disabled = true; });
    });
  }
  $("auth").addEventListener("submit", function (e) {
    e.preventDefault();
    token = $("token").value.trim();
    if (token === "") return toast("Enter the admin token (admin.token in the config).", true);
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    applyToken();
    fetch("/api/backends").then(function (r) { return r.json(); }).then(render).catch(function () {});
  });
  $("token-clear").addEventListener("click", function () { token = ""; sessionStorage.removeItem(TOKEN_KEY); applyToken(); });
  applyToken();
  connect();
})();
