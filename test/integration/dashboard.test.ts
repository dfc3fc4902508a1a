import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect as http2Connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { BackendOverview } from "../../src/admin/overview.ts";
import { startAdmin } from "../../src/admin/server.ts";
import { deadPort, httpBackend, tcpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { makeCa } from "../support/tls.ts";
import { waitFor } from "../support/wait.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// The README's picture is refreshed on demand (UPDATE_SCREENSHOT=1); a plain test run
// writes to the temp dir so it leaves the working tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === "1"
  ? new URL("../../docs/dashboard.png", import.meta.url).pathname
  : join(tmpdir(), `holdfast-dashboard-${process.pid}.png`);
const TOKEN = "dashboard-test-token";

/** A realistic backend: /health answers, other paths take 1–12 ms; `failRate` of them are 503. */
function app(name: string, failRate = 0) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/health") return void res.end("ok");
    req.resume();
    setTimeout(() => {
      res.setHeader("x-served-by", name);
      res.statusCode = Math.random() < failRate ? 503 : 200;
      res.end(`${name} ${req.url}`);
    }, 1 + Math.random() * 11);
  };
}

/** Keeps `concurrency` request loops going until `stop()`. */
function load(url: string, concurrency: number, pauseMs: number): { stop(): Promise<void>; sent(): number } {
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    while (running) {
      try {
        const res = await fetch(`${url}/page/${i}/${sent}`);
        await res.text();
      } catch {
        // a refused or reset request is part of the picture
      }
      sent++;
      await sleep(pauseMs);
    }
  });
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

test("dashboard in headless Chromium: every server listed, live numbers under load, drain from the page, screenshot", { timeout: 90_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run apt-get install chromium (.ci/run does it) — the dashboard test needs a real browser`);

  const api = await Promise.all([httpBackend("api-1", app("api-1")), httpBackend("api-2", app("api-2")), httpBackend("api-3", app("api-3", 0.04))]);
  const web = await Promise.all([httpBackend("web-1", app("web-1")), httpBackend("web-2", app("web-2"))]);
  const pg = await tcpBackend((s) => s.pipe(s));
  const dead = await deadPort();
  const gw = await startGateway(`
admin: { listen: 127.0.0.1:0, token: ${TOKEN} }
listeners:
  - name: public
    mode: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /page/0 }, backend: web }
      - { backend: api }
  - { name: pg, mode: tcp, listen: 127.0.0.1:0, backend: postgres }
