// Load for the hub benchmark (bench/hub.ts): many minimal WebSocket clients speaking
// either holdfast.v1 or Socket.IO's wire format (engine.io 4 over WebSocket), and a
// publisher that goes through Redis the way another node would (holdfast: the Redis
// broker's publish script; Socket.IO: an emitter with @socket.io/redis-adapter). Both
// systems get the same client code, so the load side costs the same for both.
//
//   --mode=fanout  closed-loop throughput (at most --window publications in flight, counted
//                  in deliveries: a publication is done when all its subscribers read it),
//                  then publish→deliver latency at a fixed --rate. Every subscriber counts
//                  what it reads; after each phase the load waits until every delivery
//                  arrived, and the result says how many were missing or extra.
//   --mode=idle    server RSS before and after --channels × --subs idle subscribed sockets,
//                  each read after a full GC in the server (SIGUSR2, bench/lib/gc-on-signal.ts)
//   --mode=resume  time for a client to get --missed publications back on resubscribe
//
// Last stdout line: one JSON object of numbers.
import type net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { RedisBroker } from "../../src/hub/broker/redis.ts";
import { procTicks, rssKib } from "../lib/measure.ts";
import { connect, frame, parseArgs, percentile, round } from "./wsraw.ts";

const o = parseArgs(process.argv.slice(2), {
  system: "holdfast", mode: "fanout", port: 0, pid: 0, redis: "", prefix: "hfbench",
  channels: 1, subs: 5000, window: 32, duration: 5, warmup: 1, rate: 10, latency: 5, missed: 1000, repeats: 5, settle: 3,
});
const HOLDFAST = o.system === "holdfast";
const HISTORY = { size: 1000, ttlMs: 600_000 };
const enc = (s: string) => frame(1, Buffer.from(s));
const PONG = enc('{"type":"pong"}');
const SIO_PONG = enc("3");

// ------------------------------------------------------------------ one client

let delivered = 0;
const latencies: number[] = [];
let recording = false;

class Client {
  readonly sock: net.Socket;
  readonly channel: string;
  /** Parses publications to record publish→deliver latency. */
  probe = false;
  /** Publications this subscriber read. */
  count = 0;
  #buf: Buffer | null = null;
  /** Socket.IO: engine.io's open packet arrived; `40` (connect the namespace) is sent once both it and subscribe() happened. */
  #opened = false;
  #wantOpen = false;
  #onReply: ((text: string) => void) | null = null;

  constructor(sock: net.Socket, rest: Buffer, channel: string) {
    this.sock = sock;
    this.channel = channel;
    sock.on("data", (d: Buffer) => this.#data(d));
    sock.on("error", () => {});
    if (rest.length > 0) this.#data(rest);
  }

  send(text: string): void {
    this.sock.write(enc(text));
  }

  /** Resolves when subscribed. */
  subscribe(since?: { offset: number; epoch: string }): Promise<string> {
    return new Promise((resolve) => {
      this.#onReply = (text) => {
        if (HOLDFAST ? text.startsWith('{"id":2,"type":"subscribed"') : text.startsWith("431")) {
          this.#onReply = null;
          resolve(text);
        } else if (HOLDFAST && text.startsWith('{"id":1,"type":"connected"')) {
          this.send(JSON.stringify({ id: 2, type: "subscribe", channel: this.channel, since }));
        } else if (!HOLDFAST && text.startsWith("40")) {
          this.send(`421["subscribe",${JSON.stringify(this.channel)}]`);
        }
      };
      if (HOLDFAST) this.send('{"id":1,"type":"connect"}');
      else if (this.#opened) this.send("40");
      else this.#wantOpen = true;
    });
  }

  #data(d: Buffer): void {
    const b = this.#buf === null ? d : Buffer.concat([this.#buf, d]);
    let i = 0;
    for (;;) {
      if (b.length - i < 2) break;
      const op = b[i]! & 0x0f;
      let len = b[i + 1]! & 0x7f;
      let h = 2;
      if (len === 126) {
        if (b.length - i < 4) break;
        len = b.readUInt16BE(i + 2);
        h = 4;
      } else if (len === 127) {
        if (b.length - i < 10) break;
        len = b.readUInt32BE(i + 6);
        h = 10;
      }
      if (b.length - i < h + len) break;
      if (op === 1) this.#message(b, i + h, i + h + len);
      i += h + len;
    }
    // Keep only the unread tail (a copy, so a big chunk's buffer is not held for it).
    this.#buf = i === b.length ? null : Buffer.from(b.subarray(i));
  }

