import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { MemoryStore } from "../../src/hub/broker/memory.ts";
import { waitFor } from "../support/client.ts";
import { hubNode } from "../support/client-hub.ts";
import { token } from "../hub/support.ts";
import { bundleCode, launchBrowser, pageHandler } from "./support.ts";

// The browser bundle in a real page (headless Chromium) against a real hub node: connect
// with a token from the page's origin, subscribe, receive, survive a hub restart (1012,
// resume from the last offset), and queue publishes while the browser is offline.

declare const hf: typeof import("../../src/client/index.ts");
interface PageState {
  got: unknown[];
  offsets: number[];
  subscribed: { recovered: boolean; wasRecovering: boolean }[];
  states: string[];
  results: unknown[];
  client: InstanceType<typeof hf.Client>;
}
declare const t: PageState;

const view = (page: Page) => page.evaluate(() => ({ got: t.got, offsets: t.offsets, subscribed: t.subscribed, states: t.states, results: t.results, queued: t.client.queued, state: t.client.state }));

for (const transport of ["websocket", "sse"] as const) {
  test(`the bundle in Chromium against a real hub (${transport}): connect, subscribe, receive, a hub restart, publishes queued while offline`, { timeout: 90_000 }, async () => {
    const code = await bundleCode();
    const handler = pageHandler(code, (req, res) => {
      if (req.url === "/token") return void token("browser-user").then((jwt) => res.writeHead(200, { "content-type": "text/plain" }).end(jwt));
      res.writeHead(404).end();
    });
    const site = createServer(handler);
    site.listen(0, "127.0.0.1");
    await once(site, "listening");
    const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const store = new MemoryStore();
    const extra = `allowedOrigins: ["${origin}"]\nshutdown: { spread: 300ms }`;
    let hub = await hubNode(0, { store, extra });
    const port = hub.address.port;
    const browser = await launchBrowser();
    try {
      const page = await browser.open(`${origin}/`);
      await page.evaluate(({ url, transport }) => {
        const s = { got: [], offsets: [], subscribed: [], states: [], results: [] } as unknown as PageState;
        (window as unknown as { t: PageState }).t = s;
        s.client = hf.connect(url, { transports: [transport], backoff: { min: 50, max: 500 }, minUptime: 500, token: () => fetch("/token").then((r) => r.text()) });
        s.client.on("state", (st, info) => s.states.push(st === "reconnecting" ? `${st}:${info.code}` : st));
        const sub = s.client.subscribe("chat:browser");
        sub.on("message", (m) => {
          s.got.push(m.data);
          s.offsets.push(m.offset!);
        });
        sub.on("subscribed", (e) => s.subscribed.push({ recovered: e.recovered, wasRecovering: e.wasRecovering }));
      }, { url: `ws://127.0.0.1:${port}/connect`, transport });
      await waitFor("subscribed in the page", async () => (await view(page)).subscribed.length === 1, 10_000);
      for (let i = 1; i <= 3; i++) await hub.publish("chat:browser", i);
      await waitFor("1..3 in the page", async () => (await view(page)).got.length === 3);

      // A hub restart: 1012 + hint; meanwhile another node publishes 4 and 5.
      await hub.stop();
      const other = await hubNode(0, { store, extra });
      await other.publish("chat:browser", 4);
      await other.publish("chat:browser", 5);
      await other.stop();
      hub = await hubNode(port, { store, extra });
      await waitFor("resumed with 4, 5", async () => (await view(page)).got.length === 5, 15_000);
      let v = await view(page);
      assert.deepEqual(v.got, [1, 2, 3, 4, 5]);
      assert.deepEqual(v.offsets, [1, 2, 3, 4, 5]);
      assert.deepEqual(v.subscribed, [{ recovered: false, wasRecovering: false }, { recovered: true, wasRecovering: true }]);
      assert.ok(v.states.includes("reconnecting:1012"), `states: ${v.states.join(" ")}`);

      // Offline: the client drops at once; publishes queue; online flushes them in order.
      await waitFor("open again", async () => (await view(page)).state === "open", 10_000);
      await browser.context.setOffline(true);
      await waitFor("dropped while offline", async () => (await view(page)).state !== "open", 5000);
      await page.evaluate(() => {
        for (const x of ["p1", "p2", "p3"]) void t.client.publish("chat:browser", x).then((r) => t.results.push(r.offset));
      });
      assert.equal((await view(page)).queued, 3);
      await browser.context.setOffline(false);
      await waitFor("flushed and delivered", async () => {
        const x = await view(page);
        return x.results.length === 3 && x.got.length === 8;
      }, 15_000);
      v = await view(page);
      assert.deepEqual(v.results, [6, 7, 8]);
      assert.deepEqual(v.got, [1, 2, 3, 4, 5, "p1", "p2", "p3"]);
      assert.deepEqual(v.offsets, [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(v.queued, 0);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
      await hub.stop();
      site.close();
    }
  });
}
