import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mulberry32 } from "../../src/core/balance/testing.kit.ts";
import { ProtoClient, startHub, token } from "../hub/support.ts";
import { fuzzSeed } from "../support/seed.ts";

/**
 * Hostile clients against a real hub over WebSocket: valid commands with absurd fields,
 * broken JSON, binary frames, invalid UTF-8, frames over the size limit, commands
 * before `connect`, bad tokens, floods. Meanwhile a well-behaved client keeps
 * publishing and receiving. Checked: every command with an id gets exactly one answer
 * unless the hub closed the connection first, and then with a documented close code;
 * no `internal` error, no `1011`; the well-behaved client never misses a beat.
 *   FUZZ_SEED=123          replay (printed with every failure)
 *   FUZZ_HUB_SOCKETS=200   more hostile connections (default 8, 60 messages each)
 */
const SEED = fuzzSeed();
const SOCKETS = Number(process.env.FUZZ_HUB_SOCKETS ?? 8);
const MESSAGES = 60;
/** Close codes docs/protocol.md names (4000–4999 included), plus ws's own for broken frames. */
const DOCUMENTED_CLOSE = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1012, 1013]);

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const pick = <T>(random: Random, list: readonly T[]): T => list[int(random, list.length)]!;

const CHANNELS = ["chat:fz", "chat:fz2", "small:fz", "live:fz", "public:fz", "nope:x", "", "chat:", "chat:*", "a".repeat(500), "chat:\u0000", "chat:é"];
const DATA: unknown[] = [null, 1, "x", { a: 1 }, [1, 2, 3], "y".repeat(20_000), { deep: JSON.parse(`${"[".repeat(200)}${"]".repeat(200)}`) as unknown }];

/** A command (with the id given) that is well-formed JSON, or a hostile frame (id: undefined). */
function message(random: Random, id: number, tokens: readonly string[]): { data: string | Buffer; id: number | undefined } {
  const r = random();
  if (r < 0.55) {
    const type = pick(random, ["connect", "subscribe", "unsubscribe", "publish", "presence", "history", "refresh"]);
    const cmd: Record<string, unknown> = { id, type };
    if (type === "connect" || type === "refresh") cmd.token = pick(random, [...tokens, "not-a-jwt", "", 42]);
    else cmd.channel = pick(random, CHANNELS);
    if (type === "publish") cmd.data = pick(random, DATA);
    if (type === "subscribe" || type === "history") {
      if (random() < 0.5) cmd.since = pick(random, [{ offset: 0, epoch: "e" }, { offset: 2 ** 52, epoch: "" }, { offset: -1, epoch: "x" }, "bad"]);
      if (type === "history") cmd.limit = pick(random, [0, 1, 1000, 2 ** 40, -1, "many"]);
    }
    if (random() < 0.1) cmd.idempotencyKey = pick(random, ["k1", "k".repeat(300), 7]);
    // A command whose fields are wrong still has a readable id: it must be answered.
    return { data: JSON.stringify(cmd), id };
  }
  if (r < 0.7) return { data: pick(random, ["{", "[]", "null", '"x"', '{"type":"subscribe"}', '{"id":0,"type":"presence"}', "{}".repeat(50), '{"type":"pong"}']), id: undefined };
  if (r < 0.8) return { data: Buffer.from([0xff, 0xfe, 0x00, int(random, 256)]), id: undefined }; // binary frame
  if (r < 0.85) return { data: Buffer.from('{"id":1,"type":"subscribe","channel":"chat:\xff"}', "latin1"), id: undefined }; // sent as binary: not text
  if (r < 0.9) return { data: `{"id":${id},"type":"publish","channel":"chat:fz","data":"${"z".repeat(40_000)}"}`, id: undefined }; // over maxMessageBytes
  return { data: JSON.stringify({ id, type: pick(random, ["ping", "SUBSCRIBE", "__proto__", ""]) }), id };
}