  #message(b: Buffer, start: number, end: number): void {
    if (HOLDFAST) {
      // {"type":"pub" ...: 0x7b 0x22 't' 'y' 'p' 'e' 0x22 0x3a 0x22 'p' 'u' 'b'
      if (b[start + 9] === 0x70 && b[start + 10] === 0x75 && b[start + 11] === 0x62 && b[start + 2] === 0x74) {
        delivered++;
        this.count++;
        if (this.probe && recording) this.#pub((JSON.parse(b.toString("utf8", start, end)) as { data: { s: number; t: number } }).data);
        return;
      }
      const text = b.toString("utf8", start, end);
      if (text === '{"type":"ping"}') this.sock.write(PONG);
      else this.#onReply?.(text);
      return;
    }
    // Socket.IO: "42[...]" an event, "2" a ping, "0{...}" the engine.io open, "40..." connected, "43..." an ack.
    if (b[start] === 0x34 && b[start + 1] === 0x32) {
      delivered++;
      this.count++;
      if (this.probe && recording) this.#pub((JSON.parse(b.toString("utf8", start + 2, end)) as [string, string, { s: number; t: number }])[2]);
      return;
    }
    if (end - start === 1 && b[start] === 0x32) {
      this.sock.write(SIO_PONG);
      return;
    }
    if (b[start] === 0x30) {
      this.#opened = true;
      if (this.#wantOpen) this.send("40");
      return;
    }
    this.#onReply?.(b.toString("utf8", start, end));
  }

  #pub(data: { s: number; t: number }): void {
    latencies.push(performance.now() - data.t);
  }
}

function open(channel: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const path = HOLDFAST ? "/connect" : "/socket.io/?EIO=4&transport=websocket";
    const headers = HOLDFAST ? "Sec-WebSocket-Protocol: holdfast.v1\r\n" : "";
    connect(o.port, (err, sock, rest) => (err || !sock ? reject(err ?? new Error("no socket")) : resolve(new Client(sock, rest ?? Buffer.alloc(0), channel))), { path, headers, timeoutMs: 60_000 });
  });
}

/** Opens and subscribes `channels × subs` clients, 200 at a time; client k of channel c is clients[c * subs + k]. */
async function openAll(): Promise<Client[]> {
  const specs: string[] = [];
  for (let k = 0; k < o.subs; k++) for (let c = 0; c < o.channels; c++) specs.push(`c:${c}`);
  const out: Client[] = [];
  for (let i = 0; i < specs.length; i += 200) {
    const batch = await Promise.all(specs.slice(i, i + 200).map(async (ch) => {
      const c = await open(ch);
      await c.subscribe();
      return c;
    }));
    out.push(...batch);
  }
  return out;
}

// ------------------------------------------------------------------ the publisher

