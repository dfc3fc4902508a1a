import assert from "node:assert/strict";
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { test } from "node:test";
import type { TLSSocket } from "node:tls";
import { loadConfig } from "../../src/config/load.ts";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { makeCa, type Pem, type TestCa } from "../support/tls.ts";
import { until } from "../support/wait.ts";

// No request is lost when the gateway changes under HTTP/2 load: HTTP/2 clients keep
// sending while a reload, a server drain or a graceful stop happens. Every request gets
// its answer; a stream the gateway refused unprocessed (REFUSED_STREAM after a GOAWAY)
// or a connection that could not be made is sent again — what browsers do — and the
// servers prove none of them was processed twice.

/** A backend that answers each request after a few ms (so streams are in flight at any moment). */
function slowish(name: string): Promise<Backend> {
  return httpBackend(name, (req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.end(`${name} ${req.url}`), 2 + Math.floor(Math.random() * 6)));
  });
}

interface Answer {
  id: number;
  server: string;
  /** Serial number of the certificate the connection that carried it got. */
  serial: string;
  /** When the request that got this answer was sent, and when the answer came. */
  sent: number;
  at: number;
}

/**
 * HTTP/2 clients sending steadily: `workers` requests in flight, spread over `slots`
 * connections. A connection that got GOAWAY (or broke) is replaced by a new one to the
 * next address; requests are sent again only when they provably were not processed.
 */
class H2Load {
  readonly answers: Answer[] = [];
  readonly lost: string[] = [];
  retries = 0;
  goaways = 0;
  #running = true;
  #next = 0;
  #id = 0;
  readonly #slots: (ClientHttp2Session | null)[];
  readonly #done: Promise<void>[] = [];
  /** Where new connections go, in turn (a test may add one). */
  readonly urls: string[];
  readonly ca: TestCa;

  constructor(urls: string[], ca: TestCa, slots: number, workers: number) {
    this.urls = urls;
    this.ca = ca;
    this.#slots = Array.from({ length: slots }, () => null);
    for (let w = 0; w < workers; w++) this.#done.push(this.#worker(w % slots));
  }

  #session(slot: number): ClientHttp2Session {
    const have = this.#slots[slot];
    if (have && !have.closed && !have.destroyed && !(have as { goneAway?: boolean }).goneAway) return have;
    const url = this.urls[this.#next++ % this.urls.length]!;
    const s = connect(url, { ca: this.ca.cert, servername: "h2.test" });
    s.on("goaway", () => {
      (s as { goneAway?: boolean }).goneAway = true;
      this.goaways++;
    });
    s.on("error", () => {});
    // The certificate this connection got (read now: the socket is gone once it closes).
    s.once("connect", () => ((s as { serial?: string }).serial = (s.socket as TLSSocket).getPeerCertificate().serialNumber));
    this.#slots[slot] = s;
    return s;
  }

  async #worker(slot: number): Promise<void> {
    while (this.#running) {
      const id = ++this.#id;
      for (let attempt = 0; ; attempt++) {
        const r = await this.#once(slot, id);
        if (r === "ok") break;
        if (r !== "retry" || attempt === 20) {
          this.lost.push(`request ${id}: ${r}`);
          break;
        }
        this.retries++;
      }
    }
  }

  /** One try: "ok", "retry" (provably not processed) or why it failed. */
  #once(slot: number, id: number): Promise<string> {
    return new Promise<string>((settle) => {
      // An answer that never comes is a lost request too (and must not hang the test).
      const timer = setTimeout(() => settle("no answer within 10 s"), 10_000);
      const resolve = (r: string): void => {
        clearTimeout(timer);
        settle(r);
      };
      let s: ClientHttp2Session;
      let stream;
      const sent = performance.now();
      try {
        s = this.#session(slot);
        stream = s.request({ ":path": `/r/${id}` }, { endStream: true });
      } catch (e) {
        // The session went away between the check and the request: nothing was sent.
        const code = (e as { code?: string }).code;
        return resolve(code === "ERR_HTTP2_GOAWAY_SESSION" || code === "ERR_HTTP2_INVALID_SESSION" ? "retry" : `threw ${code}`);
      }
      let status = 0;
      let body = "";
      stream.on("response", (h) => (status = Number(h[":status"])));
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => (body += d));
      stream.on("end", () => {
        const m = /^(\S+) \/r\/(\d+)$/.exec(body);
        if (status !== 200 || !m || Number(m[2]) !== id) return resolve(`got ${status} ${JSON.stringify(body.slice(0, 100))}`);
        this.answers.push({ id, server: m[1]!, serial: (s as { serial?: string }).serial ?? "", sent, at: performance.now() });
        resolve("ok");
      });
      stream.on("error", (e: Error & { code?: string }) => {
        // Refused unprocessed (above the GOAWAY's last stream id), or the connection
        // never came up (the old gateway's listener is closed): safe to send again.
        // (node:http2 cancels the streams still pending on a connection that failed.)
        const cause = (e.cause as { code?: string } | undefined)?.code;
        if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || e.code === "ECONNREFUSED" || cause === "ECONNREFUSED") return resolve("retry");
        resolve(`error ${e.code ?? ""} ${e.message} (rst ${stream.rstCode})`);
      });
      stream.on("close", () => {
        if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) resolve("retry");
        else if (stream.rstCode !== 0 && stream.rstCode !== undefined) resolve(`reset ${stream.rstCode}`);
      });
    });
  }

  count(after = 0): number {
    return this.answers.filter((a) => a.at > after).length;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#done);
    for (const s of this.#slots) s?.close();
  }
}

