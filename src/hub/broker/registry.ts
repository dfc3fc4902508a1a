/**
 * The hub config's `broker:` → a {@link Broker}. Explicit (no registration by import
 * side effect): a new broker type is a line here, its options type, and its name in the
 * hub config schema.
 *
 * @example
 * const broker = createBroker({ type: "redis", url: "redis://127.0.0.1:6379" }, { node: "hub-1" });
 * const embedded = createBroker({ type: "memory" });
 */
import { MemoryBroker, MemoryStore } from "./memory.ts";
import { RedisBroker, type RedisBrokerOptions } from "./redis.ts";
import type { Broker } from "./types.ts";

/** `broker:` in the hub config (durations already in ms). */
export type BrokerConfig = { type: "memory" } | ({ type: "redis" } & Omit<RedisBrokerOptions, "node">);

/** What the hub passes besides the config. */
export interface BrokerContext {
  /** The hub node's name (`node:` in the config). */
  node?: string;
  /** memory: share a store between hub nodes in one process (tests, demos). */
  store?: MemoryStore;
}

/**
 * Builds the configured broker (not started).
 *
 * @example
 * const b = createBroker(config.broker, { node: config.node });
 * await b.start(events);
 */
export function createBroker(config: BrokerConfig, ctx: BrokerContext = {}): Broker {
  switch (config.type) {
    case "memory":
      return new MemoryBroker(ctx.store === undefined ? {} : { store: ctx.store });
    case "redis": {
      const { type: _type, ...opts } = config;
      return new RedisBroker(ctx.node === undefined ? opts : { ...opts, node: ctx.node });
    }
  }
}