backends:
  api:
    balance: least-conn
    health: { type: http, path: /health, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
    servers:
${api.map((b, i) => `      - { name: api-${i + 1}, address: 127.0.0.1:${b.port}, weight: ${i === 0 ? 2 : 1} }`).join("\n")}
      - { name: api-4, address: 127.0.0.1:${dead} }
  web:
    balance: round-robin
    servers:
${web.map((b, i) => `      - { name: web-${i + 1}, address: 127.0.0.1:${b.port} }`).join("\n")}
  postgres:
    servers: [ { name: pg-1, address: 127.0.0.1:${pg.port} } ]
`);
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const userDataDir = mkdtempSync(join(tmpdir(), "holdfast-chromium-"));
  const tunnels: Socket[] = [];
  let context: BrowserContext | undefined;
  let traffic: ReturnType<typeof load> | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1440, height: 900 },
      colorScheme: "light",
    });
    const page: Page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // (the 401 of the wrong-token step below is logged by Chromium as a failed resource load)
    page.on("console", (m) => void (m.type() === "error" && !m.text().includes("status of 401") && errors.push(m.text())));
    page.on("request", (r) => void (!r.url().startsWith(admin.url) && !r.url().startsWith("data:") && foreign.push(r.url())));
    await page.goto(admin.url + "/");

    // 1. Every listener and every server is on the page.
    const keys = ["api/api-1", "api/api-2", "api/api-3", "api/api-4", "web/web-1", "web/web-2", "postgres/pg-1"];
    for (const k of keys) await page.locator(`tr[data-key="${k}"]`).waitFor({ timeout: 5000 });
    assert.equal(await page.locator("tr[data-key]").count(), keys.length);
    assert.equal(await page.locator("tbody#listeners tr").count(), 2);
    assert.match((await page.locator('tr[data-key="api/api-1"] [data-f="state"]').innerText()).trim(), /^up/);

    // 2. Numbers move under load.
    const rpsCell = page.locator('tr[data-key="api/api-1"] [data-f="rps"] b');
    const before = (await rpsCell.innerText()).trim();
    assert.equal(before, "0");
    traffic = load(`http://127.0.0.1:${gw.port("public")}`, 6, 25);
    for (let i = 0; i < 3; i++) {
      const c = connect(gw.port("pg"), "127.0.0.1");
      c.on("error", () => {});
      tunnels.push(c);
    }
    const moving = await waitFor("the req/s cell to change", async () => {
      const now = (await rpsCell.innerText()).trim();
      return now !== before && Number(now) > 0 ? now : undefined;
    }, 8000, 100);
    assert.ok(Number(moving) > 0, `req/s ${moving}`);
    // The upstream pool's reuse: most requests ride pooled keep-alive connections.
    const reuse = await waitFor("the upstream reuse to show", async () => {
      const v = (await page.locator('[data-kpi="Upstream reuse"] b').innerText()).trim();
      return /^\d+(\.\d)? %$/.test(v) && parseFloat(v) >= 50 ? v : undefined;
    }, 8000, 100);
    assert.match((await page.locator('[data-kpi="Upstream reuse"] small').innerText()).trim(), /^\d+(\.\d)?k? connections opened$/, reuse);
    await waitFor("the tunnels to show", async () => (await page.locator('tr[data-key="postgres/pg-1"] [data-f="tunnels"]').innerText()).trim() === "3", 8000, 100);

    // 3. Without a token the buttons are off; a wrong token shows the API's refusal.
    const drain2 = page.locator('tr[data-key="api/api-2"] button[data-action="drain"]');
    assert.equal(await drain2.isDisabled(), true);
    await page.fill("#token", "not-the-token");
    await page.click("#token-save");
    await waitFor("the drain button to enable", async () => !(await drain2.isDisabled()), 8000, 100);
    await drain2.click();
    const refusal = await page.locator(".toast.error").first().innerText();
    assert.match(refusal, /refused \(401\).*invalid token/);
    await page.click("#token-clear");

    // 4. The right token: drain api-2 from the page; the API confirms it.
    await page.fill("#token", TOKEN);
    await page.click("#token-save");
    await waitFor("the drain button to enable", async () => !(await drain2.isDisabled()), 8000, 100);
    await drain2.click();
    const state = await waitFor("api-2 to be draining", async () => {
      const b = (await (await fetch(`${admin.url}/api/backends/api`)).json()) as BackendOverview;
      const s = b.servers.find((x) => x.name === "api-2")!.state;
      return s === "draining" ? s : undefined;
    }, 8000, 100);
    assert.equal(state, "draining");
    assert.equal(gw.gw.backends.get("api")!.servers[1]!.state(performance.now()), "draining");
    await waitFor("the page to show draining", async () => /draining/.test(await page.locator('tr[data-key="api/api-2"] [data-f="state"]').innerText()), 8000, 100);
    assert.equal(await drain2.isDisabled(), true, "drain is off on a draining server");

    // 5. api-4 shown down, then the screenshot. For the README's picture only, 12 s more
    // under load first, so the sparklines and the checks have filled in.
    await waitFor("api-4 to be down", async () => /down/.test(await page.locator('tr[data-key="api/api-4"] [data-f="state"]').innerText()), 10_000, 100);
    if (process.env.UPDATE_SCREENSHOT === "1") {
      await sleep(12_000);
      assert.ok(traffic.sent() > 200, `sent ${traffic.sent()}`);
    }
    await page.mouse.move(0, 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // 6. Dark mode has its own palette (readable, not the light page inverted by the browser).
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(light, dark);

    assert.deepEqual(foreign, [], "the page loads nothing from elsewhere");
    assert.deepEqual(errors, [], "no script errors");
  } finally {
    await traffic?.stop();
    for (const c of tunnels) c.destroy();
    await context?.close();
    rmSync(userDataDir, { recursive: true, force: true });
    await admin.close();
    await gw.close();
    await Promise.all([...api, ...web].map((b) => b.close()));
    await pg.close();
  }
});

