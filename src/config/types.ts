/**
 * The canonical, normalized configuration (DESIGN §3). YAML is only an adapter: the
 * loader turns a file into this shape, with every default filled in, every duration in
 * milliseconds and every address split into host and port. The rest of the code base
 * reads only this.
 *
 * @example
 * const cfg: Config = await loadConfigFile("holdfast.yaml");
 * cfg.backends.api.timeouts.connect; // 5000
 */

/** A `host:port` listen or server address. `host` is unbracketed for IPv6 (`::1`). */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export type BalanceName =
  | "round-robin"
  | "weighted-round-robin"
  | "least-conn"
  | "weighted-least-conn"
  | "random"
  | "p2c"
  | "source-hash"
  | "consistent-hash"
  | "maglev"
  | "bounded-hash"
  | "least-response-time";

/** `source | header:NAME | cookie:NAME | query:NAME | path`, parsed. Header names lower-cased. */
export type HashKey =
  | { readonly kind: "source" }
  | { readonly kind: "path" }
  | { readonly kind: "header"; readonly name: string }
  | { readonly kind: "cookie"; readonly name: string }
  | { readonly kind: "query"; readonly name: string };

export type StickyConfig =
  | { readonly kind: "cookie"; readonly cookie: string; readonly ttl: number; readonly secret: string | undefined }
  | { readonly kind: "source"; readonly ttl: number; readonly maxEntries: number };

export interface HealthConfig {
  readonly type: "tcp" | "http";
  readonly method: string; // default GET
  readonly path: string; // default /
  readonly host: string | undefined; // Host header; default the server address
  readonly interval: number; // default 5s
  readonly timeout: number; // default 2s, must be < interval
  readonly rise: number; // default 2, >= 1
  readonly fall: number; // default 3, >= 1
  readonly jitter: number; // fraction of interval, default 0.1
  readonly expect: {
    readonly status: readonly number[]; // default [200..399] expanded? no: empty = any 2xx/3xx
    readonly maxLatency: number | undefined;
    readonly json: Readonly<Record<string, unknown>> | undefined;
  };
}

export interface PassiveConfig {
  readonly consecutiveFailures: number; // default 5
  readonly ejectTime: number; // default 30s
  readonly maxEjectTime: number; // default 300s, cap of the doubling
  readonly maxEjectedPercent: number; // default 50
  readonly on5xx: boolean; // default false: count 5xx responses as failures
  /** How an ejected server returns: "timeout" (after ejectTime) or "check" (a passing active check). */
  readonly recovery: "timeout" | "check";
}

export interface ServerConfig {
  readonly name: string;
  readonly address: Address;
  readonly weight: number; // integer 1..256, default 1
  readonly backup: boolean; // default false
}

/**
 * TLS from the gateway to a backend's servers (`backends.*.tls`).
 *
 * @example
 * { verify: true, ca: "/etc/holdfast/internal-ca.pem", servername: "api.internal" }
 */
export interface BackendTls {
  readonly verify: boolean; // default true: the server's certificate must chain to `ca` (or the system roots) and match `servername`
  readonly ca: string | undefined; // absolute path to PEM CA certificates; default the system roots
  readonly servername: string | undefined; // SNI and the name checked; default the server's address when it is a host name
  /** The CA file's PEM as loaded (public certificates; a reload that changes only the file's contents is seen). */
  readonly caPem: string | undefined;
}

export interface BackendConfig {
  readonly name: string;
  readonly balance: BalanceName; // default round-robin
  readonly hashKey: HashKey | undefined; // only for the hash policies (default source for them)
  readonly hashBalanceFactor: number; // default 125 (bounded-hash)
  readonly sticky: StickyConfig | undefined;
  readonly health: HealthConfig | undefined;
  readonly passive: PassiveConfig | undefined;
  readonly slowStart: number; // ms, 0 = off
  readonly maxConn: number; // per server, 0 = unlimited
  readonly queueTimeout: number; // default 5s
  readonly retries: number; // default 2: connect-failure retries on another server
  readonly admission: { readonly rate: number; readonly burst: number } | undefined;
  readonly keepAlive: { readonly maxIdle: number; readonly idleTimeout: number }; // 64, 30s
  readonly timeouts: { readonly connect: number; readonly server: number; readonly tunnel: number }; // 5s, 60s, 1h
  readonly drainTimeout: number; // 30s
  readonly drainSpread: number; // 10s
  readonly rebalance: { readonly maxSkew: number; readonly rate: number } | undefined;
  readonly maxLifetime: number; // ms, 0 = off
  readonly websocket: { readonly pingInterval: number; readonly pongTimeout: number } | undefined;
  /** Event streams: `:` comment lines every `heartbeat` ms while the server is quiet. */
  readonly sse: { readonly heartbeat: number } | undefined;
  readonly tls: BackendTls | undefined; // absent: plain TCP to the servers
  readonly proxyProtocol: "v1" | "v2" | undefined; // send a PROXY header first on every server connection
  readonly servers: readonly ServerConfig[];
}