interface Publisher {
  publish(channel: string, data: { s: number; t: number }): void;
  /** Resolves once everything sent so far reached Redis. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

async function publisher(): Promise<Publisher> {
  if (HOLDFAST) {
    const broker = new RedisBroker({ url: o.redis, prefix: o.prefix, node: "bench-publisher" });
    await broker.start({ publication() {}, join() {}, leave() {}, state() {} });
    let last: Promise<unknown> = Promise.resolve();
    return {
      publish(channel, data) {
        last = broker.publish(channel, { data: JSON.stringify(data), history: HISTORY }).catch(() => {});
      },
      flush: () => last.then(() => {}),
      close: () => broker.close(),
    };
  }
  const pub = createClient({ url: o.redis });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({ adapter: createAdapter(pub, sub, { key: o.prefix }) });
  return {
    publish(channel, data) {
      io.to(channel).emit("pub", channel, data);
    },
    flush: async () => {
      await pub.ping();
    },
    // An attached-to-nothing Server has no engine to close: only its Redis clients.
    close: async () => {
      await Promise.all([pub.quit().catch(() => {}), sub.quit().catch(() => {})]);
    },
  };
}

// ------------------------------------------------------------------ modes

/** Waits until `delivered` reaches `expected` (or `timeoutMs` passes); the seconds it took. */
async function drain(expected: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (delivered < expected && performance.now() - t0 < timeoutMs) await sleep(20);
  await sleep(200); // anything extra (a duplicate) still on its way
  return (performance.now() - t0) / 1000;
}

async function fanout(): Promise<Record<string, number | null>> {
  const t0 = performance.now();
  const clients = await openAll();
  const connectS = (performance.now() - t0) / 1000;
  const total = clients.length;
  // Latency probes: 100 subscribers spread over the channel (1 channel), or the last
  // subscriber of every channel (many channels).
  if (o.channels === 1) for (let i = 0; i < total; i += Math.max(1, Math.floor(total / 100))) clients[i]!.probe = true;
  else for (let c = 0; c < o.channels; c++) clients[(o.subs - 1) * o.channels + c]!.probe = true;
  const pub = await publisher();
  const sentTo = new Array<number>(o.channels).fill(0);
  let seq = 0;
  const publish = (): void => {
    seq++;
    const c = seq % o.channels;
    sentTo[c]!++;
    pub.publish(`c:${c}`, { s: seq, t: performance.now() });
  };
  await sleep(500);

  // Closed loop: at most `window` publications whose deliveries are not all read yet.
  // Counted in deliveries (each publication makes `subs` of them), so it does not
  // depend on the order in which a server writes to a channel's subscribers.
  let running = true;
  const loop = (async () => {
    let last = -1;
    while (running) {
      while (seq * o.subs - delivered < o.window * o.subs) publish();
      // Let the sockets deliver; yield without a timer when progress was made.
      if (delivered === last) await sleep(1);
      else await new Promise((r) => setImmediate(r));
      last = delivered;
    }
  })();
  await sleep(o.warmup * 1000);
  const d0 = delivered;
  const cpu0 = procTicks(o.pid);
  const w0 = performance.now();
  await sleep(o.duration * 1000);
  const d1 = delivered;
  const cpu1 = procTicks(o.pid);
  const secs = (performance.now() - w0) / 1000;
  running = false;
  await loop;
  await pub.flush();
  const drainS = await drain(seq * o.subs, 120_000);

  // Latency at a fixed rate, under the capacity of both systems; and the server's CPU
  // per delivery at that same rate (both systems then do the same work).
  recording = true;
  const fixedD0 = delivered;
  const fixedCpu0 = procTicks(o.pid);
  const lat0 = performance.now();
  let sent = 0;
  while (performance.now() - lat0 < o.latency * 1000) {
    const due = Math.floor(((performance.now() - lat0) / 1000) * o.rate);
    while (sent < due) {
      sent++;
      publish();
    }
    await sleep(2);
  }
  await pub.flush();
  await drain(seq * o.subs, 60_000);
  const fixedCpuS = (procTicks(o.pid) - fixedCpu0) / 100;
  const fixedDeliveries = delivered - fixedD0;
  recording = false;
  await pub.close();
  // Every subscriber must have read every publication of its channel, once.
  let lost = 0;
  let extra = 0;
  let short = 0;
  clients.forEach((cl, i) => {
    const want = sentTo[i % o.channels]!;
    if (cl.count < want) {
      lost += want - cl.count;
      short++;
    } else extra += cl.count - want;
  });
  for (const c of clients) c.sock.destroy();
  latencies.sort((a, b) => a - b);
  const deliveries = d1 - d0;
  const cpuS = (cpu1 - cpu0) / 100;
  return {
    connections: total,
    connect_s: round(connectS, 1),
    publications: seq,
    expected_deliveries: seq * o.subs,
    lost,
    extra,
    subscribers_short: short,
    drain_s: round(drainS, 2),
    deliveries,
    seconds: round(secs, 2),
    deliveries_per_s: Math.round(deliveries / secs),
    server_cpu_pct: round((100 * cpuS) / secs, 0),
    deliveries_per_cpu_s: cpuS > 0 ? Math.round(deliveries / cpuS) : null,
    latency_rate: o.rate,
    fixed_rate_deliveries: fixedDeliveries,
    fixed_rate_cpu_us_per_delivery: fixedDeliveries > 0 ? round((fixedCpuS * 1e6) / fixedDeliveries, 2) : null,
    latency_samples: latencies.length,
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
  };
}

/** The server's RSS after a full GC (it runs one on SIGUSR2, see bench/lib/gc-on-signal.ts). */
async function rssAfterGc(): Promise<number | null> {
  process.kill(o.pid, "SIGUSR2");
  await sleep(1000);
  return rssKib(o.pid);
}

async function idle(): Promise<Record<string, number | null>> {
  await sleep(o.settle * 1000);
  const before = await rssAfterGc();
  const clients = await openAll();
  await sleep(o.settle * 1000);
  const after = await rssAfterGc();
  for (const c of clients) c.sock.destroy();
  const n = clients.length;
  return { connections: n, rss_before_kib: before, rss_after_kib: after, kib_per_conn: before !== null && after !== null ? round((after - before) / n, 2) : null };
}

async function resume(): Promise<Record<string, number | null>> {
  const pub = await publisher();
  const times: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const channel = `r:${r}:${process.pid}`;
    const c = await open(channel);
    const first = JSON.parse(await c.subscribe()) as { offset: number; epoch: string };
    c.sock.destroy();
    for (let i = 1; i <= o.missed; i++) pub.publish(channel, { s: i, t: 0 });
    await pub.flush();
    const t0 = performance.now();
    const d = await open(channel);
    const reply = JSON.parse(await d.subscribe({ offset: first.offset, epoch: first.epoch })) as { recovered: boolean; publications: unknown[] };
    const ms = performance.now() - t0;
    if (!reply.recovered || reply.publications.length !== o.missed) throw new Error(`resume: recovered ${reply.recovered} with ${reply.publications.length} publications`);
    times.push(ms);
    d.sock.destroy();
  }
  await pub.close();
  times.sort((a, b) => a - b);
  return { missed: o.missed, repeats: o.repeats, resume_ms: round(percentile(times, 50), 1), resume_max_ms: round(times.at(-1) ?? null, 1) };
}

const result = o.mode === "fanout" ? await fanout() : o.mode === "idle" ? await idle() : await resume();
console.log(JSON.stringify(result));
process.exit(0);