function config(pem: Pem, servers: Backend[], names: string[], extra = ""): string {
  return `
shutdown: { delay: 0s, timeout: 10s }
listeners:
  - { name: web, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }
backends:
  b:
    keepAlive: { idleTimeout: 2s }
${extra}
    servers:
${servers.map((b, i) => `      - { name: ${names[i]}, address: 127.0.0.1:${b.port} }`).join("\n")}
`;
}

/** Every id from 1 to the last answered is answered once, and each server processed each id at most once. */
function assertNothingLost(load: H2Load, backends: Backend[]): void {
  process.stdout.write(`# ${load.answers.length} answers, ${load.retries} sent again (refused unprocessed or no connection), ${load.goaways} GOAWAY received\n`);
  assert.deepEqual(load.lost, [], "no request lost");
  const ids = load.answers.map((a) => a.id).sort((a, b) => a - b);
  assert.equal(new Set(ids).size, ids.length, "each request answered once");
  const processed = backends.flatMap((b) => b.requests.map((r) => r.url));
  assert.equal(new Set(processed).size, processed.length, "no request processed twice (only unprocessed ones were sent again)");
}

async function underLoad(gw: TestGateway[], ca: TestCa, what: (load: H2Load) => Promise<void>): Promise<H2Load> {
  const load = new H2Load(gw.map((g) => `https://127.0.0.1:${g.port()}`), ca, 3, 12);
  try {
    await until(() => load.count() > 200, 10_000, () => `200 answers before the change (${load.count()}; lost ${load.lost.slice(0, 3).join("; ")})`);
    await what(load);
  } finally {
    await load.stop();
  }
  return load;
}

