// What a failed connect leaves behind, as the admin API, the metrics and the access log
// show it: the server's connect failures and retries, the reason of its passive
// ejection, the retries of the request; and a connect that completes late is not one.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { events, on } from "../../src/gateway/diagnostics.ts";
import { deadPort, httpBackend, unacceptingPort } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";
import { waitFor } from "../support/wait.ts";

const PASSIVE = "    passive: { consecutiveFailures: 1, maxEjectedPercent: 100 }";

/** Every ejection and every finished exchange while `fn` runs, copied as they come. */
async function recording(fn: () => Promise<void>) {
  const ejected: { server: string; reason: string }[] = [];
  const finished: { server: string; status: number; retries: number }[] = [];
  const offs = [
    on(events.serverEjected, (m) => ejected.push({ server: m.server.name, reason: m.reason })),
    on(events.exchangeFinished, ({ record: r }) => finished.push({ server: r.server, status: r.status, retries: r.retries })),
  ];
  try {
    await fn();
  } finally {
    for (const off of offs) off();
  }
  return { ejected, finished };
}

const stats = (gw: TestGateway) =>
  Object.fromEntries(gw.gw.backends.get("b")!.servers.map((s) => [s.name, [s.stats.connectionsCreated, s.stats.connectFailures, s.stats.retries]]));

test("a refused connect: counted once on its server with one retry, the request served by the other with retries 1, the server ejected for 'connect failed'", async () => {
  const dead = await deadPort();
  const ok = await httpBackend("ok");
  const gw = await startGateway(simpleConfig([{ name: "dead", port: dead }, { name: "ok", port: ok.port }], `${PASSIVE}\n    balance: round-robin`));
  try {
    const seen = await recording(async () => {
      // Round-robin sends one of the two to the refusing server, whichever it starts with.
      for (let i = 0; i < 2; i++) assert.match((await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).text, /^HTTP\/1\.1 200 /);
    });
    assert.deepEqual(seen.ejected, [{ server: "dead", reason: "connect failed" }]);
    assert.deepEqual(seen.finished.map((f) => [f.server, f.status, f.retries]).sort(), [["ok", 200, 0], ["ok", 200, 1]]);
    // [connections made, connect failures, retries after a failure there]
    assert.deepEqual(stats(gw), { dead: [1, 1, 1], ok: [1, 0, 0] }, "the second request reused the pooled connection to ok");
  } finally {
    await gw.close();
    await ok.close();
  }
});

test("a connect timeout with one server: 504 after one attempt, no retry counted, the server ejected for 'connect timeout'", async () => {
  const stuck = await unacceptingPort();
  const gw = await startGateway(simpleConfig([{ name: "stuck", port: stuck.port }], `${PASSIVE}\n    timeouts: { connect: 200ms }`));
  try {
    const seen = await recording(async () => {
      const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 10_000);
      assert.match(text, /^HTTP\/1\.1 504 /);
    });
    assert.deepEqual(seen.ejected, [{ server: "stuck", reason: "connect timeout" }]);
    assert.deepEqual(seen.finished.map((f) => [f.status, f.retries]), [[504, 0]]);
    assert.deepEqual(stats(gw), { stuck: [1, 1, 0] });
  } finally {
    await gw.close();
    await stuck.close();
  }
});

test("a refused connect with one server, never ejected: 502 after that one attempt, not tried again on the same server", async () => {
  const dead = await deadPort();
  const gw = await startGateway(simpleConfig([{ name: "dead", port: dead }], "    retries: 2"));
  try {
    const { text } = await rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
    assert.match(text, /^HTTP\/1\.1 502 [^]*connection refused/);
    assert.deepEqual(stats(gw), { dead: [1, 1, 0] });
  } finally {
    await gw.close();
  }
});

/**
 * A listening port; `block()` fills its accept queue and stops the server accepting for
 * `ms`: a connect made meanwhile gets no SYN-ACK and completes on a retransmitted SYN,
 * a second or more later. Then it answers every request with 200 "late".
 */
async function lateAcceptingPort(ms: number) {
  const src = `const s = require("node:net").createServer((c) => c.on("data", () => c.end("HTTP/1.1 200 OK\\r\\nContent-Length: 4\\r\\nConnection: close\\r\\n\\r\\nlate")));
    s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => process.stdout.write(s.address().port + "\\n"));
    process.stdin.once("data", () => {
      process.stdout.write("blocking\\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms});
    });`;
  const proc = spawn(process.execPath, ["-e", src], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = (await once(proc.stdout!, "data")) as [Buffer];
  const fillers: Socket[] = [];
  return {
    port: Number(line.toString().trim()),
    async block(): Promise<void> {
      proc.stdin!.write("block\n");
      await once(proc.stdout!, "data");
      for (let i = 0; i < 2; i++) {
        const s = connect(this.port, "127.0.0.1");
        s.on("error", () => {});
        fillers.push(s);
        await once(s, "connect");
      }
    },
    async close(): Promise<void> {
      for (const s of fillers) s.destroy();
      proc.kill("SIGKILL");
      if (proc.exitCode === null && proc.signalCode === null) await once(proc, "exit");
    },
  };
}

/** True when some local socket is in SYN-SENT towards 127.0.0.1:`port` (iproute2's ss). */
function synSentTo(port: number): boolean {
  return execFileSync("ss", ["-Htn", "state", "syn-sent", `( dport = :${port} )`], { encoding: "utf8" }).trim() !== "";
}

test("a connect that completes late but within timeouts.connect is served, with no connect failure", async () => {
  const late = await lateAcceptingPort(1000);
  const gw = await startGateway(simpleConfig([{ name: "late", port: late.port }], "    timeouts: { connect: 20s }"));
  try {
    await late.block();
    const answer = rawExchange(gw.port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 30_000);
    // Late indeed: the gateway's connect waits for a SYN-ACK (a socket in SYN-SENT to the
    // server's port), which a connect to a server that accepts never shows for long.
    await waitFor("the gateway's connect to be left in SYN-SENT", () => synSentTo(late.port), 900);
    const { text } = await answer;
    assert.match(text, /^HTTP\/1\.1 200 [^]*late$/);
    assert.deepEqual(stats(gw), { late: [1, 0, 0] });
  } finally {
    await gw.close();
    await late.close();
  }
});
