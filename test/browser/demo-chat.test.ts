// The demo's chat as a person uses it, in headless Chromium: two tabs on /chat through
// the demo gateway and hub, messages both ways, who is online, and a tab that goes
// offline and comes back with every message it missed, once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chromium, type Page } from "playwright-core";
import { startDemo } from "../../src/cli/demo.ts";
import { bundleCode, CHROMIUM } from "./support.ts";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const texts = (page: Page) => page.$$eval("#log .msg", (rows) => rows.map((r) => `${r.querySelector(".who")!.textContent}: ${r.querySelector(".text")!.textContent}`));

async function join(page: Page, url: string, name: string): Promise<void> {
  await page.goto(`${url}/chat`);
  await page.waitForFunction(() => document.getElementById("state")?.textContent === "open", undefined, { timeout: 15_000 });
  await page.fill("#name", name);
  await page.click("#rename button");
  await page.waitForFunction((n) => (window as unknown as { chat: { name: string } }).chat.name === n && document.getElementById("state")?.textContent === "open", name, { timeout: 15_000 });
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("#send button");
}

test("demo chat in Chromium: two tabs talk through the gateway and the hub; an offline tab catches up exactly", { timeout: 120_000 }, async () => {
  await bundleCode();
  const demo = await startDemo(0, "127.0.0.1", { adminPorts: "any" });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    assert.equal(demo.chat.bundle, true);
    const ctxA = await browser.newContext();
    const ctxB = await browser.newContext();
    const errors: string[] = [];
    const [alice, bob] = [await ctxA.newPage(), await ctxB.newPage()];
    for (const p of [alice, bob]) p.on("pageerror", (e) => errors.push(e.message));
    await join(alice, demo.url, "alice");
    await join(bob, demo.url, "bob");
    await alice.waitForFunction(() => [...document.querySelectorAll("#online li")].map((li) => li.textContent).join(",") === "alice,bob", undefined, { timeout: 10_000 });

    await say(alice, "hello bob");
    await say(bob, "hi alice");
    for (const p of [alice, bob]) {
      await p.waitForFunction(() => document.querySelectorAll("#log .msg").length >= 2, undefined, { timeout: 10_000 });
      assert.deepEqual(await texts(p), ["alice: hello bob", "bob: hi alice"]);
    }

    // Bob's network goes away; Alice keeps talking; Bob comes back and gets it all, once.
    await ctxB.setOffline(true);
    await bob.waitForFunction(() => document.getElementById("state")?.textContent !== "open", undefined, { timeout: 60_000 });
    await say(alice, "are you there?");
    await say(alice, "bob?");
    await alice.waitForFunction(() => document.querySelectorAll("#log .msg").length === 4, undefined, { timeout: 10_000 });
    await ctxB.setOffline(false);
    await bob.waitForFunction(() => document.querySelectorAll("#log .msg").length === 4, undefined, { timeout: 60_000 });
    assert.deepEqual(await texts(bob), ["alice: hello bob", "bob: hi alice", "alice: are you there?", "alice: bob?"]);
    const offsets = await bob.$$eval("#log .msg .off", (xs) => xs.map((x) => x.textContent));
    assert.deepEqual(offsets, ["#1", "#2", "#3", "#4"]);

    // A new tab shows the recent history.
    const carol = await (await browser.newContext()).newPage();
    await join(carol, demo.url, "carol");
    await carol.waitForFunction(() => document.querySelectorAll("#log .msg").length === 4, undefined, { timeout: 10_000 });
    assert.deepEqual(await texts(carol), ["alice: hello bob", "bob: hi alice", "alice: are you there?", "alice: bob?"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await demo.close();
  }
});
