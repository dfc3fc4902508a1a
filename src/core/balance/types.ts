/**
 * The one small interface every balancing policy implements (DESIGN §4 "Balancing
 * policies"). PURE: no `node:*`, no timers, no sockets. Clock and randomness arrive in
 * the {@link PickContext}, so every policy is deterministic under test.
 *
 * L4 and L7 share every policy through the protocol-neutral context: the proxy engines
 * extract the hash key (source address, header, cookie, ...) before calling `pick`.
 *
 * @example
 * const rr = createBalancer("round-robin", {});
 * const server = rr.pick(backend.servers, { key: undefined, now: Date.now(), random: Math.random });
 */

/** What a policy may read of a server. The live server object implements it. */
export interface ServerView {
  /** Stable index of the server inside its backend (0..n-1); stable across picks. */
  readonly index: number;
  /** Config name of the server; hash policies hash it so tables survive reorderings. */
  readonly name: string;
  /**
   * Effective weight: configured weight × health-check agent weight × slow-start ramp.
   * May be fractional and may be 0 (then the server receives nothing).
   */
  readonly weight: number;
  /** True when the server may receive new requests (state `up`, not ejected, not full). */
  readonly available: boolean;
  /** In-flight requests plus open tunnels (a WebSocket counts as one for its whole life). */
  readonly active: number;
}

/** Per-pick inputs. Built by the caller; policies never read globals. */
export interface PickContext {
  /** Hash key for the hash policies; `undefined` means "no key: fall back to round-robin". */
  readonly key: string | undefined;
  /** Monotonic clock in milliseconds. */
  readonly now: number;
  /** Uniform random number in [0, 1). */
  readonly random: () => number;
}

/**
 * A balancing policy. `pick` returns one of the available servers, or `undefined` when
 * none is available. Policies that learn (least-response-time) get feedback through the
 * optional hooks; the caller always pairs `onStart` with exactly one `onEnd`.
 */
export interface Balancer {
  readonly name: string;
  pick(servers: readonly ServerView[], ctx: PickContext): ServerView | undefined;
  /** A request or tunnel was dispatched to `server` (its `active` already counts it). */
  onStart?(server: ServerView, ctx: PickContext): void;
  /** The request finished; `latencyMs` is time to response head, `ok` false on failure. */
  onEnd?(server: ServerView, latencyMs: number, ok: boolean, now: number): void;
}

/** Options a backend's config passes to a policy factory. */
export interface BalancerOptions {
  /** Bounded-hash load factor in percent (HAProxy's `hash-balance-factor`), default 125. */
  readonly hashBalanceFactor?: number;
}

export type BalancerFactory = (opts: BalancerOptions) => Balancer;
