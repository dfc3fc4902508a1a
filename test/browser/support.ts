import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { buildBrowserBundle, BUNDLE_PATH } from "../../scripts/build-client.ts";

/**
 * Headless Chromium for the client's browser tests: the real bundle
 * (`dist/browser/holdfast-client.js`, built by `npm test` and rebuilt here so a single
 * test file run loads current code) served beside a test page, same origin as the
 * servers under test.
 *
 * @example
 * const b = await launchBrowser();
 * const page = await b.open(`http://127.0.0.1:${port}/`);
 * await b.close();
 */

export const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let built: Promise<string> | null = null;

/** Builds the bundle once per test process and returns its text. */
export function bundleCode(): Promise<string> {
  built ??= buildBrowserBundle(BUNDLE_PATH).then(() => readFileSync(BUNDLE_PATH, "utf8"));
  return built;
}

/**
 * An HTTP handler serving `/` (a page that imports the bundle as `window.hf`) and
 * `/holdfast-client.js`; anything else goes to `next`.
 *
 * @example
 * const srv = await wsServer(echo, { onRequest: pageHandler(code) });
 */
export function pageHandler(code: string, next?: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const html = `<!doctype html><meta charset="utf-8"><title>holdfast client test</title>
<script type="module">import * as hf from "/holdfast-client.js"; window.hf = hf; window.ready = true;</script>`;
  return (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/") return void res.writeHead(200, { "content-type": "text/html" }).end(html);
    if (path === "/holdfast-client.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(code);
    if (next) return next(req, res);
    res.writeHead(404).end();
  };
}

export interface TestBrowser {
  readonly context: BrowserContext;
  /** Opens `url`, waits until the bundle is imported, and collects page errors. */
  open(url: string): Promise<Page>;
  /** Uncaught errors and console errors from every page. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run apt-get install chromium (.ci/run does it) — the client's browser tests need a real browser`);
  const dir = mkdtempSync(join(tmpdir(), "holdfast-client-chromium-"));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const errors: string[] = [];
  return {
    context,
    errors,
    open: async (url) => {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 5000 });
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
