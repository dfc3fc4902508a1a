import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { httpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { within } from "../support/wait.ts";

test("an SSE stream reaches the client event by event: the server sends each event only once the client has the one before", async () => {
  // Not a timing: a gateway that held events back (buffered to a size, batched) would
  // never pass the first one on, and the wait below would fail naming it.
  const COUNT = 8;
  let next: (() => void) | null = null;
  const be = await httpBackend("sse", (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    let n = 0;
    next = () => {
      res.write(`data: ${n}\n\n`);
      if (++n === COUNT) res.end();
    };
    next();
  });
  const gw = await startGateway(simpleConfig([{ name: "sse", port: be.port }]));
  try {
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request({ port: gw.port(), host: "127.0.0.1", path: "/events" }, (res) => {
        assert.equal(res.headers["content-type"], "text/event-stream");
        res.setEncoding("utf8");
        let buf = "";
        res.on("data", (d: string) => {
          buf += d;
          for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
            events.push(buf.slice(0, i));
            buf = buf.slice(i + 2);
            if (events.length < COUNT) next!();
          }
        });
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
    await within(done, 10_000, "the stream's end").catch((e: Error) => {
      throw new Error(`${e.message}; the client has ${JSON.stringify(events)}`);
    });
    assert.deepEqual(events, Array.from({ length: COUNT }, (_, i) => `data: ${i}`));
  } finally {
    await gw.close();
    await be.close();
  }
});

/** GET through the gateway; resolves with the decoded body and how it ended. */
function stream(port: number, onData?: (body: string) => void): Promise<{ body: string; ended: "end" | "aborted" | "error"; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let body = "";
    const req = request({ port, host: "127.0.0.1", path: "/events" }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
        onData?.(body);
      });
      res.on("end", () => resolve({ body, ended: "end", ms: performance.now() - t0 }));
      res.on("aborted", () => resolve({ body, ended: "aborted", ms: performance.now() - t0 }));
      res.on("error", () => resolve({ body, ended: "error", ms: performance.now() - t0 }));
    });
    req.on("error", () => resolve({ body, ended: "error", ms: performance.now() - t0 }));
    // Every stream here ends within seconds; one that does not fails instead of hanging.
    req.setTimeout(10_000, () => req.destroy(new Error("no end within 10 s")));
    req.end();
  });
}


test("regression: an event stream quiet for longer than timeouts.server is not cut (it lives under timeouts.tunnel)", async () => {
  const be = await httpBackend("sse", (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: 1\n\n");
    setTimeout(() => res.end("data: 2\n\n"), 900);
  });
  const gw = await startGateway(simpleConfig([{ name: "sse", port: be.port }], "    timeouts: { server: 300ms, tunnel: 5s }"));
  try {
    const r = await stream(gw.port());
    assert.equal(r.ended, "end");
    assert.equal(r.body, "data: 1\n\ndata: 2\n\n");
  } finally {
    await gw.close();
    await be.close();
  }
});

test("sse.heartbeat: a quiet event stream gets `:` comment lines, only between events", async () => {
  // Quiet between events until the client has seen two heartbeats (however late a loaded
  // machine's timers fire), then quiet inside an event for 3.5 heartbeats: none allowed there.
  let twoBeats: () => void = () => {};
  const beats = new Promise<void>((resolve) => (twoBeats = resolve));
  const be = await httpBackend("sse", (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
    res.write("data: 1\n\n");
    void beats.then(() => {
      res.write("data: 2\n");
      setTimeout(() => res.end("\n"), 700);
    });
  });
  const gw = await startGateway(simpleConfig([{ name: "sse", port: be.port }], "    sse: { heartbeat: 200ms }"));
  try {
    const r = await stream(gw.port(), (body) => {
      if (body.split(":\n").length > 2) twoBeats();
    });
    assert.equal(r.ended, "end");
    assert.match(r.body, /^data: 1\n\n(:\n){2,}data: 2\n\n$/, JSON.stringify(r.body));
  } finally {
    await gw.close();
    await be.close();
  }
});

test("an event stream idle past timeouts.tunnel ends at an event boundary, with the last chunk", async () => {
  const be = await httpBackend("sse", (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: only\n\n");
  });
  const gw = await startGateway(simpleConfig([{ name: "sse", port: be.port }], "    timeouts: { tunnel: 500ms }"));
  try {
    const r = await stream(gw.port());
    assert.equal(r.ended, "end", "a clean end (last chunk), not a cut");
    assert.equal(r.body, "data: only\n\n");
    assert.ok(r.ms >= 400 && r.ms < 3000, `ended after ${Math.round(r.ms)} ms`);
  } finally {
    await gw.close();
    await be.close();
  }
});

test("a graceful stop ends an event stream at an event boundary, not at the hard deadline", async () => {
  const be = await httpBackend("sse", (req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    let n = 0;
    // Each event in two writes: the stream is often inside an event.
    const t = setInterval(() => {
      res.write(`data: ${n}\n`);
      setTimeout(() => res.write(`id: ${n++}\n\n`), 15);
    }, 40);
    req.on("close", () => clearInterval(t));
  });
  const gw = await startGateway(simpleConfig([{ name: "sse", port: be.port }]));
  try {
    let started!: () => void;
    const first = new Promise<void>((r) => (started = r));
    const pending = stream(gw.port(), (b) => b.includes("id: 2\n\n") && started());
    await first;
    const t0 = performance.now();
    await gw.gw.shutdown(0, 10_000);
    const r = await pending;
    assert.ok(performance.now() - t0 < 7000, `the stop took ${Math.round(performance.now() - t0)} ms: it waited for the hard deadline (10 s)`);
    assert.equal(r.ended, "end", "a clean end (last chunk), not a cut");
    assert.match(r.body, /^(data: \d+\nid: \d+\n\n)+$/, "whole events only");
  } finally {
    await gw.close();
    await be.close();
  }
});
