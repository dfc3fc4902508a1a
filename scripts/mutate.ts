/**
 * Mutation testing with StrykerJS, one module at a time (issue 15; not run in CI).
 *
 * Each module names the code to mutate and the smallest set of test files that covers
 * it. The script writes a Stryker config for that module under `.stryker-tmp/` and runs
 * it with the tap runner: every test file is run by `node` (the Node 24 running this
 * script) with `--test-reporter=tap`, once to learn which mutants each file reaches,
 * then, for each mutant, only the files that reach it, stopping at the first failure.
 * Reports land in `reports/mutation/<module>.{html,json}`.
 *
 * @example
 * // npm run mutate -- core                       the pure core
 * // npm run mutate -- routes                     the router
 * // npm run mutate -- http src/gateway/http/exchange.ts   one file of a module
 * // npm run mutate -- http --incremental         reuse the last run's results where
 * //                                              neither code nor tests changed
 * // npm run mutate                               lists the modules
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface MutationModule {
  /** What the module is, for the listing. */
  about: string;
  /** Stryker `mutate` globs (tests and kits are excluded for every module). */
  mutate: string[];
  /** The test files run against the mutants. */
  tests: string[];
  /** Per-mutant timeout slack in ms on top of twice the file's own time. */
  timeoutMS?: number;
  /**
   * Environment defaults for the test files (the caller's environment wins): a fixed
   * `FUZZ_SEED` makes a run with fuzz tests reproducible.
   */
  env?: Record<string, string>;
}

const NOT_SOURCE = ["!**/*.test.ts", "!**/*.kit.ts"];

/** The quick real-socket files on how a tunnel's sides end, reset and close (tunnel-ends). */
const TUNNEL_ENDS_TESTS = [
  "test/integration/ws-server-gone.test.ts",
  "test/integration/tcp.test.ts",
  "test/integration/upstream-half-close.test.ts",
  "test/integration/tunnel-close.test.ts",
];

