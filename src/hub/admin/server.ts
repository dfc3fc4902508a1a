/**
 * The hub's admin server on `admin.listen`: `/healthz`, `/metrics` (Prometheus,
 * `holdfast_hub_*`) and the dashboard.
 *
 * @example
 * const admin = await startHubAdmin(hub, hub.config.admin);
 * admin.setStopping();
 * await admin.close();
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Address } from "../../config/types.ts";
import { sendError, sendJson, sendRaw } from "../../admin/kit/http.ts";
import type { Hub } from "../hub.ts";
import { health } from "../server/http.ts";
import { hubMetrics } from "./metrics.ts";

/** A running hub admin server. */
export interface HubAdmin {
  readonly url: string;
  setStopping(): void;
  close(): Promise<void>;
}

/**
 * Binds the admin server.
 *
 * @example
 * const admin = await startHubAdmin(hub, { listen: { host: "127.0.0.1", port: 9901 }, token: undefined });
 */
export async function startHubAdmin(hub: Hub, opts: { listen: Address; token: string | undefined }): Promise<HubAdmin> {
  const metrics = hubMetrics(hub);
  const server: Server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192 }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      const [status, body] = health(hub.node);
      return sendJson(res, status, body);
    }
    if (path === "/metrics") {
      metrics.text().then(
        (text) => sendRaw(res, 200, metrics.contentType, text),
        () => sendError(res, 500, "metrics failed"),
      );
      return;
    }
    sendError(res, 404, "not found: /healthz, /metrics");
  });
  server.maxConnections = 256;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: opts.listen.host, port: opts.listen.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "::1" : a.address;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${a.port}`,
    setStopping() {},
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
