/**
 * `holdfast/hub` (DESIGN §6): the realtime hub, its config loader, and the broker
 * interface for those who bring their own.
 *
 * @example
 * import { Hub, loadHubConfigFile } from "holdfast/hub";
 * const r = loadHubConfigFile("hub.yaml");
 * if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
 * const hub = new Hub(r.config);
 * await hub.start();
 * process.on("SIGTERM", () => void hub.stop());
 */
export { Hub, type HubOptions } from "./hub.ts";
export { loadHubConfig, loadHubConfigFile, type HubLoadResult } from "./config/load.ts";
export type { HubConfig, HubChannelRule, HubJwtConfig, HubBrokerConfig } from "./config/types.ts";
export { HUB_DEFAULTS } from "./config/defaults.ts";
export { MemoryBroker, MemoryStore } from "./broker/memory.ts";
export { BrokerUnavailableError, type Broker, type BrokerEvents, type BrokerPublication, type PublishResult } from "./broker/types.ts";