test("HTTP/2 under steady load: a reload (a new certificate, s1 removed, s3 added) loses no request; new connections get the new certificate", { timeout: 60_000 }, async () => {
  const ca = makeCa();
  const [pem1, pem2] = [ca.issue(["h2.test"]), ca.issue(["h2.test"])];
  const bs = await Promise.all(["s1", "s2", "s3"].map(slowish));
  const gw = await startGateway(config(pem1, bs.slice(0, 2), ["s1", "s2"], "    drainTimeout: 1s"));
  try {
    let t = 0;
    const load = await underLoad([gw], ca, async (l) => {
      const next = loadConfig(config(pem2, bs.slice(1), ["s2", "s3"], "    drainTimeout: 1s"), { env: {}, baseDir: "." });
      assert.ok(next.ok);
      await gw.gw.reload(next.config);
      t = performance.now();
      await until(() => l.count(t) > 300, 10_000, "300 answers after the reload");
    });
    assertNothingLost(load, bs);
    const late = load.answers.filter((a) => a.sent > t);
    assert.ok(late.length > 100, `requests sent after the reload: ${late.length}`);
    assert.ok(!late.some((a) => a.server === "s1"), "nothing reaches the removed server after the reload");
    assert.ok(late.some((a) => a.server === "s3"), "the added server serves");
    // The established connections kept their certificate (a reload drops none of them).
    const serials = new Set(load.answers.map((a) => a.serial));
    assert.equal(serials.size, 1, "established HTTP/2 connections kept going on their certificate");
    const fresh = connect(`https://127.0.0.1:${gw.port()}`, { ca: ca.cert, servername: "h2.test" });
    await new Promise<void>((resolve, reject) => fresh.once("connect", () => resolve()).once("error", reject));
    const serial = (fresh.socket as TLSSocket).getPeerCertificate().serialNumber;
    fresh.close();
    assert.notEqual(serial, load.answers[0]!.serial, "a new connection gets the reloaded certificate");
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("HTTP/2 under steady load: draining a server loses no request and sends it nothing new", { timeout: 60_000 }, async () => {
  const ca = makeCa();
  const pem = ca.issue(["h2.test"]);
  const bs = await Promise.all(["s1", "s2"].map(slowish));
  const gw = await startGateway(config(pem, bs, ["s1", "s2"], "    drainTimeout: 1s"));
  try {
    let t = 0;
    const load = await underLoad([gw], ca, async (l) => {
      assert.ok(l.answers.some((a) => a.server === "s1"), "s1 served before the drain");
      assert.ok(gw.gw.serverAction("b", "s1", "drain"));
      t = performance.now();
      await until(() => l.count(t) > 300, 10_000, "300 answers after the drain");
    });
    assertNothingLost(load, bs);
    // A stream already on its way to s1 when the drain began may still finish there.
    const late = load.answers.filter((a) => a.sent > t);
    assert.ok(late.length > 100, `requests sent after the drain: ${late.length}`);
    assert.deepEqual([...new Set(late.map((a) => a.server))], ["s2"], "after the drain only s2 serves");
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("HTTP/2 under steady load: a graceful stop sends GOAWAY, the streams in flight finish, the clients move to another gateway, no request lost", { timeout: 60_000 }, async () => {
  const ca = makeCa();
  const pem = ca.issue(["h2.test"]);
  const bs = await Promise.all(["s1"].map(slowish));
  const gw1 = await startGateway(config(pem, bs, ["s1"]));
  const gw2 = await startGateway(config(pem, bs, ["s1"]));
  try {
    let t = 0;
    // Every connection starts on gw1 (the second address is only used once gw1 is gone).
    const load = await underLoad([gw1], ca, async (l) => {
      l.urls.push(`https://127.0.0.1:${gw2.port()}`);
      t = performance.now();
      await gw1.gw.shutdown(0, 10_000);
      await until(() => l.count(t) > 300, 10_000, "300 answers after the stop");
    });
    assertNothingLost(load, bs);
    assert.ok(load.goaways >= 1, `the clients got GOAWAY (${load.goaways})`);
    assert.ok(load.count(t) > 300, "the clients went on through the other gateway");
  } finally {
    await gw1.close().catch(() => {});
    await gw2.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test("HTTP/2 under steady load: a reload that removes the listener sends GOAWAY, the streams in flight finish, the clients move to the listener that replaces it, no request lost", { timeout: 60_000 }, async () => {
  const ca = makeCa();
  const pem = ca.issue(["h2.test"]);
  const bs = await Promise.all(["s1"].map(slowish));
  const listener = (name: string) =>
    `  - { name: ${name}, mode: http, listen: 127.0.0.1:0, tls: { cert: ${pem.certPath}, key: ${pem.keyPath} }, routes: [{ backend: b }] }`;
  const yaml = (name: string) => `
listeners:
${listener(name)}
backends:
  b: { keepAlive: { idleTimeout: 2s }, servers: [{ name: s1, address: 127.0.0.1:${bs[0]!.port} }] }
`;
  const gw = await startGateway(yaml("web"));
  try {
    let t = 0;
    const load = await underLoad([gw], ca, async (l) => {
      const next = loadConfig(yaml("web2"), { env: {}, baseDir: "." });
      assert.ok(next.ok);
      t = performance.now();
      await gw.gw.reload(next.config);
      l.urls.push(`https://127.0.0.1:${gw.port("web2")}`);
      await until(() => l.count(t) > 300, 10_000, "300 answers after the reload");
    });
    assertNothingLost(load, bs);
    assert.ok(load.goaways >= 1, `the clients got GOAWAY (${load.goaways})`);
  } finally {
    await gw.close();
    await Promise.all(bs.map((b) => b.close()));
  }
});
