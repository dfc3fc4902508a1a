/**
 * The Redis broker's key layout, Lua scripts and pub/sub message codec
 * (`docs/hub-broker.md` describes them for operators).
 *
 * Keys, for channel `C` under prefix `P` (default `holdfast`); the `{C}` hash tag puts
 * all of a channel's keys in one Redis Cluster slot, so each script touches one slot:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P:{C}:m` | hash | `e` epoch, `o` last offset |
 * | `P:{C}:s` | stream | entries `<offset>-0` → `d` data, `i` publisher (JSON, optional) |
 * | `P:{C}:k:<key>` | string | an idempotency key's first result `<offset>\n<epoch>` |
 * | `P:{C}:pz` | sorted set | presence: client id, score = expiry (ms, Redis `TIME`) |
 * | `P:{C}:ph` | hash | presence: client id → `{"client","user","info"}` |
 *
 * Pub/sub: `P:{C}` carries the channel's publications, joins and leaves;
 * `P:node:<id>` is each node's own probe channel.
 *
 * @example
 * const k = channelKeys("holdfast", "chat:1");
 * k.meta;   // "holdfast:{chat:1}:m"
 * k.pubsub; // "holdfast:{chat:1}"
 */
import type { ClientInfo } from "../../protocol/hub.ts";
import type { BrokerPublication } from "./types.ts";

/** One channel's keys. */
export interface ChannelKeys {
  meta: string;
  stream: string;
  presenceZ: string;
  presenceH: string;
  pubsub: string;
}

/**
 * The keys of `channel` under `prefix`.
 *
 * @example
 * channelKeys("app", "news").stream; // "app:{news}:s"
 */
export function channelKeys(prefix: string, channel: string): ChannelKeys {
  const base = `${prefix}:{${channel}}`;
  return { meta: `${base}:m`, stream: `${base}:s`, presenceZ: `${base}:pz`, presenceH: `${base}:ph`, pubsub: base };
}

/**
 * The idempotency key's Redis key (same slot as the channel's).
 *
 * @example
 * idempotencyKey("app", "news", "k1"); // "app:{news}:k:k1"
 */
export function idempotencyKey(prefix: string, channel: string, key: string): string {
  return `${prefix}:{${channel}}:k:${key}`;
}

// Sweeps expired presence entries of one channel (at most 1000 per call), announcing
// each leave. `now` comes from Redis TIME: one clock for every node.
const PRESENCE_PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, c in ipairs(gone) do
  local w = redis.call('HGET', KEYS[2], c)
  redis.call('ZREM', KEYS[1], c)
  redis.call('HDEL', KEYS[2], c)
  if w then redis.call('PUBLISH', ARGV[1], 'l\\n' .. w) end
end
`;

/** The scripts, by name. Each is loaded once and run with EVALSHA (EVAL after a NOSCRIPT). */
export const SCRIPTS = {
  /**
   * KEYS: meta, stream, idempotency key (meta when none).
   * ARGV: data, info JSON or '', size ('' = no history), ttl ms, idempotency ttl ms ('' = none),
   * a new epoch (used only when the meta is missing), pub/sub channel.
   * Returns {duplicate 0/1, '<offset>\n<epoch>'} (empty offset and epoch without history).
   */
  publish: `
local idem_ttl = ARGV[5]
if idem_ttl ~= '' then
  local seen = redis.call('GET', KEYS[3])
  if seen then return {1, seen} end
end
local offset, epoch = '', ''
if ARGV[3] ~= '' then
  local m = redis.call('HMGET', KEYS[1], 'e', 'o')
  epoch = m[1]
  local last = tonumber(m[2])
  if not epoch then
    -- history metadata is gone: a new epoch, and no stale entries under it
    epoch = ARGV[6]
    last = 0
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  end
  offset = last + 1
  -- append first: if XADD fails, the counter has not moved (scripts do not roll back)
  if ARGV[2] == '' then
    redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], offset .. '-0', 'd', ARGV[1])
  else
    redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], offset .. '-0', 'd', ARGV[1], 'i', ARGV[2])
  end
  redis.call('HSET', KEYS[1], 'o', offset)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local result = offset .. '\\n' .. epoch
