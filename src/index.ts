/**
 * holdfast's public API (DESIGN §1): the gateway and its config loader. The hub, the
 * client SDK and the outbound pools come as `holdfast/hub`, `holdfast/client` and
 * `holdfast/pool`.
 *
 * @example
 * import { Gateway, loadConfigFile } from "holdfast";
 * const r = loadConfigFile("holdfast.yaml");
 * if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
 * const gw = new Gateway(r.config);
 * await gw.start();
 */
export { Gateway, type GatewayOptions } from "./control/gateway.ts";
export type { ReloadReport } from "./control/plane.ts";
export { loadConfig, loadConfigFile, type LoadResult } from "./config/load.ts";
export type { Config, BackendConfig, ListenerConfig, ServerConfig } from "./config/types.ts";
export { startAdmin, type AdminServer } from "./admin/server.ts";
export type { Balancer, BalancerOptions, PickContext, ServerView } from "./core/balance/types.ts";
export { balancers, createBalancer } from "./core/balance/registry.ts";
export { HoldfastError, isHoldfastError } from "./errors.ts";
