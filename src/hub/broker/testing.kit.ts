/**
 * Test support for the brokers (kept out of the build): the shared Redis at
 * `REDIS_URL` with a unique key prefix per use, a private `redis-server` on a spare port
 * for tests that kill, pause or restart it, and a TCP proxy that can silently stop
 * forwarding to a client (a half-open connection, as after some failovers).
 *
 * @example
 * const redis = await startRedisServer({ persist: true });
 * const broker = new RedisBroker({ url: redis.url });
 * await redis.kill(); await redis.restart();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { fixedPort } from "../../../test/support/ports.ts";

/** The shared test Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`). */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A prefix no other test run uses. */
export function uniquePrefix(name: string): string {
  return `hf-test:${name}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Fails with a clear message when the shared Redis cannot be reached (never a silent skip).
 *
 * @example
 * await requireRedis();
 */
export async function requireRedis(url: string = REDIS_URL): Promise<void> {
  const c = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.ping();
  } catch (e) {
    throw new Error(`these tests need Redis at ${url} (set REDIS_URL): ${(e as Error).message}`, { cause: e });
  } finally {
    if (c.isOpen) c.destroy();
  }
}

/**
 * Deletes every key under `prefix` (SCAN + UNLINK), on the shared Redis.
 *
 * @example
 * await deletePrefix(REDIS_URL, prefix);
 */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const c = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  c.on("error", () => {});
  try {
    await c.connect();
    for await (const keys of c.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) if (keys.length > 0) await c.unlink(keys);
  } finally {
    if (c.isOpen) c.destroy();
  }
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.setTimeout(500, () => (s.destroy(), resolve(false)));
      s.on("error", () => resolve(false));
      s.on("connect", () => s.write("PING\r\n"));
      s.on("data", (d) => (s.destroy(), resolve(d.toString().startsWith("+PONG"))));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: no goodbye to clients; with `persist`, what was acknowledged survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and, with `persist`, the same data). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/**
 * A private `redis-server` on a spare loopback port. `persist: true` keeps an
 * append-only file fsynced on every write, so a kill and restart keeps history.
 *
 * @example
 * const r = await startRedisServer();
 * try { ... } finally { await r.stop(); }
 */
export async function startRedisServer(opts: { persist?: boolean } = {}): Promise<PrivateRedis> {
  const port = await fixedPort();
  const dir = await mkdtemp(join(tmpdir(), "hf-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push(...(opts.persist ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
  let proc: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const p = spawn("redis-server", args, { stdio: "ignore" });
    proc = p;
    p.on("error", () => {});
    await waitForPing(port, 5000);
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p === undefined || p.exitCode !== null) return;
    const exited = once(p, "exit");
    p.kill("SIGKILL");
    await exited;
  };
  try {
    await launch();
  } catch (e) {
    await kill();
    throw new Error(`cannot start redis-server (is it installed?): ${(e as Error).message}`, { cause: e });
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FreezeProxy {
  readonly url: string;
  /** Stops forwarding Redis → client on every open connection that has sent SUBSCRIBE, without closing it. */
  freezeSubscribers(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `target` that can make subscriber connections go silent: the socket
 * stays open, nothing more arrives (what a half-open connection looks like).
 *
 * @example
 * const proxy = await freezeProxy(redis.port);
 * const broker = new RedisBroker({ url: proxy.url });
 * proxy.freezeSubscribers();
 */
export async function freezeProxy(target: number): Promise<FreezeProxy> {
  const pairs = new Set<{ client: Socket; server: Socket; subscriber: boolean; frozen: boolean }>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    const pair = { client, server: upstream, subscriber: false, frozen: false };
    pairs.add(pair);
    client.on("data", (d) => {
      if (/SUBSCRIBE/i.test(d.toString("latin1"))) pair.subscriber = true;
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (!pair.frozen) client.write(d);
    });
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    freezeSubscribers() {
      let n = 0;
      for (const p of pairs) {
        if (!p.subscriber || p.frozen) continue;
        p.frozen = true;
        n++;
      }
      return n;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
      await new Promise((r) => server.close(r));
    },
  };
}
