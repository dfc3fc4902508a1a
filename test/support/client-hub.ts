import { Hub } from "../../src/hub/hub.ts";
import type { MemoryStore } from "../../src/hub/broker/memory.ts";
import { loadHubConfig } from "../../src/hub/config/load.ts";
import { createLogger } from "../../src/log.ts";
import type { Subscription, SubscribedInfo } from "../../src/client/index.ts";
import { API_TOKEN, CHANNELS, SECRET } from "../hub/support.ts";

/**
 * Real hub nodes for the client SDK's tests: built from YAML through the hub's config
 * loader, on a chosen port (so a "restarted" node comes back where clients look for
 * it), sharing a memory store or Redis like nodes of one cluster.
 *
 * @example
 * const store = new MemoryStore();
 * let hub = await hubNode(0, { store });
 * const port = hub.address.port;
 * await hub.stop();
 * hub = await hubNode(port, { store }); // same history, same place
 */
export async function hubNode(port: number, opts: { store?: MemoryStore; extra?: string; env?: Record<string, string> } = {}): Promise<Hub> {
  const extra = opts.extra ?? "";
  const yaml = `listen: 127.0.0.1:${port}
node: ${"${NODE:-client-test-hub}"}
auth: { jwt: { secret: "${SECRET}" }, anonymous: true }
api: { token: ${API_TOKEN} }
${extra}
${extra.includes("shutdown:") ? "" : "shutdown: { spread: 100ms }"}
${extra.includes("channels:") ? "" : CHANNELS}`;
  const r = loadHubConfig(yaml, { env: opts.env ?? {}, baseDir: process.cwd() });
  if (!r.ok) throw new Error(`test hub config: ${r.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  const hub = new Hub(r.config, { log: createLogger("client-test-hub", process.env.HOLDFAST_TEST_LOG ?? "silent"), admin: false, store: opts.store });
  await hub.start();
  return hub;
}

/** What a subscription delivered: every message (data and offset) and every `subscribed`. */
export interface Recorded {
  data: unknown[];
  offsets: (number | undefined)[];
  subscribed: SubscribedInfo[];
}

/**
 * Records a subscription's deliveries.
 *
 * @example
 * const rec = record(client.subscribe("chat:1"));
 * await waitFor("3 messages", () => rec.data.length === 3);
 */
export function record(sub: Subscription): Recorded {
  const r: Recorded = { data: [], offsets: [], subscribed: [] };
  sub.on("message", (m) => {
    r.data.push(m.data);
    r.offsets.push(m.offset);
  });
  sub.on("subscribed", (s) => r.subscribed.push(s));
  return r;
}