if idem_ttl ~= '' then redis.call('SET', KEYS[3], result, 'NX', 'PX', idem_ttl) end
redis.call('PUBLISH', ARGV[7], 'p\\n' .. offset .. '\\n' .. epoch .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[1])
return {0, result}
`,
  /**
   * KEYS: meta, stream. ARGV: since, limit ('' = all), ttl ms, a new epoch.
   * Returns {epoch, top offset, XRANGE entries}: meta and entries read together.
   */
  history: `
local m = redis.call('HMGET', KEYS[1], 'e', 'o')
if not m[1] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', ARGV[4], 'o', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {ARGV[4], 0, {}}
end
local entries = {}
if ARGV[2] ~= '0' then
  local start = (tonumber(ARGV[1]) + 1) .. '-0'
  if ARGV[2] == '' then
    entries = redis.call('XRANGE', KEYS[2], start, '+')
  else
    entries = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', ARGV[2])
  end
end
return {m[1], tonumber(m[2]), entries}
`,
  /**
   * KEYS: presence zset, presence hash. ARGV: pub/sub channel, ttl ms, then client id and
   * entry JSON pairs. Sweeps, then adds or refreshes each entry; announces new ones.
   */
  presenceAdd: `${PRESENCE_PRELUDE}
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local added = redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  if added == 1 then redis.call('PUBLISH', ARGV[1], 'j\\n' .. ARGV[i + 1]) end
end
-- the keys outlive their entries by a minute, so a later sweep can still announce leaves
local keep = ttl + 60000
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
  redis.call('PEXPIRE', KEYS[2], keep)
end
return 0
`,
  /** KEYS: presence zset, presence hash. ARGV: pub/sub channel, client id. */
  presenceRemove: `
local w = redis.call('HGET', KEYS[2], ARGV[2])
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
if removed == 1 and w then redis.call('PUBLISH', ARGV[1], 'l\\n' .. w) end
return removed
`,
  /** KEYS: presence zset, presence hash. ARGV: pub/sub channel. Sweeps, then lists. */
  presenceList: `${PRESENCE_PRELUDE}
return redis.call('HVALS', KEYS[2])
`,
} as const satisfies Record<string, string>;

export type ScriptName = keyof typeof SCRIPTS;

/** A message on a channel's pub/sub channel, decoded. */
export type ChannelMessage =
  | { kind: "pub"; pub: BrokerPublication }
  | { kind: "join" | "leave"; who: ClientInfo }
  | { kind: "bad" };

/**
 * Decodes `p\n<offset>\n<epoch>\n<info>\n<data>`, `j\n<who>` or `l\n<who>`. The data is
 * sliced, never parsed: it stays the JSON text it was published as.
 *
 * @example
 * decodeMessage('p\n7\nxYz\n\n{"a":1}'); // { kind: "pub", pub: { offset: 7, epoch: "xYz", data: '{"a":1}' } }
 */
export function decodeMessage(message: string): ChannelMessage {
  const kind = message.charCodeAt(0);
  if (kind === 112 /* p */) {
    const a = message.indexOf("\n", 2);
    const b = a === -1 ? -1 : message.indexOf("\n", a + 1);
    const c = b === -1 ? -1 : message.indexOf("\n", b + 1);
    if (c === -1) return { kind: "bad" };
    const pub: BrokerPublication = { data: message.slice(c + 1) };
    if (a > 2) {
      pub.offset = Number(message.slice(2, a));
      pub.epoch = message.slice(a + 1, b);
    }
    if (c > b + 1) pub.info = JSON.parse(message.slice(b + 1, c)) as ClientInfo;
    return { kind: "pub", pub };
  }
  if ((kind === 106 /* j */ || kind === 108) /* l */ && message.charCodeAt(1) === 10) {
    return { kind: kind === 106 ? "join" : "leave", who: JSON.parse(message.slice(2)) as ClientInfo };
  }
  return { kind: "bad" };
}

/**
 * Turns the history script's XRANGE entries into publications of `epoch`.
 *
 * @example
 * decodeEntries([["3-0", ["d", "1"]]], "e"); // [{ offset: 3, epoch: "e", data: "1" }]
 */
export function decodeEntries(entries: unknown, epoch: string): BrokerPublication[] {
  const out: BrokerPublication[] = [];
  for (const [id, fields] of entries as [string, string[]][]) {
    const pub: BrokerPublication = { offset: parseInt(id, 10), epoch, data: "" };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "d") pub.data = fields[i + 1]!;
      else if (fields[i] === "i") pub.info = JSON.parse(fields[i + 1]!) as ClientInfo;
    }
    out.push(pub);
  }
  return out;
}
