import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request, type RequestOptions } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, type PeerCertificate, type TLSSocket } from "node:tls";
import { WebSocket, WebSocketServer } from "ws";
import { createMetrics } from "../../src/admin/metrics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Gateway } from "../../src/control/gateway.ts";
import { httpBackend, type Backend } from "../support/backends.ts";
import { BIN } from "../support/cli.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { makeCa, type Pem, type TestCa } from "../support/tls.ts";
import { PROCESS_START_MS, until } from "../support/wait.ts";

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  cert: PeerCertificate;
  reused: boolean;
  protocol: string | null;
  session: Buffer | undefined;
}

/** One HTTPS request on a new connection (no agent); `session` resumes a TLS session. */
function get(port: number, ca: string, opts: { servername?: string; session?: Buffer; path?: string; headers?: Record<string, string>; maxVersion?: "TLSv1.2"; alpn?: string[] } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const options: RequestOptions & { session?: Buffer } = { host: "127.0.0.1", port, path: opts.path ?? "/", ca, servername: opts.servername ?? "", agent: false, headers: opts.headers };
    if (opts.session !== undefined) options.session = opts.session;
    if (opts.maxVersion !== undefined) options.maxVersion = opts.maxVersion;
    if (opts.alpn !== undefined) (options as { ALPNProtocols?: string[] }).ALPNProtocols = opts.alpn;
    const req = request(options, (res) => {
        const s = res.socket as TLSSocket;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body, cert: s.getPeerCertificate(), reused: s.isSessionReused(), protocol: s.alpnProtocol || null, session: session ?? s.getSession() }),
        );
    });
    req.on("socket", (s: TLSSocket) => s.on("session", (b: Buffer) => (session = b)));
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timed out")));
    req.end();
  });
}

function config(backendPort: number, tls: string, extra = ""): string {
  return `
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    tls: ${tls}
${extra}
    routes: [{ backend: b }]
backends:
  b:
    sticky: { cookie: HF_SRV, ttl: 1h }
    servers: [{ name: a, address: 127.0.0.1:${backendPort} }]
`;
}

