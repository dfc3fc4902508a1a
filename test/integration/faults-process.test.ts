import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket, WebSocketServer } from "ws";
import { deadPort, httpBackend } from "../support/backends.ts";
import { BIN } from "../support/cli.ts";
import { rawExchange } from "../support/raw.ts";
import { PROCESS_START_MS, waitFor, within } from "../support/wait.ts";
import { concurrentTests } from "../support/concurrent.ts";

// Three tests at a time: each owns its gateway, servers and clients, and most of each
// is waiting on a timeout or a drain (test/support/concurrent.ts).
const tests = concurrentTests(3);

/**
 * The gateway process itself in trouble (issue 14 part 4): killed with SIGKILL under
 * WebSocket load and started again, its stdout (the access log) on a full disk, and too
 * few file descriptors. Each runs the real `holdfast gateway` as a child process.
 */

interface Gw {
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `holdfast gateway -c file`, optionally through `sh -c 'ulimit -n N; exec ...'`, stdout to `stdoutFd`. */
async function gateway(file: string, port: number, opts: { ulimit?: number; stdoutFd?: number } = {}): Promise<Gw> {
  const cmd = opts.ulimit === undefined ? process.execPath : "/bin/sh";
  const args = opts.ulimit === undefined ? [BIN, "gateway", "-c", file] : ["-c", `ulimit -n ${opts.ulimit} && exec "$0" "$@"`, process.execPath, BIN, "gateway", "-c", file];
  const proc = spawn(cmd, args, { stdio: ["ignore", opts.stdoutFd ?? "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  // Fails with what it printed (not after a fixed wait) when it exits, and never leaves
  // it running behind a failed test. PROCESS_START_MS: a loaded machine can take long to start Node.
  try {
    await waitFor(`the gateway to listen on ${port}`, () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the gateway exited (${proc.exitCode ?? proc.signalCode}): ${err}`);
      return canConnect(port);
    }, PROCESS_START_MS, 50);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  return {
    proc,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGKILL");
      await once(proc, "exit");
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

function yaml(web: number, admin: number, backendPort: number, extra = ""): string {
  return `admin: { listen: 127.0.0.1:${admin} }
workers: 1
shutdown: { delay: 0s, timeout: 2s }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:${web}, routes: [ { backend: b } ]${extra} }
backends:
  b: { servers: [ { name: s1, address: 127.0.0.1:${backendPort} } ] }
`;
}

async function tunnels(admin: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${admin}/api/backends`);
  return ((await r.json()) as { totals: { tunnels: number } }).totals.tunnels;
}

tests.test("SIGKILL under WebSocket load, then a restart: every client comes back, the dashboard counts exactly them", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(m)));
  const web = await deadPort();
  const admin = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-kill-"));
  const file = join(dir, "gw.yaml");
  writeFileSync(file, yaml(web, admin, (wss.address() as { port: number }).port));
  const N = 100;
  let running = true;
  let reconnects = 0;
  const open = new Set<WebSocket>();
  // Clients that reconnect after 50–150 ms, as the SDK would (with backoff) after a 1006.
  const client = async (): Promise<void> => {
    while (running) {
      const ws = new WebSocket(`ws://127.0.0.1:${web}/`);
      ws.on("error", () => {});
      const opened = await new Promise<boolean>((r) => {
        ws.once("open", () => r(true));
        ws.once("close", () => r(false));
      });
      if (opened) {
        open.add(ws);
        await once(ws, "close");
        open.delete(ws);
        if (running) reconnects++;
      }
      await sleep(50 + Math.random() * 100);
    }
  };
  let gw = await gateway(file, web);
  const loops = Array.from({ length: N }, () => client());
  try {
    await waitFor(`${N} WebSockets open`, () => open.size === N, 15_000);
    assert.equal(await tunnels(admin), N);
    gw.proc.kill("SIGKILL");
    await once(gw.proc, "exit");
    await waitFor("every client to see the connection drop", () => open.size === 0, 10_000);
    gw = await gateway(file, web);
    await waitFor(`${N} WebSockets open again`, () => open.size === N, 20_000);
    // Each client's connection dropped once, at the kill, and opened once again.
    assert.equal(reconnects, N);
    // The new process counts the live tunnels, nothing from before.
    await waitFor("the dashboard to count exactly the clients", async () => (await tunnels(admin)) === N, 5000);
    const echo = await within(Promise.all([...open].slice(0, 10).map(async (ws) => {
      ws.send("ping");
      const [m] = (await once(ws, "message")) as [Buffer];
      return m.toString();
    })), 10_000, "10 echoes through the restarted gateway");
    assert.deepEqual(echo, Array(10).fill("ping"));
  } finally {
    running = false;
    for (const ws of open) ws.terminate();
    await gw.stop();
    await Promise.all(loops);
    wss.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

tests.test("the access log's disk is full (stdout on /dev/full): the gateway keeps serving and says so once on stderr", async () => {
  const be = await httpBackend("s1");
  const web = await deadPort();
  const admin = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-full-"));
  const file = join(dir, "gw.yaml");
  writeFileSync(file, yaml(web, admin, be.port, ", accessLog: true"));
  const full = openSync("/dev/full", "w");
  const gw = await gateway(file, web, { stdoutFd: full }).finally(() => closeSync(full));
  try {
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`http://127.0.0.1:${web}/r${i}`);
      assert.equal(r.status, 200);
      await r.text();
    }
    await waitFor("the warning on stderr", () => /access log write failed/.test(gw.stderr()), 5000);
    assert.equal(gw.stderr().match(/access log write failed/g)?.length, 1, "one warning, not one per line");
    assert.equal(gw.proc.exitCode, null, "still running");
    assert.doesNotMatch(gw.stderr(), /Unhandled|ENOSPC[^"]*\n\s+at /);
  } finally {
    await gw.stop();
    await be.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

tests.test("out of file descriptors (ulimit -n 64): a new connection is closed unanswered, not left hanging; it recovers when some close", async () => {
  const be = await httpBackend("s1");
  const web = await deadPort();
  const admin = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-fds-"));
  const file = join(dir, "gw.yaml");
  writeFileSync(file, yaml(web, admin, be.port));
  const gw = await gateway(file, web, { ulimit: 64 });
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 80; i++) {
      const s = connect(web, "127.0.0.1");
      s.on("error", () => {});
      held.push(s);
    }
    await sleep(500);
    // rawExchange gives up after 5 s (closed: false): a bound that rules out a hang, not a speed.
    const starved = await rawExchange(web, "GET /starved HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
    assert.ok(starved.closed, "with no fd left the connection is closed, not left hanging");
    assert.equal(starved.text, "", "no fd left for a session: nothing was answered (the test really ran out)");
    for (const s of held) s.destroy();
    await waitFor("a request to be served again", async () => {
      const r = await rawExchange(web, "GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 3000);
      return /^HTTP\/1\.1 200 /.test(r.text);
    }, 10_000, 100);
    assert.equal(gw.proc.exitCode, null, "still running");
  } finally {
    for (const s of held) s.destroy();
    await gw.stop();
    await be.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

tests.run("faults around a gateway process");
