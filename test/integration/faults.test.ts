import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";
import { until } from "../support/wait.ts";

/**
 * Backends that fail the ways real ones do (issue 14 part 4): frozen by SIGSTOP, reset in
 * the middle of a response, accepting and never answering, answering garbage. Each
 * time the client gets a clear answer (or a clean cut once bytes are on their way),
 * the gateway keeps serving the others, and nothing is left hanging.
 */

/** A node:http backend in its own process (so it can be SIGSTOPped); answers "<name> <url>". */
async function childBackend(name: string): Promise<{ port: number; proc: ChildProcess; close(): Promise<void> }> {
  const src = `const http = require("node:http");
    const s = http.createServer((q, r) => { q.resume(); r.end(${JSON.stringify(name)} + " " + q.url); });
    s.keepAliveTimeout = 60000;
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  const proc = spawn(process.execPath, ["-e", src], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(proc.stdout!, "data")) as [Buffer];
  return {
    port: Number(line.toString().trim()),
    proc,
    close: async () => {
      proc.kill("SIGCONT");
      proc.kill("SIGKILL");
      if (proc.exitCode === null && proc.signalCode === null) await once(proc, "exit");
    },
  };
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`, 5000);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r.text)?.[1] ?? 0);
  return { status, body: r.text.slice(r.text.indexOf("\r\n\r\n") + 4) };
}

test("a backend frozen by SIGSTOP: 504 after timeouts.server, it is ejected, the other serves; after SIGCONT it is back", async () => {
  const [s1, s2] = await Promise.all([childBackend("s1"), childBackend("s2")]);
  const gw = await startGateway(simpleConfig([{ name: "s1", port: s1.port }, { name: "s2", port: s2.port }],
    "    timeouts: { server: 400ms }\n    passive: { consecutiveFailures: 1, ejectTime: 1s }"));
  try {
    s1.proc.kill("SIGSTOP");
    const frozen = gw.gw.backends.get("b")!.servers[0]!;
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await get(gw.port(), `/r${i}`));
    const timeouts = answers.filter((a) => a.status === 504);
    assert.ok(timeouts.length >= 1 && timeouts.length <= 2, `504s: ${answers.map((a) => a.status).join(" ")}`);
    assert.match(timeouts[0]!.body, /did not answer in time/);
    assert.ok(answers.slice(-8).every((a) => a.status === 200 && a.body.startsWith("s2 ")), "after the ejection every request goes to s2");
    // Counted, not timed: a request that waited out the frozen server and was then sent
    // to s2 would be a 200 too, but one more attempt on s1.
    assert.ok(frozen.stats.requests <= 2, `${frozen.stats.requests} attempts on the frozen server: a frozen server must cost one timeout, not one per request`);
    s1.proc.kill("SIGCONT");
    // Back once its ejection ends (1 s, growing on repeats), whatever timed out meanwhile;
    // 20 s rules out "never", not a slow machine.
    const deadline = performance.now() + 20_000;
    let seen = "";
    while (!seen.startsWith("s1 ")) {
      assert.ok(performance.now() < deadline, "s1 serves again within 20 s of SIGCONT");
      seen = (await get(gw.port(), "/back")).body;
      await sleep(50);
    }
  } finally {
    await gw.close();
    await s1.close();
    await s2.close();
  }
});

test("a backend that resets in the middle of a response: the client sees the cut, the next request is served", async () => {
  let n = 0;
  const be = await tcpBackend((s) => {
    s.once("data", () => {
      if (n++ === 0) {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        s.write(Buffer.alloc(1000, 0x61), () => s.resetAndDestroy());
      } else s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    s.on("error", () => {});
  });
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }]));
  try {
    const cut = await rawExchange(gw.port(), "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", 5000);
    assert.ok(cut.closed, "the client connection is closed, not left waiting for the rest");
    assert.match(cut.text, /^HTTP\/1\.1 200 /);
    const body = cut.text.slice(cut.text.indexOf("\r\n\r\n") + 4);
    assert.ok(body.length <= 1000, `the client got ${body.length} bytes: never more than the server sent, never padded`);
    const next = await get(gw.port(), "/next");
    assert.equal(next.status, 200);
    assert.equal(next.body, "ok");
    assert.equal(gw.gw.sessions.size, 0, "no session left behind");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a backend that accepts and never answers: 504 after timeouts.server and its connection is closed", async () => {
  let closed = 0;
  const be = await tcpBackend((s) => {
    // Reads (and ignores) the request; allowHalfOpen: the gateway's close shows as an end.
    s.resume();
    s.on("end", () => closed++);
    s.on("error", () => {});
  });
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }], "    timeouts: { server: 300ms }"));
  try {
    const t0 = performance.now();
    const r = await get(gw.port(), "/silent");
    const took = performance.now() - t0;
    assert.equal(r.status, 504);
    assert.match(r.body, /did not answer in time/);
    assert.ok(took >= 250 && took < 10_000, `answered after ${Math.round(took)} ms (timeouts.server is 300 ms; the upper bound rules out waiting for ever, not a slow machine)`);
    await until(() => closed === 1, 2000, "the gateway to close its connection to the silent server");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a backend that answers garbage: 502 saying so, the connection to it closed", async () => {
  let closed = 0;
  const be = await tcpBackend((s) => {
    s.once("data", () => s.write("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    s.on("end", () => closed++);
    s.on("error", () => {});
  });
  const gw = await startGateway(simpleConfig([{ name: "s1", port: be.port }]));
  try {
    const r = await get(gw.port(), "/garbage");
    assert.equal(r.status, 502);
    assert.match(r.body, /malformed response/);
    await until(() => closed === 1, 2000, "the gateway to close its connection to the garbage server");
  } finally {
    await gw.close();
    await be.close();
  }
});