describe("TLS termination", () => {
  let ca: TestCa;
  let def: Pem;
  let api: Pem;
  let wild: Pem;
  let be: Backend;
  let gw: TestGateway;
  before(async () => {
    ca = makeCa();
    def = ca.issue(["default.test"]);
    api = ca.issue(["api.example.com"]);
    wild = ca.issue(["*.example.com"]);
    be = await httpBackend("a");
    gw = await startGateway(
      config(be.port, `{ cert: ${def.certPath}, key: ${def.keyPath}, certs: [{ cert: ${wild.certPath}, key: ${wild.keyPath} }, { cert: ${api.certPath}, key: ${api.keyPath} }] }`),
    );
  });
  after(async () => {
    await gw.close();
    await be.close();
  });

  test("the certificate is chosen by SNI: exact name, then wildcard, then the default (also without SNI)", async () => {
    const cases: [servername: string, cn: string][] = [
      ["api.example.com", "api.example.com"],
      ["API.Example.com", "api.example.com"],
      ["www.example.com", "*.example.com"],
      ["a.b.example.com", "default.test"],
      ["example.com", "default.test"],
      ["other.test", "default.test"],
      ["", "default.test"],
    ];
    for (const [servername, cn] of cases) {
      const r = await get(gw.port(), ca.cert, { servername: servername || undefined }).catch((e: Error) => e);
      // The client checks the name itself: a default certificate for another name fails
      // verification, which is the point; read the certificate it was shown.
      if (r instanceof Error) {
        assert.match(r.message, /Hostname\/IP does not match|altnames/, `${servername}: ${r.message}`);
        const shown = await peerCn(gw.port(), ca.cert, servername);
        assert.equal(shown, cn, servername);
        continue;
      }
      assert.equal(r.cert.subject.CN, cn, servername);
      assert.equal(r.status, 200);
    }
  });

  test("the backend is told https; sticky cookies are Secure; ALPN says http/1.1", async () => {
    const n = be.requests.length;
    const r = await get(gw.port(), ca.cert, { servername: "api.example.com", headers: { "x-forwarded-proto": "http" }, alpn: ["http/1.1"] });
    assert.equal(r.status, 200);
    assert.equal(r.protocol, "http/1.1");
    assert.equal(be.requests[n]!.headers["x-forwarded-proto"], "https");
    assert.match(String(r.headers["set-cookie"]), /; Secure/);
  });

  test("a returning client resumes its session with a ticket (no full handshake), across certificates", async () => {
    const counters = gw.gw.data.listenerCounters("web")!;
    for (const servername of ["api.example.com", "www.example.com"]) {
      const first = await get(gw.port(), ca.cert, { servername });
      assert.equal(first.reused, false);
      assert.ok(first.session !== undefined, "a session ticket was issued");
      const before = counters.resumed;
      const again = await get(gw.port(), ca.cert, { servername, session: first.session });
      assert.equal(again.reused, true, `${servername}: resumed`);
      assert.equal(counters.resumed - before, 1);
    }
    assert.ok(counters.handshakes >= 4);
    const text = await createMetrics(gw.gw.control, { processMetrics: false }).text();
    assert.match(text, new RegExp(`holdfast_tls_handshakes_total\\{listener="web",resumed="yes"\\} ${counters.resumed}\\b`));
    assert.match(text, new RegExp(`holdfast_tls_handshakes_total\\{listener="web",resumed="no"\\} ${counters.handshakes - counters.resumed}\\b`));
  });

  test("minVersion: TLSv1.3 refuses a TLS 1.2 client; the failure is counted", async () => {
    const gw13 = await startGateway(config(be.port, `{ cert: ${def.certPath}, key: ${def.keyPath}, minVersion: TLSv1.3 }`));
    try {
      await assert.rejects(get(gw13.port(), ca.cert, { servername: "default.test", maxVersion: "TLSv1.2" }), /protocol version|wrong version|unsupported/i);
      const ok = await get(gw13.port(), ca.cert, { servername: "default.test" });
      assert.equal(ok.status, 200);
      await until(() => gw13.gw.data.listenerCounters("web")!.failed === 1, 3000, "the failed handshake to be counted");
    } finally {
      await gw13.close();
    }
  });

  test("WebSocket and SSE through TLS", async () => {
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let n = 0;
      const t = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 3) {
          clearInterval(t);
          res.end();
        }
      }, 20);
      req.on("close", () => clearInterval(t));
    });
    const wss = new WebSocketServer({ server });
    wss.on("connection", (ws) => ws.on("message", (d) => ws.send(`echo ${d}`)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const g = await startGateway(config(port, `{ cert: ${wild.certPath}, key: ${wild.keyPath} }`));
    try {
      const sse = await get(g.port(), ca.cert, { servername: "live.example.com", path: "/events" });
      assert.equal(sse.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
      const ws = new WebSocket(`wss://127.0.0.1:${g.port()}/ws`, { ca: ca.cert, servername: "live.example.com" } as unknown as ConstructorParameters<typeof WebSocket>[1]);
      const reply = await new Promise<string>((resolve, reject) => {
        ws.on("open", () => ws.send("hi"));
        ws.on("message", (d) => resolve(String(d)));
        ws.on("error", reject);
      });
      assert.equal(reply, "echo hi");
      ws.close();
    } finally {
      await g.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

test("certificates reload without dropping connections; a broken file is refused and the old one keeps serving", async () => {
  const ca = makeCa();
  const first = ca.issue(["reload.test"]);
  const second = ca.issue(["reload.test"]);
  const live = { cert: join(ca.dir, "live-cert.pem"), key: join(ca.dir, "live-key.pem") };
  copyFileSync(first.certPath, live.cert);
  copyFileSync(first.keyPath, live.key);
  const be = await httpBackend("a");
  const yaml = config(be.port, `{ cert: ${live.cert}, key: ${live.key} }`);
  const gw = await startGateway(yaml);
  const load = () => loadConfig(yaml, { env: {}, baseDir: "/" });
  try {
    const serial = (c: PeerCertificate) => c.serialNumber;
    const before = await get(gw.port(), ca.cert, { servername: "reload.test" });
    // An established keep-alive connection, opened before the reload.
    const kept = await keepAlive(gw.port(), ca.cert, "reload.test");
    assert.equal(await kept.request("/1"), 200);
    // certbot renews in place: same paths, new contents.
    copyFileSync(second.certPath, live.cert);
    copyFileSync(second.keyPath, live.key);
    const next = load();
    assert.ok(next.ok);
    const report = await gw.gw.reload(next.config);
    assert.equal(report.changed, true);
    const after = await get(gw.port(), ca.cert, { servername: "reload.test" });
    assert.notEqual(serial(after.cert), serial(before.cert));
    assert.equal(serial(after.cert), serial(await peer(second)));
    assert.equal(await kept.request("/2"), 200, "the established connection is untouched");
    assert.equal(serial(kept.cert), serial(before.cert));
    // A broken file: the loader refuses it by path; nothing changes.
    writeFileSync(live.key, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
    const broken = load();
    assert.ok(!broken.ok);
    assert.match(broken.issues.map((i) => `${i.path}: ${i.message}`).join("\n"), /listeners\[0\]\.tls\.key: /);
    const still = await get(gw.port(), ca.cert, { servername: "reload.test" });
    assert.equal(serial(still.cert), serial(after.cert));
    kept.close();
  } finally {
    await gw.close();
    await be.close();
  }
});

async function peer(p: Pem): Promise<PeerCertificate> {
  const { X509Certificate } = await import("node:crypto");
  return { serialNumber: new X509Certificate(p.cert).serialNumber } as PeerCertificate;
}

function peerCn(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, ca, servername: servername || undefined, rejectUnauthorized: false }, () => {
      resolve(String(s.getPeerCertificate().subject.CN));
      s.destroy();
    });
    s.on("error", reject);
  });
}

async function keepAlive(port: number, ca: string, servername: string) {
  const s = connect({ host: "127.0.0.1", port, ca, servername });
  await new Promise<void>((resolve, reject) => {
    s.once("secureConnect", resolve);
    s.once("error", reject);
  });
  let buf = "";
  s.setEncoding("latin1");
  s.on("data", (d: string) => (buf += d));
  return {
    cert: s.getPeerCertificate(),
    async request(path: string): Promise<number> {
      buf = "";
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\n\r\n`);
      await until(() => /\r\n\r\n/.test(buf) && buf.length >= buf.indexOf("\r\n\r\n") + 4 + Number(/content-length: (\d+)/i.exec(buf)?.[1] ?? 0), 3000, "a response");
      return Number(buf.slice(9, 12));
    },
    close: () => s.destroy(),
  };
}

test("--watch: a certificate renewed the certbot way (live/ symlinks moved to new archive files) reaches new connections without a reload command; established connections keep theirs", { timeout: 60_000 }, async () => {
  const ca = makeCa();
  const [first, second] = [ca.issue(["watch.test"]), ca.issue(["watch.test"])];
  const live = join(ca.dir, "live");
  const archive = join(ca.dir, "archive");
  mkdirSync(live);
  mkdirSync(archive);
  // certbot: live/fullchain.pem -> ../archive/fullchainN.pem, swapped on renewal.
  const install = (n: number, p: Pem) => {
    copyFileSync(p.certPath, join(archive, `fullchain${n}.pem`));
    copyFileSync(p.keyPath, join(archive, `privkey${n}.pem`));
    for (const [link, target] of [["fullchain.pem", `fullchain${n}.pem`], ["privkey.pem", `privkey${n}.pem`]] as const) {
      symlinkSync(join("..", "archive", target), join(live, `${link}.new`));
      renameSync(join(live, `${link}.new`), join(live, link));
    }
  };
  install(1, first);
  const be = await httpBackend("a");
  const file = join(ca.dir, "gw.yaml");
  writeFileSync(file, `admin: { listen: 127.0.0.1:0 }\n${config(be.port, `{ cert: ${join(live, "fullchain.pem")}, key: ${join(live, "privkey.pem")} }`)}`);
  const proc = spawn(process.execPath, [BIN, "gateway", "-c", file, "--watch", "--pid-file", join(ca.dir, "gw.pid")], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await until(() => /listener web \(http\) listening on [\d.]+:\d+/.test(out), PROCESS_START_MS, () => `the gateway to start:\n${out}`);
    const port = Number(/listener web \(http\) listening on [\d.]+:(\d+)/.exec(out)![1]);
    const serial = async () => (await get(port, ca.cert, { servername: "watch.test" })).cert.serialNumber;
    assert.equal(await serial(), (await peer(first)).serialNumber);
    const kept = await keepAlive(port, ca.cert, "watch.test");
    assert.equal(await kept.request("/1"), 200);
    install(2, second);
    const want = (await peer(second)).serialNumber;
    const t0 = Date.now();
    for (;;) {
      if ((await serial()) === want) break;
      if (Date.now() - t0 > 5000) assert.fail(`the renewed certificate was not served within 5 s:\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await kept.request("/2"), 200, "the established connection is untouched");
    assert.equal(kept.cert.serialNumber, (await peer(first)).serialNumber);
    kept.close();
  } finally {
    proc.kill("SIGKILL");
    await once(proc, "exit").catch(() => {});
    await be.close();
  }
});