export const MODULES: Record<string, MutationModule> = {
  core: {
    about: "the pure core: balancing, health, stickiness, plans (src/core; slow: core-* run a part)",
    mutate: ["src/core/**/*.ts", "!src/core/**/types.ts"],
    tests: ["src/core/**/*.test.ts"],
  },
  ...Object.fromEntries(["balance", "health", "sticky", "plan"].map((part) => [`core-${part}`, {
    about: `the pure core's ${part} (src/core/${part})`,
    mutate: [`src/core/${part}/*.ts`, `!src/core/${part}/types.ts`],
    tests: [`src/core/${part}/*.test.ts`],
  }])),
  // weighted.ts and hash.ts are reached by every policy: under core-balance a surviving
  // mutant of theirs runs all 15 test files (and one that hangs a loop waits on each).
  // Their own table tests pin them; weighted-round-robin.test.ts adds the pick sequences
  // built on SmoothWeights (NGINX's, with a server down, and the conformance kit's joins,
  // leaves and reorders), where the table checks only how its state follows the servers.
  "core-balance-shared": {
    about: "the balancing policies' shared helpers (src/core/balance/weighted.ts, hash.ts)",
    mutate: ["src/core/balance/weighted.ts", "src/core/balance/hash.ts"],
    tests: [
      "src/core/balance/weighted.test.ts",
      "src/core/balance/hash.test.ts",
      "src/core/balance/weighted-round-robin.test.ts",
    ],
  },
  routes: {
    about: "the router (src/gateway/routes.ts)",
    mutate: ["src/gateway/routes.ts"],
    tests: ["src/gateway/routes*.test.ts", "test/integration/routing.test.ts"],
  },
  retry: {
    about: "an attempt at a server, retries and the upstream pool (src/gateway/attempt.ts, upstream.ts)",
    mutate: ["src/gateway/attempt.ts", "src/gateway/upstream.ts"],
    // proxy-protocol: server connections that start with a clear-text PROXY header;
    // backend.test: a server's `available` under maxConn.
    tests: [
      "src/gateway/attempt.test.ts",
      "src/gateway/upstream.test.ts",
      "src/gateway/backend.test.ts",
      "test/integration/http-proxy.test.ts",
      "test/integration/faults.test.ts",
      "test/integration/retries*.test.ts",
      "test/integration/upstream*.test.ts",
      "test/integration/proxy-protocol.test.ts",
    ],
    timeoutMS: 30_000,
  },
  http: {
    about: "the HTTP/1.1 data plane (src/gateway/http, src/codec/http1)",
    mutate: ["src/gateway/http/*.ts", "src/codec/http1/*.ts"],
    tests: [
      "src/codec/http1/body.test.ts",
      "src/codec/http1/dechunk.test.ts",
      "src/codec/http1/head.test.ts",
      "src/codec/http1/write.test.ts",
      "src/gateway/http/*.test.ts",
      "test/integration/http-proxy.test.ts",
      "test/integration/http-*.test.ts",
      "test/integration/retries.test.ts",
      "test/integration/access-log.test.ts",
      "test/integration/sse.test.ts",
      "test/integration/slow-clients.test.ts",
      "test/integration/vtc.test.ts",
    ],
    timeoutMS: 30_000,
  },
  "http-dispatch": {
    about: "the HTTP/1.1 exchange's dispatch, upgrade and upstream end (exchange-dispatch.ts, upgrade.ts, exchange.ts)",
    mutate: ["src/gateway/http/exchange-dispatch.ts", "src/gateway/http/upgrade.ts", "src/gateway/http/exchange.ts"],
    // http's list without the codec's and the pure http tests (they never reach these
    // files) and without vtc.test.ts (varnishtest, 8 s a file: one of its cases failed
    // Stryker's initial run on the loaded machine, which stops the run); with sticky (the cookie re-issued on a retry)
    // and websocket (the handoff to a tunnel and its accounting), which http lacks, and
    // http-admission (admission on HTTP/1.1, else only in lifecycle.test.ts: 40 s a file).
    // events.test.ts reads docs/, which Stryker's sandbox leaves out; sse.test.ts times
    // the gaps between events (it failed the initial run on the loaded machine), and
    // http-exchange's event-stream cases reach the same code. upstream-tls (2 s) checks the
    // 502's words for a TLS or other connect failure, which nothing else here reaches.
    tests: [
      "test/integration/http-exchange.test.ts",
      "test/integration/http-dispatch.test.ts",
      "test/integration/http-admission.test.ts",
      "test/integration/http-proxy.test.ts",
      "test/integration/http-response-path.test.ts",
      "test/integration/retries.test.ts",
      "test/integration/access-log.test.ts",
      "test/integration/sticky.test.ts",
      "test/integration/websocket.test.ts",
      "test/integration/slow-clients.test.ts",
      "test/integration/upstream-tls.test.ts",
    ],
    timeoutMS: 30_000,
  },
  "http-session": {
    about: "the HTTP/1.1 session: connection state, pipelining, keep-alive, timers (src/gateway/http/session.ts)",
    mutate: ["src/gateway/http/session.ts"],
    // http's list without the codec's and the pure http tests (they never reach the
    // session) and without vtc.test.ts (varnishtest; its cases are the session's
    // refusals, which http-session.test.ts checks itself); with proxy-protocol (a PROXY
    // header's client, and a TLS connection's `secure`) and http-admission (a connection's
    // first request is the one admission counts), which http lacks. The session's
    // own test first: it kills most mutants, and a killed mutant stops at the first failure.
    tests: [
      "test/integration/http-session.test.ts",
      "test/integration/http-proxy.test.ts",
      "test/integration/http-exchange.test.ts",
      "test/integration/http-response-path.test.ts",
      "test/integration/http-admission.test.ts",
      "test/integration/access-log.test.ts",
      "test/integration/retries.test.ts",
      "test/integration/sse.test.ts",
      "test/integration/slow-clients.test.ts",
      "test/integration/proxy-protocol.test.ts",
    ],
    timeoutMS: 30_000,
  },
  "http-sse": {
    about: "event streams through an HTTP/1.1 exchange, the byte-level part (src/gateway/http/sse.ts)",
    mutate: ["src/gateway/http/sse.ts"],
    // Every response head asks isEventStream, so every HTTP test reaches this file; only
    // these can tell its mutants apart: the pure tables first, then the streams on the
    // wire (heartbeats, idle end, graceful stop inside and between events).
    tests: [
      "src/gateway/http/sse.test.ts",
      "test/integration/sse.test.ts",
      "test/integration/http-exchange.test.ts",
    ],
    timeoutMS: 30_000,
  },
  codec: {
    about: "the HTTP/1 codec, bytes in, offsets out (src/codec/http1; fuzz tests on a fixed seed)",
    mutate: ["src/codec/http1/*.ts"],
    // The table tests first: a killed mutant stops at the first failing file.
    tests: [
      "src/codec/http1/head.test.ts",
      "src/codec/http1/body.test.ts",
      "src/codec/http1/dechunk.test.ts",
      "src/codec/http1/write.test.ts",
      "src/codec/http1/head.differential.test.ts",
      "src/codec/http1/head.fuzz.test.ts",
    ],
    // 20k mutated heads instead of 200k: the fuzz file runs for every surviving mutant.
    env: { FUZZ_SEED: "15", FUZZ_ITERATIONS: "20000" },
  },
  // The other codecs, each with its own pure tests only (bytes in, offsets out): the
  // tables first (a killed mutant stops at the first failing file), then the seeded
  // fuzzer with a smaller budget, since a surviving mutant runs every file that reaches
  // it. The gateway's real-socket files reach these codecs too but cannot tell more
  // apart than the tables, at seconds a file instead of milliseconds.
  "codec-proxy": {
    about: "the PROXY protocol codec: v1/v2 parser, encoder, IP text and bytes (src/codec/proxy; fuzz on a fixed seed)",
    mutate: ["src/codec/proxy/*.ts"],
    tests: [
      "src/codec/proxy/header.test.ts",
      "src/codec/proxy/ip.test.ts",
      "src/codec/proxy/encode.test.ts",
      "src/codec/proxy/proxy.fuzz.test.ts",
    ],
    // 5k mutated headers instead of 30k (proxy.fuzz.test.ts reads FUZZ_ITERATIONS).
    env: { FUZZ_SEED: "15", FUZZ_ITERATIONS: "5000" },
  },
  "codec-tls": {
    about: "the TLS ClientHello peek and the server-name table (src/codec/tls; fuzz on a fixed seed)",
    mutate: ["src/codec/tls/*.ts"],
    // The name table's and the hello's edge tables first; client-hello.test.ts holds real
    // ClientHellos captured from node:tls on loopback and the fuzzer (FUZZ_ITERATIONS,
    // 20k by default: 4k here).
    tests: ["src/codec/tls/server-name.test.ts", "src/codec/tls/client-hello-edges.test.ts", "src/codec/tls/client-hello.test.ts"],
    env: { FUZZ_SEED: "15", FUZZ_ITERATIONS: "4000" },
  },
  "codec-ws": {
    about: "the WebSocket frame tracker, pong filter and frame builders (src/codec/ws; fuzz on a fixed seed)",
    mutate: ["src/codec/ws/*.ts"],
    tests: [
      "src/codec/ws/build.test.ts",
      "src/codec/ws/frames.test.ts",
      "src/codec/ws/frames-edges.test.ts",
      "src/codec/ws/pong-filter.test.ts",
      "src/codec/ws/frames.fuzz.test.ts",
    ],
    // frames.fuzz.test.ts reads FUZZ_WS_ROUNDS (300 rounds a property by default): 100.
    env: { FUZZ_SEED: "15", FUZZ_WS_ROUNDS: "100" },
  },
  tunnel: {
    about: "WebSocket and upgrade tunnels (src/gateway/tunnel)",
    mutate: ["src/gateway/tunnel/*.ts"],
    // websocket: echo, idle, the gateway's pings and the blind fallback; tcp: TCP tunnels
    // (half-close, a client's reset, idle); upstream-half-close: a server that ends its side
    // first; upstream-pool: maxLifetime closes of a WebSocket and a TCP tunnel; the fuzzers
    // run on a fixed seed (below). lifecycle.test.ts reaches them too but is lifecycle's:
    // at 40 s a file (drains of 1,000 WebSockets) it made this run hours long.
    tests: [
      "src/gateway/tunnel/*.test.ts",
      "test/integration/websocket.test.ts",
      "test/integration/websocket.fuzz.test.ts",
      "test/integration/ws-server-gone.test.ts",
      "test/integration/tcp.test.ts",
      "test/integration/tunnel*.test.ts",
      "test/integration/upstream-half-close.test.ts",
      "test/integration/upstream-pool.test.ts",
    ],
    timeoutMS: 30_000,
    // The seed of the runs in docs/testing.md: a run with the fuzzers can be repeated.
    env: { FUZZ_SEED: "1" },
  },
  "tunnel-ws": {
    about: "the WebSocket frame tracker alone (src/gateway/tunnel/ws-tracking.ts; a fast run)",
    mutate: ["src/gateway/tunnel/ws-tracking.ts"],
    // A narrower list than tunnel's, for a run on a loaded machine: the tracker's own
    // tests (step by step on fakes, and the seeded fuzzer), then the real-socket files for
    // what fakes do not show: a vanished server's 1012 and a drain's close frame. A mutant
    // these miss may still be killed by tunnel's list (its score is a lower bound).
    tests: [
      "src/gateway/tunnel/ws-tracking.test.ts",
      "src/gateway/tunnel/ws-tracking.fuzz.test.ts",
      "test/integration/ws-server-gone.test.ts",
      "test/integration/tunnel-close.test.ts",
    ],
    timeoutMS: 30_000,
    env: { FUZZ_SEED: "1" },
  },
  "tunnel-ends": {
    about: "a tunnel's ends and closes (src/gateway/tunnel/tunnel.ts; a fast run)",
    mutate: ["src/gateway/tunnel/tunnel.ts"],
    // A narrower list than tunnel's, for a run on a loaded machine: the four quick
    // real-socket files on how a tunnel's sides end, reset and close (a vanished server,
    // half-closes either way, a client's reset, a drain's close handshake), without the
    // heavy ones (500 WebSockets, 32 MiB transfers, maxLifetime). Its score is a lower bound.
    tests: TUNNEL_ENDS_TESTS,
    timeoutMS: 30_000,
  },
  // The whole of tunnel.ts on a loaded machine: tunnel-ends' four files plus three files
  // that reach what they miss: tunnel-backpressure (onDrain, the pauses on a full
  // buffer, the byte counters) and websocket (the tracker's start, the gateway's pings,
  // the blind fallback, the idle deadline), and tunnel.test.ts (a deadline in each of the
  // wheel's slots, on a clock the test sets). Not the fuzzers, upstream-pool nor the
  // tracker's own tests, which make tunnel's run hours long. Its score is a lower bound.
  "tunnel-file": {
    about: "all of src/gateway/tunnel/tunnel.ts (a run that fits a loaded machine)",
    mutate: ["src/gateway/tunnel/tunnel.ts"],
    tests: [...TUNNEL_ENDS_TESTS, "test/integration/tunnel-backpressure.test.ts", "test/integration/websocket.test.ts", "src/gateway/tunnel/tunnel.test.ts"],
    timeoutMS: 30_000,
  },
  tcp: {
    about: "the L4 data plane: tcp sessions and routes, PROXY accept, connection limits",
    mutate: ["src/gateway/tcp/*.ts", "src/gateway/proxy-accept.ts", "src/gateway/limits.ts"],
    tests: [
      "src/gateway/tcp/router.test.ts",
      "test/integration/tcp.test.ts",
      "test/integration/tcp-edges.test.ts",
      "test/integration/sni-passthrough.test.ts",
      "test/integration/proxy-protocol.test.ts",
      "test/integration/limits.test.ts",
    ],
    timeoutMS: 30_000,
  },
  // The HTTP/2 front. The pure tables first (request.ts's refusals, the h2c preface),
  // then h2-edges (the stream's and session's edges, raw frames and node:http2), then the
  // quick real-socket files that speak HTTP/2 to the gateway: h2-policies (1 s: admission
  // and stickiness per connection, h2 and h2c), h2.test (7 s: bodies both ways, resets,
  // SSE, extended CONNECT, the smuggling table, GOAWAY on a stop), proxy-protocol (5 s: a
  // PROXY client's address on an h2 session). Left out: h2-lifecycle (5.5 s, steady load
  // under reloads and drains: the GOAWAY it reaches, h2.test reaches too) and sse-h2-stop
  // (its process test binds the default admin port 127.0.0.1:9900: when another run holds
  // it, the file fails or hangs, a false kill or timeout for every mutant it reaches).
  h2: {
    about: "the HTTP/2 front: sessions, streams, the h2→h1 request, the response, the h2c preface (src/gateway/h2)",
    mutate: ["src/gateway/h2/*.ts"],
    tests: [
      "src/gateway/h2/*.test.ts",
      "test/integration/h2-edges.test.ts",
      "test/integration/h2-policies.test.ts",
      "test/integration/h2.test.ts",
      "test/integration/proxy-protocol.test.ts",
    ],
    timeoutMS: 30_000,
  },
  // request.ts alone, with its own table: under h2's list a mutant's files take 20–30 s
  // on a loaded machine (226 mutants: hours), where the table decides each in about 2 s.
  // A lower bound: the wire tests of h2's list can only kill more.
  "h2-request": {
    about: "the h2→h1 request and its refusals, by its own table (src/gateway/h2/request.ts; a fast run)",
    mutate: ["src/gateway/h2/request.ts"],
    tests: ["src/gateway/h2/request.test.ts"],
  },
  // TLS termination: the ticket keys' own table, then tls-edges (new), tls.test (3 s:
  // SNI, tickets, minVersion, reloads of certificates), h2-policies (1 s: ALPN h2) and
  // proxy-protocol (5 s: a handshake after a clear-text PROXY header).
  "tls-front": {
    about: "TLS termination: certificates by SNI, ALPN, tickets, reloads (src/gateway/tls)",
    mutate: ["src/gateway/tls/*.ts"],
    tests: [
      "src/gateway/tls/*.test.ts",
      "test/integration/tls-edges.test.ts",
      "test/integration/tls.test.ts",
      "test/integration/h2-policies.test.ts",
      "test/integration/proxy-protocol.test.ts",
    ],
    timeoutMS: 30_000,
  },
  // The http listener's accept side: every HTTP test reaches it, these tell its branches
  // apart: listener-edges (new), limits (1 s: refusals in clear text and under TLS, with
  // PROXY, across a reload), proxy-protocol (5 s: PROXY before HTTP/1.1, TLS and h2),
  // h2-policies (1 s: ALPN h2, h2c, HTTP/1.1 beside h2c), tls (3 s: certificates
  // reloaded), h2.test (7 s: the h2c listener's HTTP/1.1 clients and the per-protocol
  // counters). limits.test.ts's workers test is limits-workers.test.ts now: its gateway
  // runs in child processes (no mutant of this file is ever killed there), and its waits
  // on three processes starting and answering failed this module's dry run at load 20.
  "http-listener": {
    about: "the http listener's accept side: limits, PROXY, TLS, ALPN and the h2c preface (src/gateway/http/listener.ts)",
    mutate: ["src/gateway/http/listener.ts"],
    tests: [
      "test/integration/listener-edges.test.ts",
      "test/integration/limits.test.ts",
      "test/integration/proxy-protocol.test.ts",
      "test/integration/h2-policies.test.ts",
      "test/integration/tls.test.ts",
      "test/integration/h2.test.ts",
    ],
    timeoutMS: 30_000,
  },
  lifecycle: {
    about: "drain, reload and rebalancing (src/control/drainer.ts, reload.ts, rebalancer.ts)",
    mutate: ["src/control/drainer.ts", "src/control/reload.ts", "src/control/rebalancer.ts"],
    // reload.ts is reached in-process only by reload.test.ts (the CLI and admin tests run
    // it in a child process, out of Stryker's sight); maxLifetime is upstream-pool's.
    // The rebalancer's own tests come before lifecycle.test.ts: a killed mutant stops at
    // the first failing file.
    tests: [
      "src/control/drainer.test.ts",
      "src/control/rebalancer.test.ts",
      "test/integration/rebalance.test.ts",
      "test/integration/lifecycle.test.ts",
      "test/integration/reload.test.ts",
      "test/integration/upstream-pool.test.ts",
      "test/integration/sse-drain.test.ts",
    ],
    timeoutMS: 30_000,
  },
  // lifecycle's list runs lifecycle.test.ts (40 s a file: 1,000 and 900 WebSockets) for
  // every mutant of the rebalancer it reaches. The runner's own tests on fakes and a fake
  // clock decide almost every mutant; one quick real-socket file shows the 1012 and its
  // retry-after on the wire (a rebalance after a reload, a tunnel's maxLifetime).
  // src/core/plan's rebalance tests never import this file: they are core-plan's.
  "lifecycle-rebalance": {
    about: "the rebalance and maxLifetime runner alone (src/control/rebalancer.ts; a fast run)",
    mutate: ["src/control/rebalancer.ts"],
    tests: ["src/control/rebalancer.test.ts", "test/integration/rebalance.test.ts"],
    timeoutMS: 30_000,
  },
  // Every data-plane test reaches the wheel: under a module with sockets each of its
  // surviving mutants would run them all. Its own tests on a fake clock decide it.
  "gateway-wheel": {
    about: "the coarse timer wheel (src/gateway/timer-wheel.ts; a fast run)",
    mutate: ["src/gateway/timer-wheel.ts"],
    tests: ["src/gateway/timer-wheel.test.ts"],
  },
  // A backend's selection, limits, ejection and reload update, on a fake clock (the
  // selector's and the update's tests); reload.test.ts for update() through a real reload.
  "gateway-backend": {
    about: "a backend's live state: selection, maxConn, admission, ejection, update (src/gateway/backend.ts)",
    mutate: ["src/gateway/backend.ts"],
    tests: ["src/gateway/backend.test.ts", "src/gateway/backend-update.test.ts", "test/integration/reload.test.ts"],
    timeoutMS: 30_000,
  },
  // reload.ts is reached in process only by reload.test.ts (the CLI and admin tests run
  // it in a child process, out of Stryker's sight): that file alone, without lifecycle's
  // slow ones.
  "lifecycle-reload": {
    about: "a reload from a file (src/control/reload.ts; a fast run)",
    mutate: ["src/control/reload.ts"],
    tests: ["test/integration/reload.test.ts"],
    timeoutMS: 30_000,
  },
};

