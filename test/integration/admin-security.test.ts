import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { startAdmin } from "../../src/admin/server.ts";
import { adminRequest } from "../support/admin.ts";
import { closeServer, httpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";

/**
 * The admin server against a real browser: a page on another site cannot drain a server
 * even knowing the token, and a DNS-rebound name (Chromium maps evil.test to 127.0.0.1,
 * as a rebinding attacker's DNS would) cannot read the admin API. Plus the same checks
 * without a browser, header by header.
 */
const TOKEN = "admin-security-token";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

async function serve(html: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(html);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port };
}

test("admin security in Chromium: a cross-site page cannot drain a server; a rebound name cannot read the API", async () => {
  const b = await httpBackend("s1");
  const gw = await startGateway(simpleConfig([{ name: "s1", port: b.port }]));
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const port = admin.address.port;
  const target = `http://127.0.0.1:${port}/api/backends/b/servers/s1/drain`;
  // Everything a page can try: fetch with the token (needs a CORS preflight), a no-cors
  // POST, a form POST.
  const attacker = await serve(`<!doctype html><body><form id=f method=post action="${target}"></form><script>
    window.results = [];
    fetch(${JSON.stringify(target)}, { method: "POST", headers: { authorization: "Bearer ${TOKEN}" } })
      .then((r) => results.push("cors:" + r.status), (e) => results.push("cors:blocked"))
      .then(() => fetch(${JSON.stringify(target)}, { method: "POST", mode: "no-cors", body: "x" }))
      .then(() => results.push("no-cors:sent"), () => results.push("no-cors:blocked"))
      .then(() => { results.push("form"); document.getElementById("f").submit(); });
  </script>`);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: [...ARGS, "--host-resolver-rules=MAP evil.test 127.0.0.1"] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://evil.test:${attacker.port}/`);
    await page.waitForURL((u) => u.port === String(port), { timeout: 10_000 }); // the form navigated
    const shown = await page.textContent("body");
    assert.match(shown ?? "", /cross-site request refused/, "the form POST was refused by the Origin check");
    const view = (await adminRequest(admin.url, "GET", "/api/backends/b")).json() as { servers: { name: string; state: string }[] };
    assert.equal(view.servers[0]!.state, "up", "nothing drained the server");

    const rebound = await page.goto(`http://evil.test:${port}/api/backends`);
    assert.equal(rebound?.status(), 403, "a rebound name cannot read the API");
    assert.match(await rebound!.text(), /DNS rebinding/);
    const own = await page.goto(`http://127.0.0.1:${port}/`);
    assert.equal(own?.status(), 200, "the dashboard by its address still loads");
  } finally {
    await browser.close();
    await closeServer(attacker.server);
    await admin.close();
    await gw.close();
    await b.close();
  }
});

test("admin security without a browser: Origin, Sec-Fetch-Site and Host are checked; curl-style clients pass", async () => {
  const b = await httpBackend("s1");
  const gw = await startGateway(simpleConfig([{ name: "s1", port: b.port }]));
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  const path = "/api/backends/b/servers/s1/maintenance";
  const post = (headers: Record<string, string>) =>
    fetch(admin.url + path, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  try {
    assert.equal((await post({ origin: "http://evil.example" })).status, 403);
    assert.equal((await post({ "sec-fetch-site": "cross-site" })).status, 403);
    assert.equal((await post({ origin: admin.url })).status, 200, "the dashboard's own origin");
    assert.equal((await adminRequest(admin.url, "POST", "/api/backends/b/servers/s1/enable", { token: TOKEN })).status, 200, "no browser headers");
    // fetch sets its own Host: a raw socket sends the rebound name.
    const s = connect(port(admin.url), "127.0.0.1");
    s.write("GET /api/backends HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n");
    let text = "";
    for await (const c of s) text += (c as Buffer).toString();
    assert.match(text, /^HTTP\/1\.1 403 /);
    const health = connect(port(admin.url), "127.0.0.1");
    health.write("GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    let h = "";
    for await (const c of health) h += (c as Buffer).toString();
    assert.match(h, /^HTTP\/1\.1 200 /, "/healthz answers whatever the Host");
  } finally {
    await admin.close();
    await gw.close();
    await b.close();
  }
});

function port(url: string): number {
  return Number(new URL(url).port);
}