test("session tickets: a client resumes on another worker of the same gateway (one ticket secret), not on a gateway with another secret", async () => {
  const ca = makeCa();
  const pem = ca.issue(["tickets.test"]);
  const be = await httpBackend("a");
  const loaded = loadConfig(config(be.port, `{ cert: ${pem.certPath}, key: ${pem.keyPath} }`), { env: {}, baseDir: "/" });
  assert.ok(loaded.ok);
  const secret = Buffer.alloc(32, 3);
  // Two gateways as two workers are started: the same config, the same secret.
  const gws = [new Gateway(loaded.config, undefined, { ticketSecret: secret }), new Gateway(loaded.config, undefined, { ticketSecret: Buffer.from(secret) }),
    new Gateway(loaded.config, undefined, { ticketSecret: Buffer.alloc(32, 4) })];
  try {
    for (const g of gws) await g.start();
    const [one, two, other] = gws.map((g) => g.address("web").port) as [number, number, number];
    for (const maxVersion of [undefined, "TLSv1.2"] as const) {
      const first = await get(one, ca.cert, { servername: "tickets.test", ...(maxVersion ? { maxVersion } : {}) });
      assert.equal(first.reused, false);
      const again = await get(two, ca.cert, { servername: "tickets.test", session: first.session!, ...(maxVersion ? { maxVersion } : {}) });
      assert.equal(again.reused, true, `${maxVersion ?? "TLSv1.3"}: resumed on the other worker`);
      const elsewhere = await get(other, ca.cert, { servername: "tickets.test", session: first.session!, ...(maxVersion ? { maxVersion } : {}) });
      assert.equal(elsewhere.reused, false, `${maxVersion ?? "TLSv1.3"}: another secret does not accept the ticket (a full handshake, no error)`);
      assert.equal(elsewhere.status, 200);
    }
  } finally {
    for (const g of gws) await g.stop();
    await be.close();
  }
});
