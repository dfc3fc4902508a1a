import { DASHBOARD_CSS } from "../../admin/kit/style.ts";

/**
 * The demo's chat page (`/chat` through the gateway): the browser SDK
 * (`holdfast/client`, served as `/chat/holdfast-client.js`) connected to the hub at
 * `/connect` on the same origin, one channel (`chat:lobby`) with presence, recent
 * history from the app, and publishing. Messages are kept by offset, so a resume or a
 * history read never shows one twice. Every text goes through textContent.
 *
 * @example
 * res.end(CHAT_PAGE_HTML);
 */

const CSS = `
main { max-width: 980px; }
.chat { display: grid; grid-template-columns: 1fr 220px; gap: 16px; }
@media (max-width: 720px) { .chat { grid-template-columns: 1fr; } }
#log { height: 56vh; overflow-y: auto; padding: 10px 14px; }
.msg { padding: 4px 0; border-bottom: 1px solid var(--line); display: flex; gap: 10px; align-items: baseline; }
.msg:last-child { border-bottom: 0; }
.msg .who { font-weight: 650; min-width: 90px; }
.msg .off { margin-left: auto; color: var(--muted); font-size: 11.5px; font-variant-numeric: tabular-nums; }
.msg.mine .who { color: var(--accent); }
#online { list-style: none; margin: 0; padding: 10px 14px; }
#online li { padding: 3px 0; display: flex; gap: 8px; align-items: center; }
#online li i { width: 8px; height: 8px; border-radius: 50%; background: var(--up); display: inline-block; }
form.send { display: flex; gap: 8px; padding: 10px 14px; border-top: 1px solid var(--line); }
form.send input { flex: 1; }
.note { color: var(--muted); font-size: 12.5px; }
`;

const SCRIPT = String.raw`
import { connect } from "/chat/holdfast-client.js";
var CHANNEL = "chat:lobby";
function $(id) { return document.getElementById(id); }
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
var byOffset = new Map();
var name = sessionStorage.getItem("holdfast.chat.name") || ("guest-" + Math.floor(1000 + Math.random() * 9000));
$("name").value = name;
var client, sub;

function show(offset, data) {
  if (offset != null && byOffset.has(offset)) return;
  var row = el("div", "msg" + (data && data.name === name ? " mine" : ""));
  row.appendChild(el("span", "who", (data && data.name) || "?"));
  row.appendChild(el("span", "text", (data && data.text) || ""));
  row.appendChild(el("span", "off", offset == null ? "" : "#" + offset));
  row.dataset.offset = offset == null ? "" : String(offset);
  if (offset != null) byOffset.set(offset, row);
  var log = $("log"), after = null;
  for (var i = log.children.length - 1; i >= 0; i--) {
    var o = Number(log.children[i].dataset.offset);
    if (offset == null || !(o > offset)) { after = log.children[i]; break; }
  }
  if (after) after.after(row); else log.prepend(row);
  log.scrollTop = log.scrollHeight;
}
function online() {
  sub.presence().then(function (list) {
    var users = Array.from(new Set(list.map(function (c) { return c.user; }))).sort();
    $("online").replaceChildren.apply($("online"), users.map(function (u) { var li = el("li"); li.appendChild(el("i")); li.appendChild(document.createTextNode(u)); return li; }));
    $("count").textContent = String(users.length);
  }, function () {});
}
function start() {
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/connect";
  client = connect(url, { token: function () { return fetch("/chat/token?name=" + encodeURIComponent(name)).then(function (r) { if (!r.ok) throw new Error("token " + r.status); return r.text(); }); } });
  client.on("state", function (state) { var s = $("state"); s.textContent = state; s.className = "pill " + (state === "open" ? "ok" : state === "closed" ? "bad" : "warn"); });
  sub = client.subscribe(CHANNEL);
  sub.on("subscribed", function () {
    online();
    fetch("/chat/recent").then(function (r) { return r.json(); }).then(function (h) { h.publications.forEach(function (p) { show(p.offset, p.data); }); });
  });
  sub.on("message", function (m) { show(m.offset, m.data); });
  sub.on("join", online);
  sub.on("leave", online);
}
$("send").addEventListener("submit", function (e) {
  e.preventDefault();
  var text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  client.publish(CHANNEL, { name: name, text: text }).catch(function (err) { show(null, { name: "(not sent)", text: String(err && err.message || err) }); });
});
$("rename").addEventListener("submit", function (e) {
  e.preventDefault();
  var n = $("name").value.trim().slice(0, 32);
  if (!n || n === name) return;
  name = n;
  sessionStorage.setItem("holdfast.chat.name", name);
  client.close();
  start();
});
start();
window.chat = { get client() { return client; }, get name() { return name; } };
`;

/** The whole page, built once. */
export const CHAT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>holdfast chat</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_CSS}
.pill { font-size: 12px; font-weight: 650; padding: 2px 10px; border-radius: 99px; }
.pill.ok { color: var(--up); background: var(--up-soft); } .pill.bad { color: var(--down); background: var(--down-soft); } .pill.warn { color: var(--drain); background: var(--drain-soft); }
${CSS}</style>
</head>
<body>
<header class="top">
  <div class="brand">holdfast chat</div>
  <span id="state" class="pill warn">connecting</span>
  <span class="meta">#lobby through the gateway → hub</span>
  <span class="spacer"></span>
  <form id="rename" class="auth"><input id="name" aria-label="your name" maxlength="32"><button type="submit">Rename</button></form>
</header>
<main>
  <div class="chat">
    <div class="panel">
      <div id="log" aria-live="polite"></div>
      <form id="send" class="send" autocomplete="off"><input id="text" placeholder="Say something…" aria-label="message" maxlength="500"><button class="primary" type="submit">Send</button></form>
    </div>
    <div class="panel"><h2 style="margin:10px 14px 0">Online (<span id="count">0</span>)</h2><ul id="online"></ul></div>
  </div>
  <p class="note">Open this page in two tabs. Stop the network (or the hub node) for a moment: the client reconnects with
  backoff and resumes from its last offset, so no message is lost or shown twice.</p>
</main>
<script type="module">${SCRIPT}</script>
</body>
</html>
`;
