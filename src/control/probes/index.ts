/**
 * The probe a backend's `health` config asks for.
 *
 * @example
 * const checker = new HealthChecker({ config: backend.health, probe: probeFor(backend.health) });
 */
import type { HealthConfig } from "../../config/types.ts";
import type { Probe } from "../../core/health/types.ts";
import { httpProbe } from "./http.ts";
import { tcpProbe } from "./tcp.ts";

/**
 * `type: tcp` → {@link tcpProbe}, `type: http` → {@link httpProbe} with the config's
 * method, path, Host and expectations.
 *
 * @example
 * probeFor({ ...health, type: "tcp" }); // connect-only
 */
export function probeFor(health: HealthConfig): Probe {
  return health.type === "tcp" ? tcpProbe() : httpProbe(health);
}

export { httpProbe, tcpProbe };
