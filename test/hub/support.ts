// Test support for the hub: hubs built from YAML through the real config loader, and
// a raw `ws` client speaking holdfast.v1 (the SDK is tested on its own; these tests
// check the protocol as written in docs/protocol.md).
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { PROTOCOL, type HubMessage } from "../../src/protocol/hub.ts";
import { Hub, type HubOptions } from "../../src/hub/hub.ts";
import { loadHubConfig } from "../../src/hub/config/load.ts";
import { createLogger } from "../../src/log.ts";

/** A long enough HS256 secret for tests. */
export const SECRET = "test-secret-test-secret-test-secret-0123";
export const API_TOKEN = "test-api-token";

/** The YAML every test hub starts from; `extra` is appended, and replaces the defaults of the top-level keys it sets. */
export function hubYaml(extra = ""): string {
  const defaults = [
    "listen: 127.0.0.1:0",
    "admin: { listen: 127.0.0.1:0 }",
    "node: ${NODE:-test-hub}",
    `auth: { jwt: { secret: "${SECRET}" }, anonymous: true }`,
    `api: { token: ${API_TOKEN} }`,
  ];
  const keys = new Set([...extra.matchAll(/^([A-Za-z]+):/gm)].map((m) => m[1]));
  return `${defaults.filter((line) => !keys.has(line.split(":")[0])).join("\n")}\n${extra}`;
}

/** The default channel rules of test hubs. */
export const CHANNELS = `channels:
  - { match: "chat:*", history: { size: 100, ttl: 5m }, presence: true, clientPublish: true }
  - { match: "small:*", history: { size: 3, ttl: 5m }, clientPublish: true }
  - { match: "live:*", clientPublish: true }
  - { match: "public:*", history: { size: 100, ttl: 5m }, anonymous: true }
`;

/** Starts a hub from YAML (`CHANNELS` unless the YAML has `channels:`). */
export async function startHub(extra = "", opts: HubOptions & { env?: Record<string, string> } = {}): Promise<Hub> {
  const yaml = hubYaml(extra.includes("channels:") ? extra : `${extra}\n${CHANNELS}`);
  const r = loadHubConfig(yaml, { env: opts.env ?? {}, baseDir: process.cwd() });
  if (!r.ok) throw new Error(`test hub config: ${r.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  const hub = new Hub(r.config, { log: createLogger("hub-test", process.env.HOLDFAST_TEST_LOG ?? "silent"), ...opts });
  await hub.start();
  return hub;
}

/** An HS256 token for `sub` with optional claims (exp in seconds). */
export async function token(sub: string, claims: Record<string, unknown> = {}, secret = SECRET): Promise<string> {
  const { SignJWT } = await import("jose");
  let jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setIssuedAt();
  if (typeof claims.exp === "number") jwt = jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(secret));
}

type Msg = HubMessage & Record<string, unknown>;

/**
 * A raw protocol client: every message received is kept in order; `next` waits for the
 * first one (not yet taken) matching a predicate; `request` sends a command with a fresh
 * id and waits for its reply.
 */
export class ProtoClient {
  readonly ws: WebSocket;
  readonly received: Msg[] = [];
  closed: { code: number; reason: string } | undefined;
  #taken = new Set<Msg>();
  #waiters: (() => void)[] = [];
  #id = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      this.received.push(JSON.parse(data.toString("utf8")) as Msg);
      this.#wake();
    });
    ws.on("close", (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    ws.on("error", () => {});
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Opens a WebSocket to `hubUrl`'s /connect (no `connect` command sent). */
  static open(hubUrl: string, opts: { protocol?: string | null; origin?: string } = {}): Promise<ProtoClient> {
    const url = `${hubUrl.replace(/^http/, "ws")}/connect`;
    const protocols = opts.protocol === null ? [] : [opts.protocol ?? PROTOCOL];
    const ws = new WebSocket(url, protocols, { headers: opts.origin ? { origin: opts.origin } : {} });
    const client = new ProtoClient(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once("error", reject);
    });
  }

  /** Opens and sends `connect` (anonymous without a token); asserts `connected`. */
  static async connect(hubUrl: string, tokenValue?: string, name?: string): Promise<ProtoClient> {
    const c = await ProtoClient.open(hubUrl);
    const r = await c.request({ type: "connect", token: tokenValue, name });
    assert.equal(r.type, "connected", JSON.stringify(r));
    return c;
  }

  /** Sends raw text. */
  raw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Sends a command with the next id; resolves with its reply. */
  async request(cmd: Record<string, unknown>, timeoutMs = 5000): Promise<Msg> {
    const id = ++this.#id;
    this.ws.send(JSON.stringify({ id, ...cmd }));
    return this.next((m) => m.id === id, timeoutMs, `reply to ${JSON.stringify(cmd)}`);
  }

  /** The first message not yet taken that matches, waiting up to `timeoutMs`. */
  async next(match: (m: Msg) => boolean, timeoutMs = 5000, what = "a message"): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find((x) => !this.#taken.has(x) && match(x));
      if (m !== undefined) {
        this.#taken.add(m);
        return m;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${this.received.length}, the last: ${this.#summary()}${this.closed ? `; closed ${this.closed.code} ${this.closed.reason}` : ""}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  // The last few messages, each cut short (a test that fails on big payloads stays readable).
  #summary(): string {
    return this.received.slice(-5).map((m) => JSON.stringify(m).slice(0, 160)).join(" | ");
  }

  /** Every `pub` on `channel` received so far (taken or not). */
  pubs(channel: string): Msg[] {
    return this.received.filter((m) => m.type === "pub" && m.channel === channel);
  }

  /** Waits until `n` pubs on `channel` arrived. */
  async waitPubs(channel: string, n: number, timeoutMs = 5000): Promise<Msg[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.pubs(channel).length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} pubs on ${channel}, got ${this.pubs(channel).length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.pubs(channel);
  }

  /** Waits for the close. */
  async waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === undefined) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for a close; the last messages: ${this.#summary()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** POSTs JSON to the hub's server API. */
export async function api(hubUrl: string, path: string, body: unknown, tokenValue: string | null = API_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hubUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(tokenValue === null ? {} : { authorization: `Bearer ${tokenValue}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