export interface RouteMatch {
  readonly pathPrefix: string | undefined;
  readonly host: string | undefined; // lower-cased, no port
  readonly header: Readonly<Record<string, string>> | undefined; // names lower-cased
}

export interface RouteConfig {
  readonly match: RouteMatch | undefined; // undefined = default route (matches everything)
  readonly allow: readonly string[] | undefined; // CIDRs
  readonly backend: string; // with split: the first split entry's backend when not given
  readonly split: readonly { readonly backend: string; readonly weight: number }[] | undefined;
}

/**
 * A listener's connection limits (`listeners[].limits`), enforced by each process on its
 * own (with N workers a listener takes up to N times as many). 0 = no limit.
 *
 * @example
 * { maxConnections: 10_000, maxConnectionsPerClient: 100 }
 */
export interface ListenerLimits {
  readonly maxConnections: number; // open connections on the listener, default 0
  readonly maxConnectionsPerClient: number; // open connections from one client address, default 0
}

export interface ListenerTimeouts {
  readonly requestHeaders: number; // default 10s (slowloris)
  readonly clientIdle: number; // default 60s (idle keep-alive client, idle TCP stream)
}

/**
 * One certificate and its key, with what the loader read in them. `names` (from the
 * subjectAltName DNS entries, or the subject CN without any) choose it by SNI.
 *
 * @example
 * { cert: "/etc/letsencrypt/live/example.com/fullchain.pem", key: ".../privkey.pem",
 *   names: ["example.com", "*.example.com"], notAfter: "2027-03-01T00:00:00.000Z", fingerprint: "9f2c..." }
 */
export interface TlsCertificate {
  readonly cert: string; // absolute path (PEM chain, leaf first)
  readonly key: string; // absolute path (PEM private key)
  readonly names: readonly string[]; // lower case; `*.example.com` wildcards kept as written
  readonly notAfter: string; // ISO date the leaf expires
  /** sha256 of both files as loaded: a renewal that keeps the paths is a change. */
  readonly fingerprint: string;
}

/** TLS termination on an http listener. */
export interface ListenerTls {
  /** The first is the default: for clients without SNI or with a name no certificate has. */
  readonly certs: readonly TlsCertificate[];
  readonly minVersion: "TLSv1.2" | "TLSv1.3"; // default TLSv1.2
}

/** What an http listener speaks: `h2` by ALPN under TLS, `h2c` with prior knowledge in clear text. */
export type HttpProtocol = "http1" | "h2" | "h2c";

export interface HttpListenerConfig {
  readonly name: string;
  readonly mode: "http";
  readonly listen: Address;
  readonly tls: ListenerTls | undefined;
  /** Default `[http1, h2]` with tls, `[http1]` without. */
  readonly protocols: readonly HttpProtocol[];
  readonly proxyProtocol: "accept" | undefined; // read a PROXY v1/v2 header first (from an L4 balancer)
  readonly maxConcurrentStreams: number; // HTTP/2 streams per connection, default 100
  readonly routes: readonly RouteConfig[];
  readonly accessLog: boolean; // default false
  readonly maxHeaderSize: number; // bytes, default 16384
  readonly timeouts: ListenerTimeouts;
  readonly limits: ListenerLimits;
  /** Peers whose X-Forwarded-* and Forwarded are believed (CIDR blocks); absent = nobody's. */
  readonly trustedProxies: readonly string[] | undefined;
}

/** A route of a tcp listener: by the TLS server name (SNI), or the default (no match). */
export interface TcpRouteConfig {
  readonly match: { readonly sni: string } | undefined; // lower case; `*.example.com` matches one more label
  readonly backend: string;
}

export interface TcpListenerConfig {
  readonly name: string;
  readonly mode: "tcp";
  readonly listen: Address;
  /** `backend: x` is `routes: [{ backend: x }]`. First match wins; the default route, if any, is last. */
  readonly routes: readonly TcpRouteConfig[];
  readonly proxyProtocol: "accept" | undefined;
  readonly timeouts: ListenerTimeouts;
  readonly limits: ListenerLimits;
}

export type ListenerConfig = HttpListenerConfig | TcpListenerConfig;

export interface Config {
  readonly admin: { readonly listen: Address; readonly token: string | undefined };
  readonly workers: number | "auto"; // default "auto"
  readonly shutdown: { readonly delay: number; readonly timeout: number }; // 2s, 60s
  readonly cluster: { readonly redis: string } | undefined;
  readonly listeners: readonly ListenerConfig[];
  readonly backends: Readonly<Record<string, BackendConfig>>;
}

/** One validation problem: `path` is dotted (`backends.api.health.interval`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}
