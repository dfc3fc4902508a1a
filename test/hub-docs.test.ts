// docs/hub.md and docs/examples/hub/ against the code: every example and every complete
// ```yaml block loads as a hub config (and passes `holdfast check`), the key table names
// every key of the schema with the defaults of HUB_DEFAULTS, and the metrics table lists
// exactly the holdfast_hub_* metrics a node exposes.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseDocument } from "yaml";
import { formatAddress } from "../src/config/address.ts";
import { formatDuration } from "../src/config/duration.ts";
import { formatIssue } from "../src/config/issues.ts";
import { formatSize } from "../src/config/size.ts";
import { isHubConfigText, runHubCheck } from "../src/hub/config/check.ts";
import { HUB_DEFAULTS } from "../src/hub/config/defaults.ts";
import { loadHubConfig } from "../src/hub/config/load.ts";
import { hubConfigSchema } from "../src/hub/config/schema.ts";
import { startHub } from "./hub/support.ts";
import { schemaKeys, type ZodNode } from "./support/schema-keys.ts";

const root = join(import.meta.dirname, "..");
const doc = readFileSync(join(root, "docs", "hub.md"), "utf8");
const env = { HUB_JWT_SECRET: "docs-test-secret-docs-test-secret-0123", HUB_API_TOKEN: "docs-api", HUB_ADMIN_TOKEN: "docs-admin", HOSTNAME: "hub-1" };

const examples = readdirSync(join(root, "docs", "examples", "hub")).filter((f) => f.endsWith(".yaml")).sort();

test("docs/examples/hub has example configs", () => assert.ok(examples.length >= 2, examples.join(", ")));

for (const name of examples) {
  test(`docs/examples/hub/${name} loads and passes holdfast check`, () => {
    const file = join(root, "docs", "examples", "hub", name);
    const text = readFileSync(file, "utf8");
    assert.ok(isHubConfigText(text), "recognised as a hub config");
    const r = loadHubConfig(text, { env, baseDir: root });
    assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(runHubCheck(file, { write: (s) => out.push(s) }, { write: (s) => err.push(s) }, env), 0, err.join(""));
    assert.match(out.join(""), /^ok: hub on /);
  });
}

const blocks = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

test("docs/hub.md: every complete ```yaml block loads as a hub config; the others parse", () => {
  assert.ok(blocks.length >= 2);
  assert.ok(blocks.filter(isHubConfigText).length >= 1, "at least one complete hub config among the blocks (a rule that matches nothing tests nothing)");
  for (const text of blocks) {
    if (isHubConfigText(text)) {
      const r = loadHubConfig(text, { env, baseDir: root });
      assert.ok(r.ok, `${text}\n${r.ok ? "" : r.issues.map(formatIssue).join("\n")}`);
    } else {
      assert.deepEqual(parseDocument(text).errors.map((e) => e.message), []);
    }
  }
});

test("docs/hub.md names every key of the hub schema, with HUB_DEFAULTS' defaults", () => {
  const keys = [...new Set(schemaKeys(hubConfigSchema as unknown as ZodNode))].map((k) => k.replaceAll(".[]", "[]"));
  assert.ok(keys.length > 30, `only ${keys.length} keys: did zod's internals change?`);
  // Sections (ping, limits, ...) are documented through their keys.
  const leaves = keys.filter((k) => !keys.some((other) => other.startsWith(`${k}.`) || other.startsWith(`${k}[]`)));
  assert.deepEqual(leaves.filter((k) => !doc.includes(`| \`${k}\` |`)), [], "keys missing from the table of docs/hub.md");
  const D = HUB_DEFAULTS;
  const defaults: Record<string, string> = {
    listen: formatAddress(D.listen),
    "ping.interval": formatDuration(D.ping.interval),
    "ping.timeout": formatDuration(D.ping.timeout),
    "sendQueue.maxBytes": formatSize(D.sendQueue.maxBytes),
    "sendQueue.onOverflow": D.sendQueue.onOverflow,
    "shutdown.spread": formatDuration(D.shutdown.spread),
    "limits.maxMessageBytes": formatSize(D.limits.maxMessageBytes),
    "limits.maxSubscriptions": String(D.limits.maxSubscriptions),
    "limits.maxConnections": String(D.limits.maxConnections),
    "presence.ttl": formatDuration(D.presence.ttl),
    "admin.listen": formatAddress(D.admin.listen),
    channels: `[{ match: "*", history: { size: ${D.channels[0].history.size}, ttl: ${formatDuration(D.channels[0].history.ttlMs)} } }]`,
  };
  for (const [key, value] of Object.entries(defaults)) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${key}\` |`))!;
    assert.ok(row !== undefined, `no row for ${key}`);
    assert.equal(row.split(" | ")[2], `\`${value}\`${key === "limits.maxConnections" ? " (no limit)" : ""}`, key);
  }
});

test("docs/hub.md's metrics table lists exactly the holdfast_hub_* metrics a node exposes", async () => {
  const hub = await startHub();
  try {
    const text = await (await fetch(`${hub.adminUrl}/metrics`)).text();
    const exposed = [...new Set([...text.matchAll(/^# TYPE (holdfast_hub_\w+) /gm)].map((m) => m[1]!))].sort();
    const documented = [...new Set([...doc.matchAll(/^\| `(holdfast_hub_\w+)` \|/gm)].map((m) => m[1]!))].sort();
    assert.ok(exposed.length > 0, "the node exposes holdfast_hub_* metrics");
    assert.deepEqual(documented, exposed);
  } finally {
    await hub.close();
  }
});