test("hub fuzz: hostile clients get one answer per command or a documented close; a good client is unaffected", async () => {
  const hub = await startHub("limits: { maxMessageBytes: 16KiB }\nsendQueue: { maxBytes: 256KiB }");
  let running = true;
  let canary: Promise<void> = Promise.resolve();
  try {
    const tokens = [await token("fuzz"), await token("fuzz", { channels: ["public:*"] }), await token("fuzz", { exp: 1 })];
    // The well-behaved client: publishes and must see each of its publications come back.
    const good = await ProtoClient.connect(hub.url, await token("good"));
    assert.equal((await good.request({ type: "subscribe", channel: "chat:canary" })).type, "subscribed");
    let beats = 0;
    canary = (async () => {
      while (running) {
        const r = await good.request({ type: "publish", channel: "chat:canary", data: { beat: beats } }, 5000);
        assert.equal(r.type, "published", JSON.stringify(r));
        await good.waitPubs("chat:canary", beats + 1, 5000);
        beats++;
        await sleep(20);
      }
    })();

    await Promise.all(Array.from({ length: SOCKETS }, async (_, k) => {
      // One generator per socket: what each sends does not depend on how they interleave.
      const random = mulberry32(SEED + k);
      let nextId = 1_000_000;
      const ctx = `socket ${k}, replay: FUZZ_SEED=${SEED}`;
      const c = await ProtoClient.open(hub.url);
      const sent: number[] = [];
      let oversize = false;
      if (random() < 0.7) {
        c.raw(JSON.stringify({ id: nextId, type: "connect", token: random() < 0.7 ? pick(random, tokens) : undefined }));
        sent.push(nextId++);
      }
      for (let m = 0; m < MESSAGES && c.closed === undefined; m++) {
        const msg = message(random, nextId++, tokens);
        if (c.ws.readyState !== c.ws.OPEN) break;
        c.raw(msg.data);
        if (msg.data.length > 16_384) oversize = true;
        if (msg.id !== undefined) sent.push(msg.id);
        if (random() < 0.2) await sleep(int(random, 5));
      }
      // Every id answered, or the connection closed.
      const deadline = Date.now() + 8000;
      const answered = () => new Set(c.received.filter((x) => typeof x.id === "number").map((x) => x.id as number));
      while (c.closed === undefined && sent.some((id) => !answered().has(id))) {
        assert.ok(Date.now() < deadline, `unanswered ids ${sent.filter((id) => !answered().has(id)).slice(0, 5).join(",")}: ${ctx}`);
        await sleep(20);
      }
      const replies = c.received.filter((x) => typeof x.id === "number" && x.id >= 1_000_000);
      const perId = new Map<number, number>();
      for (const x of replies) perId.set(x.id as number, (perId.get(x.id as number) ?? 0) + 1);
      for (const [id, n] of perId) assert.equal(n, 1, `id ${id} answered ${n} times: ${ctx}`);
      for (const x of c.received) assert.notEqual(x.code, "internal", `an internal error: ${JSON.stringify(x).slice(0, 300)}: ${ctx}`);
      if (c.closed !== undefined) {
        const code = c.closed.code;
        // After a frame over the limit the hub closes with 1009 while the client is still
        // sending: its unread bytes make the close a TCP reset that can overtake the close
        // frame (ws's own behaviour), so the client may see 1006.
        const reset = code === 1006 && oversize;
        assert.ok(reset || DOCUMENTED_CLOSE.has(code) || (code >= 4000 && code <= 4999), `closed with ${code} ${c.closed.reason} after ${JSON.stringify(c.received.slice(-3)).slice(0, 600)}: ${ctx}`);
      }
      c.close();
    }));
    running = false;
    await canary;
    assert.ok(beats > 0, "the good client published and received throughout");
    assert.equal((await good.request({ type: "presence", channel: "chat:canary" })).type, "presence", "the hub still answers");
    good.close();
  } finally {
    running = false;
    await canary.catch(() => {}); // its failure, if any, was already reported by `await canary`
    await hub.close();
  }
});
