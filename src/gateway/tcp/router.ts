import type { TcpRouteConfig } from "../../config/types.ts";
import { NameTable } from "../../codec/tls/server-name.ts";
import type { Backend } from "../backend.ts";

/**
 * Chooses the backend of a tcp listener's connection from its routes: by the TLS server
 * name the client asked for (read from its ClientHello without terminating TLS), else
 * the default route. A listener with only a default route never looks at the bytes.
 *
 * @example
 * const r = new TcpRouter(cfg.routes, backends);
 * if (!r.peek) connect(r.pick(undefined));
 * else connect(r.pick("db.example.com")); // undefined: no route for that name
 */
export class TcpRouter {
  /** True when some route matches on the server name: the ClientHello must be read first. */
  readonly peek: boolean;
  readonly #names = new NameTable<Backend>();
  readonly #fallback: Backend | undefined;

  constructor(routes: readonly TcpRouteConfig[], backends: ReadonlyMap<string, Backend>) {
    let fallback: Backend | undefined;
    for (const r of routes) {
      const b = backends.get(r.backend);
      if (b === undefined) throw new Error(`route refers to unknown backend ${r.backend}`);
      if (r.match === undefined) fallback ??= b;
      else this.#names.add(r.match.sni, b);
    }
    this.#fallback = fallback;
    this.peek = this.#names.size > 0;
  }

  /** The backend for `serverName` (undefined: no SNI, or not TLS), or undefined when no route takes it. */
  pick(serverName: string | undefined): Backend | undefined {
    if (serverName !== undefined) {
      const b = this.#names.get(serverName);
      if (b !== undefined) return b;
    }
    return this.#fallback;
  }

}
