import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { request, type ClientRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { closeServer, httpBackend, type Backend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { until } from "../support/wait.ts";

async function three(): Promise<Backend[]> {
  return Promise.all(["s1", "s2", "s3"].map((n) => httpBackend(n)));
}

function get(port: number, headers: Record<string, string> = {}): Promise<{ server: string; setCookie: string | undefined }> {
  return new Promise((resolve, reject) => {
    request({ port, host: "127.0.0.1", path: "/", headers, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      const sc = res.headers["set-cookie"];
      res.on("end", () => resolve({ server: String(res.headers["x-served-by"]), setCookie: sc?.[0] }));
    })
      .on("timeout", function (this: ClientRequest) {
        this.destroy(new Error("no answer within 5 s"));
      })
      .on("error", reject)
      .end();
  });
}

test("cookie stickiness: a client stays on its server across keep-alive and new connections", async () => {
  const bs = await three();
  const gw = await startGateway(simpleConfig(bs.map((b, i) => ({ name: `s${i + 1}`, port: b.port })), "    sticky: { cookie: HF_SRV, ttl: 1h }"));
  try {
    const first = await get(gw.port());
    assert.ok(first.setCookie, "the first response sets the cookie");
    assert.match(first.setCookie, /^HF_SRV=[A-Za-z0-9_-]+; /);
    for (const attr of ["Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Lax"]) assert.ok(first.setCookie.includes(attr), attr);
    assert.ok(!first.setCookie.includes("Secure"), "no Secure without TLS");
    assert.doesNotMatch(first.setCookie, /127\.0\.0\.1|s[123]/, "the value reveals no address or name");
    const cookie = first.setCookie.split(";")[0]!;
    // new connections
    for (let i = 0; i < 12; i++) {
      const r = await get(gw.port(), { cookie });
      assert.equal(r.server, first.server);
      assert.equal(r.setCookie, undefined, "a hit does not re-issue the cookie");
    }
    // one keep-alive connection
    const c = rawClient(gw.port());
    for (let i = 0; i < 12; i++) {
      const res = await c.request(`GET /${i} HTTP/1.1\r\nHost: t\r\nCookie: other=1; ${cookie}\r\n\r\n`);
      assert.match(res, new RegExp(`x-served-by: ${first.server}`, "i"));
    }
    c.close();
    // without the cookie the policy spreads requests
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add((await get(gw.port())).server);
    assert.equal(seen.size, 3);
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("cookie stickiness: a tampered cookie is ignored and replaced", async () => {
  const bs = await three();
  const gw = await startGateway(simpleConfig(bs.map((b, i) => ({ name: `s${i + 1}`, port: b.port })), "    sticky: { cookie: HF_SRV, ttl: 10m }"));
  try {
    const first = await get(gw.port());
    const value = first.setCookie!.split(";")[0]!.split("=")[1]!;
    const tampered = (value[0] === "A" ? "B" : "A") + value.slice(1);
    const r = await get(gw.port(), { cookie: `HF_SRV=${tampered}` });
    assert.ok(r.setCookie, "re-issued");
    assert.notEqual(r.setCookie!.split(";")[0], `HF_SRV=${tampered}`);
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("cookie stickiness: when the sticky server stops, the client fails over and gets a new cookie", async () => {
  const bs = await three();
  const gw = await startGateway(
    simpleConfig(bs.map((b, i) => ({ name: `s${i + 1}`, port: b.port })), "    sticky: { cookie: HF_SRV, ttl: 1h }\n    health: { type: tcp, interval: 100ms, timeout: 90ms, rise: 1, fall: 2 }"),
  );
  try {
    const first = await get(gw.port());
    const cookie = first.setCookie!.split(";")[0]!;
    const idx = Number(first.server.slice(1)) - 1;
    await bs[idx]!.close();
    // wait until the check marks it down
    const server = gw.gw.backends.get("b")!.servers[idx]!;
    // (fall 2: a check slowed past its timeout cannot take a live server down mid-test;
    // the stopped one refuses at once)
    await until(() => !server.up, 10_000, "the stopped server to be marked down");
    const r = await get(gw.port(), { cookie });
    assert.notEqual(r.server, first.server);
    assert.ok(r.setCookie, "a new cookie is issued");
    const again = await get(gw.port(), { cookie: r.setCookie!.split(";")[0]! });
    assert.equal(again.server, r.server, "and the client sticks to the new server");
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("source-IP stickiness: every connection from one address goes to one server", async () => {
  const bs = await three();
  const gw = await startGateway(simpleConfig(bs.map((b, i) => ({ name: `s${i + 1}`, port: b.port })), "    sticky: { source: true, ttl: 30m }"));
  try {
    const first = await get(gw.port());
    for (let i = 0; i < 10; i++) assert.equal((await get(gw.port())).server, first.server);
    assert.equal(first.setCookie, undefined);
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("WebSocket upgrades honour cookie stickiness", async () => {
  const servers = await Promise.all(
    ["s1", "s2", "s3"].map(async (name) => {
      const server = createServer((_q, r) => {
        r.setHeader("x-served-by", name);
        r.end(name);
      });
      const wss = new WebSocketServer({ server });
      wss.on("connection", (ws) => ws.send(name));
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      return { name, server, wss, port: (server.address() as AddressInfo).port };
    }),
  );
  const gw = await startGateway(simpleConfig(servers.map((s) => ({ name: s.name, port: s.port })), "    sticky: { cookie: HF_SRV, ttl: 1h }"));
  try {
    const first = await get(gw.port());
    const cookie = first.setCookie!.split(";")[0]!;
    for (let i = 0; i < 6; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port()}/`, { headers: { cookie } });
      const [msg] = (await once(ws, "message")) as [Buffer];
      assert.equal(String(msg), first.server);
      ws.close();
      await once(ws, "close");
    }
    // Without a cookie, the 101 carries a Set-Cookie so the next upgrade sticks.
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port()}/`);
    const [res] = (await once(ws, "upgrade")) as [import("node:http").IncomingMessage];
    assert.match(String(res.headers["set-cookie"]), /^HF_SRV=/);
    ws.close();
    await once(ws, "close");
  } finally {
    await gw.close();
    for (const s of servers) {
      for (const c of s.wss.clients) c.terminate();
      s.wss.close();
      await closeServer(s.server);
    }
  }
});

test("hash keys: header:X-User sends one user to one server through maglev; a missing key falls back", async () => {
  const bs = await three();
  const gw = await startGateway(simpleConfig(bs.map((b, i) => ({ name: `s${i + 1}`, port: b.port })), "    balance: maglev\n    hashKey: header:X-User"));
  try {
    const owner = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 30; u++) {
        const r = await get(gw.port(), { "x-user": `user-${u}` });
        if (round === 0) owner.set(`user-${u}`, r.server);
        else assert.equal(r.server, owner.get(`user-${u}`), `user-${u} moved`);
      }
    }
    assert.equal(new Set(owner.values()).size, 3, "users spread over the three servers");
    // Without the key: the round-robin fallback, so six requests are two per server.
    const noKey: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const s = (await get(gw.port())).server;
      noKey[s] = (noKey[s] ?? 0) + 1;
    }
    assert.deepEqual(noKey, { s1: 2, s2: 2, s3: 2 }, "requests without the key go round-robin");
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("cookie stickiness: when a retry moves a sticky request to another server, the response re-issues the cookie for it", async () => {
  const bs = await three();
  // No health checks: the dead server is discovered by the connect failure itself.
  const gw = await startGateway(simpleConfig(bs.map((b, i) => ({ name: `s${i + 1}`, port: b.port })), "    sticky: { cookie: HF_SRV, ttl: 1h }"));
  try {
    const first = await get(gw.port());
    const idx = Number(first.server.slice(1)) - 1;
    await bs[idx]!.close();
    const moved = await get(gw.port(), { cookie: first.setCookie!.split(";")[0]! });
    assert.notEqual(moved.server, first.server);
    assert.ok(moved.setCookie, "the retried response carries a new cookie");
    for (let i = 0; i < 5; i++) {
      const again = await get(gw.port(), { cookie: moved.setCookie!.split(";")[0]! });
      assert.equal(again.server, moved.server, "the new cookie names the server that answered");
    }
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});
