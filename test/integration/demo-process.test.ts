// `npm start` as a person runs it: the demo comes up as a child process, prints its
// tour, and every stop of the tour answers as the tour says (round-robin echo, the SSE
// ticker, the WebSocket echo, the refused request, both dashboards and their metrics,
// `holdfast status`); Ctrl-C stops it. The chat itself, in two browser tabs, is
// test/browser/demo-chat.test.ts's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { WebSocket } from "ws";
import { runCli } from "../support/cli.ts";
import { childPids } from "../support/procs.ts";
import { rawExchange } from "../support/raw.ts";
import { waitFor, within } from "../support/wait.ts";

const root = join(import.meta.dirname, "..", "..");

/** Every process under `pid`, depth first. */
const descendants = (pid: number): number[] => childPids(pid).flatMap((c) => [c, ...descendants(c)]);

test("npm start: the demo's printed tour works step by step, and Ctrl-C stops it", { timeout: 120_000 }, async () => {
  const p = spawn("npm", ["start", "--", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, HOLDFAST_LOG: "warn" } });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = once(p, "exit") as Promise<[number | null, string | null]>;
  try {
    await waitFor("the tour to be printed", () => /Press Ctrl-C to stop\./.test(out) || p.exitCode !== null, 60_000);
    assert.equal(p.exitCode, null, `npm start exited: ${out}\n${err}`);
    const base = /a gateway on http:\/\/(\S+) in front/.exec(out)?.[1];
    const dashboard = /Dashboard[^\n]*\n\s+(http:\/\/\S+)\/#token=(\S+)/.exec(out);
    const metrics = [...out.matchAll(/curl -s (http:\/\/\S+\/metrics)/g)].map((m) => m[1]!);
    assert.ok(base !== undefined && dashboard !== null && metrics.length === 2, `the tour names the gateway, the dashboard and two metrics URLs:\n${out}`);
    const admin = dashboard[1]!;

    // "HTTP echo, round-robin over echo-1, echo-2, echo-3 (run it a few times)"
    const servedBy = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r: Response = await fetch(`http://${base}/hello`);
      assert.equal(r.status, 200);
      servedBy.add(r.headers.get("x-served-by")!);
      await r.text();
    }
    assert.deepEqual([...servedBy].sort(), ["echo-1", "echo-2", "echo-3"]);

    // "Server-sent events, one per second, streamed event by event"
    const ac = new AbortController();
    const events = await fetch(`http://${base}/events`, { signal: ac.signal });
    assert.equal(events.headers.get("content-type"), "text/event-stream");
    const reader = events.body!.getReader();
    let stream = "";
    // Two ticks, one second apart: a stream that ends or stalls fails with what came.
    await within((async () => {
      while ((stream.match(/event: tick/g) ?? []).length < 2) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the event stream ended after ${JSON.stringify(stream)}`);
        stream += new TextDecoder().decode(value);
      }
    })(), 10_000, "two SSE ticks");
    ac.abort();
    assert.match(stream, /^id: \d+\nevent: tick\ndata: \{"n":\d+,"server":"sse-1"/);

    // "WebSocket echo (type a line, get it back)"
    const ws = new WebSocket(`ws://${base}/ws`);
    const messages: string[] = [];
    ws.on("message", (d) => messages.push(String(d)));
    await once(ws, "open");
    ws.send("hi");
    await waitFor("the echo", () => messages.length >= 2, 10_000);
    assert.deepEqual(messages, ['{"hello":"ws-1"}', "hi"]);
    ws.close();

    // "A request the gateway refuses (both Content-Length and Transfer-Encoding)"
    const refused = await rawExchange(Number(base.split(":").pop()), "POST / HTTP/1.1\r\nHost: demo\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", 5000);
    assert.match(refused.text, /^HTTP\/1\.1 400 /);

    // The chat page, both dashboards and both metrics endpoints answer.
    const chat = await fetch(`http://${base}/chat`);
    assert.equal(chat.status, 200);
    assert.match(await chat.text(), /<html/i);
    const page = await fetch(`${admin}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    await page.text();
    for (const url of metrics) {
      const m = await fetch(url);
      assert.equal(m.status, 200, url);
      assert.match(await m.text(), /^# HELP holdfast_/m, url);
    }

    // "holdfast status --admin URL": the same table in the terminal.
    const status = await runCli(["status", "--admin", admin]);
    assert.equal(status.code, 0, status.stderr);
    for (const name of ["echo-1", "echo-2", "echo-3", "sse-1", "ws-1"]) assert.match(status.stdout, new RegExp(name));

    // "Press Ctrl-C to stop.": SIGINT to the demo's process (npm itself, given a SIGINT,
    // re-raises it when its child exits, whatever the child's code); npm then exits
    // with the demo's code.
    const demo = descendants(p.pid!).find((pid) => /^(\S*\/)?node\0.*src\/cli\/main\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8")));
    assert.ok(demo !== undefined, "the demo's node process under npm");
    process.kill(demo, "SIGINT");
    const [code, signal] = await within(exited, 15_000, "the demo to stop after Ctrl-C");
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, err);
  } finally {
    if (p.exitCode === null && p.signalCode === null) {
      // npm runs the script in a process group of its own: its processes by pid too.
      for (const pid of descendants(p.pid!)) process.kill(pid, "SIGKILL");
      process.kill(-p.pid!, "SIGKILL");
    }
  }
});
