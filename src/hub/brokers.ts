/**
 * The broker a hub config asks for: `memory` (the embedded default, nothing to
 * install) or `redis` (shared by every node).
 *
 * @example
 * const broker = await createBroker({ type: "memory" }, "hub-1");
 */
import type { Broker } from "./broker/types.ts";
import { MemoryBroker } from "./broker/memory.ts";
import type { HubBrokerConfig } from "./config/types.ts";

/**
 * Builds (does not start) the broker of `broker:`.
 *
 * @example
 * const b = await createBroker({ type: "redis", url: "redis://127.0.0.1:6379", prefix: undefined }, "hub-1");
 */
export async function createBroker(cfg: HubBrokerConfig, node: string): Promise<Broker> {
  if (cfg.type === "memory") return new MemoryBroker();
  void node;
  throw new Error("broker.type redis: not available in this build yet");
}