/** The Stryker config for one module; `only` narrows `mutate` to some of its files. */
export function strykerConfig(name: string, mod: MutationModule, only: string[] = [], incremental = false): Record<string, unknown> {
  return {
    $schema: "../node_modules/@stryker-mutator/core/schema/stryker-schema.json",
    testRunner: "tap",
    tap: {
      testFiles: mod.tests,
      nodeArgs: ["--test-reporter=tap", "--test-timeout=120000"],
      forceBail: true,
    },
    coverageAnalysis: "perTest",
    // A mutant in module-level code would run every test file of the module: too slow
    // on two cores. They are counted as ignored in the report.
    ignoreStatic: true,
    mutate: [...(only.length > 0 ? only : mod.mutate), ...NOT_SOURCE],
    // Node strips the types; a mutant that does not type-check still runs.
    checkers: [],
    disableTypeChecks: true,
    // Two cores: one test file per core. MUTATE_CONCURRENCY=1 when two runs share them.
    concurrency: concurrency(),
    timeoutMS: mod.timeoutMS ?? 10_000,
    timeoutFactor: 2,
    ignorePatterns: ["dist", "bench/results", ".holdfast", ".cache", "reports", "docs", ".stryker-tmp"],
    // One directory per run: two runs at once do not clean each other's sandboxes.
    tempDirName: `.stryker-tmp/${name}-${process.pid}`,
    cleanTempDir: true,
    incremental,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    reporters: ["clear-text", "progress", "html", "json"],
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
  };
}

