import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { wsServer } from "../support/client.ts";
import { bundleCode, launchBrowser, pageHandler } from "./support.ts";

// The browser bundle as shipped: one self-contained ES module, small, loadable by a
// plain <script type="module"> with no import map and no bundler.

const BUDGET_GZIP = 12 * 1024;

test("browser bundle: self-contained ES module (no imports, no node:), within 12 KiB gzipped, exports the API", { timeout: 60_000 }, async () => {
  const code = await bundleCode();
  assert.doesNotMatch(code, /\bimport\s*[\s{*"'(]|\bimport\.meta\b/, "the bundle imports nothing");
  assert.doesNotMatch(code, /["']node:/, "no node: specifier");
  assert.doesNotMatch(code, /\brequire\(/, "no CommonJS require");
  const gz = gzipSync(code, { level: 9 }).length;
  assert.ok(gz <= BUDGET_GZIP, `bundle is ${gz} bytes gzipped, over the ${BUDGET_GZIP}-byte budget`);
  console.log(`# browser bundle: ${(code.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(2)} KiB gzipped`);

  const srv = await wsServer(undefined, { onRequest: pageHandler(code) });
  const browser = await launchBrowser();
  try {
    const page = await browser.open(`http://127.0.0.1:${srv.port}/`);
    const names = await page.evaluate(() => Object.keys((window as unknown as { hf: object }).hf).sort());
    for (const n of ["connect", "Client", "Subscription", "ReconnectingWebSocket", "CloseCode", "HubError", "QueueFullError", "ClientClosedError", "backoffDelay", "PROTOCOL"]) {
      assert.ok(names.includes(n), `the bundle exports ${n} (has ${names.join(", ")})`);
    }
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});
