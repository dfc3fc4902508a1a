// slowhttptest (Debian's package: a tool written by others for exactly this) attacks the
// gateway in each of its modes at a small scale — slowloris (-H), slow body (-B), slow
// read (-X) — while a normal client on another address sends request after request.
// Asserted: every normal request is answered 200; the attacker never holds more than
// limits.maxConnectionsPerClient connections; its connections end by the gateway's own
// timeouts (408 for slow heads and bodies, a cut for stalled readers); what the gateway
// buffers for them stays small. The throughput side (5,000 connections, normal req/s
// under attack next to nginx and HAProxy) is in the bench: bench/slow.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, request } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { AccessRecord } from "../../src/gateway/access-log.ts";
import { events, on } from "../../src/gateway/diagnostics.ts";
import { closeServer } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";

const PER_CLIENT = 60;
const ATTACK = 200; // connections slowhttptest tries to hold, more than PER_CLIENT
const SECONDS = 8;
const BIG = Buffer.alloc(1024 * 1024, "b");

/** Normal requests made during each attack, at least: the service is shown up throughout, not by one answer. */
const NORMAL_MIN = 5;

/**
 * A GET from 127.0.0.2 (not the attacker's 127.0.0.1): its status, or 0 on a failure.
 * Its 20 s timeout only rules out a hang: on a loaded machine the gateway, its backend
 * and this client share one event loop with the attack's traffic, and a request can
 * wait seconds (seen: more than 5 s at load 13).
 */
