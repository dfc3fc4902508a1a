import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "../../core/balance/testing.kit.ts";
import { HubErrorCode } from "../../protocol/hub.ts";
import { MAX_IDEMPOTENCY_KEY, parseClientMessage } from "./commands.ts";
import { fuzzSeed } from "../../../test/support/seed.ts";

/**
 * Hostile client messages through the hub's reader: valid commands with fields of the
 * wrong type, missing, huge or absurd, prototype keys, deep nesting, and JSON cut or
 * bit-flipped. Never a throw; every result is a well-formed command or an error with a
 * short message; nothing leaks into Object.prototype.
 *   FUZZ_SEED=123       replay (printed with every failure)
 *   FUZZ_HUB=200000     more messages (default 20000: well under a second)
 */
const SEED = fuzzSeed();
const N = Number(process.env.FUZZ_HUB ?? 20_000);

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const pick = <T>(random: Random, list: readonly T[]): T => list[int(random, list.length)]!;

const TYPES = ["connect", "subscribe", "unsubscribe", "publish", "presence", "history", "refresh", "pong", "ping", "", "SUBSCRIBE", "__proto__", "constructor"];
const FIELDS = ["id", "type", "channel", "data", "since", "limit", "token", "name", "idempotencyKey", "offset", "epoch", "__proto__", "constructor", "prototype"];
const VALUES: unknown[] = [
  0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, -0, 1e308, Number.NaN, "", "x", "chat:1", "chat:*", "a".repeat(300), "\u0000", "\ud800", "é",
  null, true, false, [], [1, 2], {}, { offset: 1, epoch: "e" }, { offset: -1, epoch: 1 }, { offset: 2 ** 60, epoch: "e" }, { __proto__: { polluted: 1 } },
];

function randomValue(random: Random, depth = 0): unknown {
  const r = random();
  if (depth > 3 || r < 0.7) return pick(random, VALUES);
  if (r < 0.85) return Array.from({ length: int(random, 4) }, () => randomValue(random, depth + 1));
  return Object.fromEntries(Array.from({ length: int(random, 4) }, () => [pick(random, FIELDS), randomValue(random, depth + 1)]));
}

function randomMessage(random: Random): string {
  const o: Record<string, unknown> = { id: random() < 0.8 ? 1 + int(random, 1000) : pick(random, VALUES), type: pick(random, TYPES) };
  for (let n = int(random, 5); n > 0; n--) o[pick(random, FIELDS)] = randomValue(random);
  if (random() < 0.1) o.data = JSON.parse(`${"[".repeat(500)}${"]".repeat(500)}`) as unknown;
  let text = random() < 0.05 ? JSON.stringify(randomValue(random)) : JSON.stringify(o);
  if (random() < 0.05) text = `{"__proto__": {"polluted": true}, "id": 1, "type": "subscribe", "channel": "chat:1"}`;
  if (random() < 0.2) { // text mutations: cut, flip, splice
    const at = int(random, text.length + 1);
    const k = int(random, 3);
    if (k === 0) text = text.slice(0, at);
    else if (k === 1) text = text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << int(random, 7))) + text.slice(at + 1);
    else text = text.slice(0, at) + pick(random, ['"', "{", "}", ",", ":", "\\u0000", "1e999", "\\ud800"]) + text.slice(at);
  }
  return text;
}

test("hub message fuzz: parseClientMessage never throws and every result is well-formed", () => {
  const random = mulberry32(SEED);
  const commands = new Set(["connect", "subscribe", "unsubscribe", "publish", "presence", "history", "refresh"]);
  const accepted = new Map<string, number>();
  for (let n = 0; n < N; n++) {
    const text = randomMessage(random);
    const ctx = `message ${n}, replay: FUZZ_SEED=${SEED}: ${text.slice(0, 300)}`;
    let r: ReturnType<typeof parseClientMessage>;
    try {
      r = parseClientMessage(text);
    } catch (e) {
      assert.fail(`threw ${(e as Error).stack}\n${ctx}`);
    }
    if (r.ok) {
      const m = r.msg as unknown as Record<string, unknown>;
      accepted.set(m.type as string, (accepted.get(m.type as string) ?? 0) + 1);
      if (m.type === "pong") continue;
      assert.ok(commands.has(m.type as string), ctx);
      assert.ok(Number.isSafeInteger(m.id) && (m.id as number) > 0, `id ${String(m.id)}: ${ctx}`);
      if ("channel" in m) assert.equal(typeof m.channel, "string", ctx);
      if (m.idempotencyKey !== undefined) assert.ok((m.idempotencyKey as string).length <= MAX_IDEMPOTENCY_KEY, ctx);
      if (m.since !== undefined) {
        const s = m.since as { offset: unknown; epoch: unknown };
        assert.ok(Number.isSafeInteger(s.offset) && (s.offset as number) >= 0 && typeof s.epoch === "string", ctx);
      }
      if (m.limit !== undefined) assert.ok(Number.isSafeInteger(m.limit) && (m.limit as number) >= 0, ctx);
    } else {
      assert.ok(r.code === HubErrorCode.BAD_REQUEST || r.code === HubErrorCode.UNKNOWN_COMMAND, ctx);
      assert.ok(r.id === undefined || (Number.isSafeInteger(r.id) && r.id > 0), ctx);
      assert.ok(r.message.length > 0 && r.message.length <= 300, `message of ${r.message.length} characters: ${ctx}`);
    }
  }
  // About 1,500 of 20,000 are accepted commands (publish the rarest, a few): the
  // well-formedness checks above ran on real commands, not only on errors.
  if (N >= 10_000) {
    const commandsAccepted = [...accepted].filter(([type]) => type !== "pong").reduce((sum, [, n]) => sum + n, 0);
    assert.ok(commandsAccepted > 100, `only ${commandsAccepted} commands accepted (FUZZ_SEED=${SEED}): ${JSON.stringify([...accepted])}`);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype untouched");
});
