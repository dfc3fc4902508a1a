import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as hf from "../../src/client/index.ts";
import { token } from "../hub/support.ts";
import { wsServer } from "../support/client.ts";
import { hubNode } from "../support/client-hub.ts";

// Every ```js example block of docs/client.md runs against a real hub node (and a ws
// echo server for ReconnectingWebSocket), as undici's test/examples.js does: an example
// that no longer matches the API fails here. Blocks share `client` when they use one
// without creating it; imports from "holdfast/client" must name real exports.

const DOC = new URL("../../docs/client.md", import.meta.url);
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

function examples(): string[] {
  const md = readFileSync(DOC, "utf8");
  return [...md.matchAll(/```js example\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test("docs/client.md: every example runs against a real hub", { timeout: 60_000 }, async () => {
  const blocks = examples();
  assert.ok(blocks.length >= 4, `found ${blocks.length} examples`);
  const hub = await hubNode(0);
  const echo = await wsServer();
  const shared = hf.connect(`${hub.url}/connect`, { token: () => token("docs-reader") });
  const logs: string[] = [];
  const console = { log: (...a: unknown[]) => logs.push(a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")) };
  try {
    for (const [i, block] of blocks.entries()) {
      const names: string[] = [];
      const body = block.replace(/^import \{([^}]*)\} from "holdfast\/client";\n/gm, (_m, list: string) => {
        for (const n of list.split(",").map((s) => s.trim()).filter(Boolean)) {
          assert.ok(n in hf, `example ${i + 1} imports ${n}, which holdfast/client does not export`);
          names.push(n);
        }
        return "";
      });
      assert.doesNotMatch(body, /^import /m, `example ${i + 1}: only imports from holdfast/client are supported`);
      const declaresClient = /\b(?:const|let)\s+client\b/.test(body);
      const params = ["HUB_URL", "ECHO_URL", "fetchToken", "console", ...(declaresClient ? [] : ["client"])];
      const prelude = names.length ? `const { ${names.join(", ")} } = hf;\n` : "";
      const fn = new AsyncFunction("hf", ...params, prelude + body);
      const args = [`${hub.url}/connect`, echo.url, () => token("docs-reader"), console, ...(declaresClient ? [] : [shared])];
      await fn(hf, ...args).catch((e: unknown) => {
        throw new Error(`docs/client.md example ${i + 1} failed: ${(e as Error).message}\n${block}`);
      });
    }
    assert.ok(logs.some((l) => /^stored as 1 in epoch \S+$/.test(l)), `the quick start's publish was stored: ${logs.join(" | ")}`);
    assert.ok(logs.some((l) => l.includes('"user":"docs-reader"')), `presence listed the reader: ${logs.join(" | ")}`);
  } finally {
    shared.close();
    await echo.close();
    await hub.stop();
  }
});