function normalGet(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ port, host: "127.0.0.1", localAddress: "127.0.0.2", path: "/", agent: false, timeout: 20_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Runs slowhttptest in `mode` (with `args(url)`) against a fresh gateway while a normal client sends requests. */
async function attack(mode: "-H" | "-B" | "-X", args: (url: string) => string[], seconds = SECONDS) {
  const backend = createServer((req, res) => {
    if (req.url === "/big") return void res.end(BIG);
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  const gw = await startGateway(`
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    limits: { maxConnectionsPerClient: ${PER_CLIENT} }
    timeouts: { requestHeaders: 2s, clientIdle: 5s }
    routes: [ { backend: b } ]
backends:
  b:
    timeouts: { server: 2s }
    servers: [ { name: a, address: 127.0.0.1:${(backend.address() as AddressInfo).port} } ]
`);
  // Every exchange this gateway ended for the attacker (127.0.0.1), by "status error code".
  const attacker = new Map<string, number>();
  const off = on(events.exchangeFinished, ({ plane, record }: { plane: object; record: AccessRecord }) => {
    if (plane !== gw.gw.data || record.client !== "127.0.0.1") return;
    const k = `${record.status} ${record.error ?? "-"}`;
    attacker.set(k, (attacker.get(k) ?? 0) + 1);
  });
  const limits = gw.gw.data.listenerLimits("web")!;
  let mostHeld = 0;
  let mostBuffered = 0;
  const watch = setInterval(() => {
    mostHeld = Math.max(mostHeld, limits.openFrom("127.0.0.1"));
    let buffered = 0;
    for (const s of gw.gw.data.sessions) buffered += (s.socket as Socket).writableLength;
    mostBuffered = Math.max(mostBuffered, buffered);
  }, 20);
  const atk = spawn("slowhttptest", [mode, "-c", String(ATTACK), "-r", "200", "-l", String(seconds), "-p", "2", ...args(`http://127.0.0.1:${gw.port()}/`)], { stdio: "ignore" });
  const startedAt = performance.now();
  const done = once(atk, "exit");
  const statuses: number[] = [];
  try {
    await sleep(1500); // the attacker opens its connections first
    const until = performance.now() + (SECONDS - 3) * 1000;
    while (performance.now() < until || statuses.length < NORMAL_MIN) {
      statuses.push(await normalGet(gw.port()));
      await sleep(20);
    }
    // Then until the gateway has closed every attacking connection, or the attacker
    // exits (its own closes prove nothing). Still running at that moment: the gateway
    // closed them itself. Waiting for it, not reading at a fixed time: on a loaded
    // machine slowhttptest opens its last connections late, and they time out later
    // (seen at load 20: 2 still open 6.5 s into the attack, cut afterwards).
    const running = () => atk.exitCode === null && atk.signalCode === null;
    // slowhttptest runs for `seconds`: 30 s past that it has hung.
    const deadline = startedAt + (seconds + 30) * 1000;
    while (running() && limits.openFrom("127.0.0.1") > 0) {
      if (performance.now() > deadline) throw new Error(`slowhttptest ${mode} still running ${seconds + 30} s after its start (-l ${seconds}), ${limits.openFrom("127.0.0.1")} of its connections open`);
      await sleep(20);
    }
    const attackerRunning = running();
    const left = limits.openFrom("127.0.0.1");
    atk.kill("SIGKILL"); // what it does after that is not looked at
    await done;
    clearInterval(watch);
    return { statuses, attacker, mostHeld, mostBuffered, left, attackerRunning, refused: limits.refusedClient };
  } finally {
    clearInterval(watch);
    atk.kill("SIGKILL");
    off();
    await gw.close();
    await closeServer(backend);
  }
}

function assertServed(r: Awaited<ReturnType<typeof attack>>): void {
  assert.deepEqual(r.statuses.filter((s) => s !== 200), [], "every normal request is answered 200 during the attack");
  assert.ok(r.mostHeld <= PER_CLIENT, `the attacker held ${r.mostHeld} connections (limit ${PER_CLIENT})`);
  assert.ok(r.refused > 0, "the attacker's connections beyond the limit were refused");
  assert.equal(r.left, 0, "the gateway closed every attacking connection by itself, by its timeouts");
}

/**
 * What the gateway ended for the attacker: the connections over the limit refused (a
 * 503, each logged), every connection it let in answered `408 <timeoutCode>`, and
 * slowhttptest's own probes (a plain request now and then, to see whether the service is
 * still up) answered 200; nothing else. At least as many 408s as it ever held at once
 * (it may have let in more, one per earlier connection timed out, on a machine slow
 * enough that slowhttptest is still opening them).
 */
function assertTimedOut(r: Awaited<ReturnType<typeof attack>>, timeoutCode: string): void {
  const out = Object.fromEntries(r.attacker);
  const timedOut = out[`408 ${timeoutCode}`] ?? 0;
  const probes = out["200 -"] ?? 0;
  assert.deepEqual(out, { "503 HF_ERR_CONNECTION_LIMIT": r.refused, [`408 ${timeoutCode}`]: timedOut, ...(probes > 0 ? { "200 -": probes } : {}) }, "the attacker's exchanges: refusals, 408s and probes only");
  assert.ok(timedOut >= r.mostHeld, `every connection held was answered 408: ${timedOut} 408s, ${r.mostHeld} held at most`);
}

test("slowhttptest -H (slowloris): heads time out with 408 at timeouts.requestHeaders, the rest is refused, normal clients are served", async (t) => {
  const r = await attack("-H", (url) => ["-i", "1", "-x", "10", "-t", "GET", "-u", url]);
  t.diagnostic(JSON.stringify({ ...r, statuses: r.statuses.length, notOk: r.statuses.filter((s) => s !== 200), attacker: Object.fromEntries(r.attacker) }));
  assertServed(r);
  assertTimedOut(r, "HF_ERR_HEAD_TIMEOUT");
});

test("slowhttptest -B (slow body, R-U-Dead-Yet): bodies get 408 at timeouts.server, not the server's failure; normal clients are served", async (t) => {
  const r = await attack("-B", (url) => ["-i", "1", "-s", "8192", "-x", "10", "-t", "POST", "-u", url]);
  t.diagnostic(JSON.stringify({ ...r, statuses: r.statuses.length, notOk: r.statuses.filter((s) => s !== 200), attacker: Object.fromEntries(r.attacker) }));
  assertServed(r);
  // Nothing blamed on the server (no 504 HF_ERR_UPSTREAM_TIMEOUT): only 408s and refusals.
  assertTimedOut(r, "HF_ERR_BODY_TIMEOUT");
});

test("slowhttptest -X (slow read, 1-2 byte window): stalled readers are cut, the gateway buffers little; normal clients are served", async (t) => {
  const slowRead = (url: string) => ["-k", "3", "-w", "1", "-y", "2", "-n", "1", "-z", "1", "-u", `${url}big`];
  // 12 s: its stalled readers are cut by the gateway's timeouts while it still runs.
  let r = await attack("-X", slowRead, 12);
  t.diagnostic(JSON.stringify({ ...r, statuses: r.statuses.length, notOk: r.statuses.filter((s) => s !== 200), attacker: Object.fromEntries(r.attacker) }));
  // An attack that never built up (it never held the limit's 60 connections, so none
  // was refused: seen at load 20, where its readers did not stall, its 1 MiB responses
  // went through and it exited early, and at load 13, where slowhttptest opened only 48
  // connections in its time) proves nothing either way: slowhttptest is run once more.
  if (r.refused === 0) {
    t.diagnostic("the slow-read attack did not build up: once more");
    r = await attack("-X", slowRead, 12);
    t.diagnostic(JSON.stringify({ ...r, statuses: r.statuses.length, notOk: r.statuses.filter((s) => s !== 200), attacker: Object.fromEntries(r.attacker) }));
  }
  assertServed(r);
  // slowhttptest still reads (a byte a second) while the gateway has already cut them all.
  assert.ok(r.attackerRunning, "the attacker was still running when its connections were found closed");
  // Each held connection may have up to a socket's write buffer waiting in the gateway.
  assert.ok(r.mostBuffered < PER_CLIENT * 1024 * 1024, `the gateway buffered ${r.mostBuffered} bytes for slow readers`);
});
