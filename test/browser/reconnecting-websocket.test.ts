import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { waitFor, wsServer } from "../support/client.ts";
import { bundleCode, launchBrowser, pageHandler } from "./support.ts";

// ReconnectingWebSocket from the bundle, in headless Chromium, against a real `ws`
// server on loopback (the page is served by the same server, so it is same-origin).

declare const hf: typeof import("../../src/client/index.ts");
declare const log: string[];
declare let rws: InstanceType<typeof hf.ReconnectingWebSocket>;

async function logOf(page: Page): Promise<string[]> {
  return page.evaluate(() => log.slice());
}

test("ReconnectingWebSocket in Chromium: echo, a dead server, queued sends in order, a 1012 hint, offline/online, close()", { timeout: 60_000 }, async () => {
  const code = await bundleCode();
  const srv = await wsServer((ws) => ws.on("message", (m) => ws.send(String(m))), { onRequest: pageHandler(code) });
  const browser = await launchBrowser();
  try {
    const page = await browser.open(`http://127.0.0.1:${srv.port}/`);
    await page.evaluate((url) => {
      (window as unknown as { log: string[] }).log = [];
      const ws = new hf.ReconnectingWebSocket(url, [], { backoff: { min: 20, max: 150 }, minUptime: 200 });
      (window as unknown as { rws: typeof ws }).rws = ws;
      ws.onopen = () => log.push("open");
      ws.onmessage = (e) => log.push(`msg:${e.data}`);
      ws.addEventListener("close", (e) => log.push(`close:${(e as CloseEvent).code}`));
      ws.send("hello");
    }, srv.url);
    await waitFor("echo", async () => (await logOf(page)).includes("msg:hello"));
    assert.equal(await page.evaluate(() => rws.readyState), 1);

    // The server dies; sends while it is down are queued and arrive in order after it returns.
    await srv.kill();
    await waitFor("close 1006", async () => (await logOf(page)).includes("close:1006"));
    await page.evaluate(() => ["a", "b", "c"].forEach((m) => rws.send(m)));
    await srv.revive();
    await waitFor("a, b, c echoed", async () => (await logOf(page)).filter((l) => /^msg:[abc]$/.test(l)).length === 3, 5000);
    const l1 = await logOf(page);
    assert.deepEqual(l1.filter((l) => /^msg:[abc]$/.test(l)), ["msg:a", "msg:b", "msg:c"]);
    assert.equal(l1.filter((l) => l === "open").length, 2);

    // The gateway drains the server: 1012 with a hint; the page waits at least that long.
    const before = srv.sockets.length;
    srv.sockets.at(-1)!.close(1012, "retry-after=400");
    const t0 = performance.now();
    await waitFor("reconnected after the hint", () => srv.sockets.length > before, 3000);
    assert.ok(performance.now() - t0 >= 380, `reconnected ${(performance.now() - t0).toFixed(0)} ms after a 400 ms hint`);

    // The browser goes offline: the socket is dropped at once, and comes back on online.
    await waitFor("open", async () => (await page.evaluate(() => rws.readyState)) === 1, 3000);
    await browser.context.setOffline(true);
    await waitFor("dropped when offline", async () => (await page.evaluate(() => rws.readyState)) === 0, 3000);
    await page.evaluate(() => rws.send("while offline"));
    await browser.context.setOffline(false);
    await waitFor("echo after online", async () => (await logOf(page)).includes("msg:while offline"), 5000);

    await page.evaluate(() => rws.close(1000, "bye"));
    await waitFor("closed", async () => (await page.evaluate(() => rws.readyState)) === 3);
    const n = srv.sockets.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(srv.sockets.length, n, "no reconnect after close()");
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});

test("ReconnectingWebSocket in Chromium: pauseWhenHidden closes while the page is hidden and reconnects when it is shown", { timeout: 60_000 }, async () => {
  const code = await bundleCode();
  const srv = await wsServer((ws) => ws.on("message", (m) => ws.send(String(m))), { onRequest: pageHandler(code) });
  const browser = await launchBrowser();
  try {
    const page = await browser.open(`http://127.0.0.1:${srv.port}/`);
    // The page's visibility is driven the way a browser reports it: document.hidden and a visibilitychange event.
    const setHidden = (hidden: boolean) => page.evaluate((h) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
    await page.evaluate((url) => {
      (window as unknown as { log: string[] }).log = [];
      const ws = new hf.ReconnectingWebSocket(url, [], { backoff: { min: 20, max: 150 }, pauseWhenHidden: true });
      (window as unknown as { rws: typeof ws }).rws = ws;
      ws.onopen = () => log.push("open");
      ws.addEventListener("close", (e) => log.push(`close:${(e as CloseEvent).reason}`));
    }, srv.url);
    await waitFor("open", async () => (await logOf(page)).includes("open"));
    await setHidden(true);
    await waitFor("closed while hidden", async () => (await logOf(page)).includes("close:page hidden"));
    await waitFor("the server saw it go", () => srv.sockets[0]!.readyState === 3, 3000);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(srv.sockets.length, 1, "no reconnect while hidden");
    await setHidden(false);
    await waitFor("reopened when shown", async () => (await logOf(page)).filter((l) => l === "open").length === 2, 3000);
    assert.equal(srv.sockets.length, 2);
    await page.evaluate(() => rws.close());
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});
