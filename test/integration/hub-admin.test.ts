// The hub's admin server: /metrics (holdfast_hub_*), /healthz, the overview JSON behind
// admin.token, and the dashboard as a person sees it in headless Chromium.
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { api, ProtoClient, startHub, token } from "../hub/support.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === "1" ? new URL("../../docs/hub-dashboard.png", import.meta.url).pathname : join(tmpdir(), `holdfast-hub-dashboard-${process.pid}.png`);

const metric = (text: string, line: string): number => {
  const m = new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
  return m === null ? NaN : Number(m[1]);
};

test("/metrics counts connections, subscriptions, publications, deliveries, recoveries, closes and broker latency", async () => {
  const hub = await startHub("admin: { listen: 127.0.0.1:0, token: admin-secret }");
  try {
    const a = await ProtoClient.connect(hub.url, await token("a"));
    const b = await ProtoClient.connect(hub.url, await token("b"));
    const s = await a.request({ type: "subscribe", channel: "chat:m" });
    await b.request({ type: "subscribe", channel: "chat:m" });
    for (let i = 0; i < 3; i++) await api(hub.url, "/api/publish", { channel: "chat:m", data: i });
    await a.waitPubs("chat:m", 3);
    await b.waitPubs("chat:m", 3);
    const c = await ProtoClient.connect(hub.url, await token("c"));
    await c.request({ type: "subscribe", channel: "chat:m", since: { offset: 1, epoch: s.epoch } });
    b.close();
    await new Promise((r) => setTimeout(r, 100));
    const text = await (await fetch(`${hub.adminUrl}/metrics`)).text();
    assert.equal(metric(text, 'holdfast_hub_connections{transport="websocket"}'), 2);
    assert.equal(metric(text, "holdfast_hub_subscriptions"), 2);
    assert.equal(metric(text, "holdfast_hub_channels"), 1);
    assert.equal(metric(text, "holdfast_hub_publications_total"), 3);
    assert.equal(metric(text, "holdfast_hub_deliveries_total"), 6);
    assert.equal(metric(text, 'holdfast_hub_recoveries_total{outcome="fresh"}'), 2);
    assert.equal(metric(text, 'holdfast_hub_recoveries_total{outcome="recovered"}'), 1);
    assert.equal(metric(text, 'holdfast_hub_disconnects_total{by="client",code="1006"}'), 1);
    assert.equal(metric(text, 'holdfast_hub_api_requests_total{route="/api/publish",status="200"}'), 3);
    assert.equal(metric(text, "holdfast_hub_broker_up"), 1);
    assert.equal(metric(text, 'holdfast_hub_broker_latency_seconds_count{op="publish"}'), 3, "one broker publish per API publish");
    assert.equal((await fetch(`${hub.adminUrl}/healthz`)).status, 200);
    // The overview names channels: behind admin.token.
    assert.equal((await fetch(`${hub.adminUrl}/api/overview`)).status, 401);
    const o = (await (await fetch(`${hub.adminUrl}/api/overview`, { headers: { authorization: "Bearer admin-secret" } })).json()) as { channels: { name: string; subscribers: number; offset: number }[] };
    assert.deepEqual(o.channels.map((x) => [x.name, x.subscribers, x.offset]), [["chat:m", 2, 3]]);
    a.close();
    c.close();
  } finally {
    await hub.close();
  }
});

test("the dashboard in Chromium: node, broker, connections, channels with offsets, recoveries — live", { timeout: 60_000 }, async () => {
  const hub = await startHub("node: hub-dash\nadmin: { listen: 127.0.0.1:0, token: dash-token }");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const clients: ProtoClient[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const c = await ProtoClient.connect(hub.url, await token(`u${i}`));
      await c.request({ type: "subscribe", channel: i < 4 ? "chat:lobby" : "chat:ops" });
      clients.push(c);
    }
    for (let i = 0; i < 5; i++) await hub.publish("chat:lobby", { i });
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${hub.adminUrl}/`);
    // Without the token the page asks for it.
    await page.waitForSelector("body.locked #gate", { state: "visible", timeout: 10_000 });
    await page.fill("#gate-token", "dash-token");
    await page.click("#gate-form button");
    await page.waitForFunction(() => document.querySelectorAll("#channels tr").length === 2 && !document.body.classList.contains("locked"), undefined, { timeout: 10_000 });
    const cells = await page.$$eval("#channels tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    assert.deepEqual(cells.map((r) => [r[0], r[2], r[4]]), [["chat:lobby", "4", "5"], ["chat:ops", "2", "0"]]);
    assert.match((await page.textContent("#meta"))!, /^hub-dash · http:\/\/127\.0\.0\.1:\d+ · up /);
    assert.equal(await page.textContent("#status"), "ok");
    const kpis = await page.$$eval("#kpis .kpi", (ks) => ks.map((k) => [k.querySelector("span")!.textContent, k.querySelector("b")!.textContent]));
    assert.deepEqual(kpis.slice(0, 2), [["Connections", "6"], ["Subscriptions", "6"]]);
    // Live: a new subscriber shows up within a tick or two.
    const extra = await ProtoClient.connect(hub.url, await token("late"));
    await extra.request({ type: "subscribe", channel: "chat:ops" });
    clients.push(extra);
    await page.waitForFunction(() => document.querySelector("#channels tr:nth-child(2) td:nth-child(3)")?.textContent === "3", undefined, { timeout: 10_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    for (const c of clients) c.close();
    await browser.close();
    await hub.close();
  }
});
