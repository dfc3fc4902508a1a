/**
 * The probe a backend's `health` config asks for.
 *
 * @example
 * const checker = new HealthChecker({ config: backend.health, probe: probeFor(backend.health) });
 */
import type { BackendConfig, HealthConfig } from "../../config/types.ts";
import type { Probe } from "../../core/health/types.ts";
import { httpProbe } from "./http.ts";
import { tcpProbe } from "./tcp.ts";

/**
 * `type: tcp` → {@link tcpProbe}, `type: http` → {@link httpProbe} with the config's
 * method, path, Host and expectations, over TLS and after a PROXY header when the
 * backend's traffic uses them.
 *
 * @example
 * probeFor({ ...health, type: "tcp" }); // connect-only
 */
export function probeFor(health: HealthConfig, backend?: Pick<BackendConfig, "tls" | "proxyProtocol">): Probe {
  if (health.type === "tcp") return tcpProbe();
  const tls = backend?.tls && { ca: backend.tls.caPem, rejectUnauthorized: backend.tls.verify, servername: backend.tls.servername };
  return httpProbe({ ...health, tls, proxyProtocol: backend?.proxyProtocol });
}

export { httpProbe, tcpProbe };