/** One HTTP/1.1 request over TLS on a new connection; resolves with the session to resume and whether this one resumed. */
function httpsOnce(port: number, ca: string, session?: Buffer): Promise<{ session: Buffer | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let got: Buffer | undefined;
    const req = httpsRequest({ host: "127.0.0.1", port, path: "/", ca, servername: "dash.test", agent: false, ...(session ? { session } : {}) }, (res) => {
      res.resume();
      res.on("end", () => resolve({ session: got, reused: (res.socket as TLSSocket).isSessionReused() }));
    });
    req.on("socket", (s: TLSSocket) => s.on("session", (b: Buffer) => (got = b)));
    req.on("error", reject);
    req.end();
  });
}

/** One HTTP/2 request on a new connection (over TLS with `ca`, else h2c). */
async function h2Once(url: string, ca?: string): Promise<void> {
  const c = http2Connect(url, ca === undefined ? {} : { ca, servername: "dash.test" });
  try {
    await new Promise<void>((resolve, reject) => {
      const r = c.request({ ":path": "/" }, { endStream: true });
      r.resume();
      r.on("end", resolve);
      r.on("error", reject);
    });
  } finally {
    c.close();
  }
}

test("dashboard and /metrics per listener: TLS handshakes (resumed, failed) and HTTP/1.1 · HTTP/2 connections, as a person sees them", { timeout: 60_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run apt-get install chromium`);
  const be = await httpBackend("a", app("a"));
  const ca = makeCa();
  const pem = ca.issue(["dash.test"]);
  const gw = await startGateway(`
listeners:
  - { name: secure, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }
  - { name: mesh, mode: http, listen: 127.0.0.1:0, protocols: [http1, h2c], routes: [{ backend: b }] }
backends:
  b: { servers: [{ name: a, address: 127.0.0.1:${be.port} }] }
`);
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: undefined });
  const userDataDir = mkdtempSync(join(tmpdir(), "holdfast-chromium-"));
  let context: BrowserContext | undefined;
  try {
    const secure = gw.port("secure");
    // secure: 3 HTTP/1.1 connections (the third resumes the first's session), 1 HTTP/2, 1 failed handshake.
    const first = await httpsOnce(secure, ca.cert);
    await httpsOnce(secure, ca.cert);
    const third = await httpsOnce(secure, ca.cert, first.session);
    assert.ok(third.reused, "the third connection resumed its session");
    await h2Once(`https://127.0.0.1:${secure}`, ca.cert);
    const junk = connect(secure, "127.0.0.1");
    junk.on("error", () => {});
    junk.end("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => junk.on("close", r));
    // mesh (clear text): 1 h2c connection and 1 HTTP/1.1.
    await h2Once(`http://127.0.0.1:${gw.port("mesh")}`);
    await (await fetch(`http://127.0.0.1:${gw.port("mesh")}/`)).text();

    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(admin.url + "/");
    const cells = async (listener: string) => (await page.locator(`tr[data-listener="${listener}"] td`).allInnerTexts()).map((t) => t.trim());
    const row = await waitFor("the secure listener's TLS cell", async () => {
      const c = await cells("secure");
      return c[7]?.includes("failed") ? c : undefined;
    }, 8000, 100);
    assert.equal(row[1], "HTTP + TLS · h2");
    assert.equal(row[6], "3 · 1", "h1 · h2 connections");
    assert.equal(row[7], "4 (25 % resumed, 1 failed)", "TLS handshakes");
    const mesh = await cells("mesh");
    assert.equal(mesh[1], "HTTP · h2");
    assert.equal(mesh[6], "1 · 1");
    assert.equal(mesh[7], "–", "no TLS on a clear-text listener");

    const metrics = await (await fetch(`${admin.url}/metrics`)).text();
    for (const line of [
      'holdfast_tls_handshakes_total{listener="secure",resumed="yes"} 1',
      'holdfast_tls_handshakes_total{listener="secure",resumed="no"} 3',
      'holdfast_tls_handshake_failures_total{listener="secure"} 1',
      'holdfast_client_connections_total{listener="secure",protocol="http1"} 3',
      'holdfast_client_connections_total{listener="secure",protocol="h2"} 1',
      'holdfast_client_connections_total{listener="mesh",protocol="http1"} 1',
      'holdfast_client_connections_total{listener="mesh",protocol="h2"} 1',
    ]) assert.ok(metrics.includes(line), `/metrics has ${line}`);
    assert.ok(!metrics.includes('holdfast_tls_handshakes_total{listener="mesh"'), "no TLS series for the clear-text listener");
  } finally {
    await context?.close();
    rmSync(userDataDir, { recursive: true, force: true });
    await admin.close();
    await gw.close();
    await be.close();
  }
});