/** Stryker's concurrency: `MUTATE_CONCURRENCY` (a positive integer) or 2. */
export function concurrency(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MUTATE_CONCURRENCY;
  if (raw === undefined || raw === "") return 2;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`MUTATE_CONCURRENCY must be a positive integer, got "${raw}"`);
  return n;
}

function usage(): string {
  const rows = Object.entries(MODULES).map(([k, m]) => `  ${k.padEnd(13)} ${m.about}`);
  return ["usage: npm run mutate -- <module> [file ...] [--incremental]", "modules:", ...rows].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const incremental = args.includes("--incremental");
  const [name, ...only] = args.filter((a) => a !== "--incremental");
  const mod = name === undefined ? undefined : MODULES[name];
  if (name === undefined || mod === undefined) {
    console.error(name === undefined ? usage() : `unknown module "${name}"\n${usage()}`);
    process.exit(name === undefined ? 0 : 2);
  }
  const dir = join(ROOT, ".stryker-tmp");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `stryker.${name}.json`);
  writeFileSync(file, JSON.stringify(strykerConfig(name, mod, only, incremental), null, 2));
  // The tap runner spawns `node` from PATH: make it this Node (24), not the system's.
  const env = { ...mod.env, ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` };
  const cli = join(ROOT, "node_modules/@stryker-mutator/core/bin/stryker.js");
  const run = spawnSync(process.execPath, [cli, "run", file], { cwd: ROOT, stdio: "inherit", env });
  process.exit(run.status ?? 1);
}
