import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ANONYMOUS, canPresence, canPublish, canSubscribe, identityFromClaims, isExpired, type Identity } from "./permissions.ts";
import { compileRules, type ChannelRule } from "./rules.ts";

const base: Omit<ChannelRule, "match"> = { history: null, presence: false, clientPublish: false, anonymous: false };
const rules = compileRules([
  { ...base, match: "chat:*", presence: true, clientPublish: true },
  { ...base, match: "news:*", anonymous: true },
  { ...base, match: "public:*", anonymous: true, clientPublish: true, presence: true },
  { ...base, match: "private:*" },
]);

function identity(claims: unknown): Identity {
  const r = identityFromClaims(claims);
  if (!r.ok) throw new Error(r.message);
  return r.identity;
}
const alice = identity({ sub: "alice" });
const limited = identity({ sub: "bob", channels: ["chat:team-*", "news:*", "private:bob"] });
const none = identity({ sub: "carol", channels: [] });

type Who = [label: string, who: Identity];
const WHO: Record<string, Who> = {
  anon: ["anonymous", ANONYMOUS],
  alice: ["alice (no channels claim)", alice],
  bob: ["bob (channels chat:team-*, news:*, private:bob)", limited],
  carol: ["carol (channels [])", none],
};

// [who, channel, subscribe, publish, presence]: "ok" or the error code
const cases: [keyof typeof WHO, string, string, string, string][] = [
  ["anon", "news:1", "ok", "forbidden", "forbidden"], // presence off on news:*
  ["anon", "public:1", "ok", "forbidden", "ok"], // never publishes, even where clients may
  ["anon", "chat:1", "forbidden", "forbidden", "forbidden"],
  ["anon", "nowhere", "unknown_channel", "unknown_channel", "unknown_channel"],
  ["anon", "bad name", "bad_request", "bad_request", "bad_request"],
  ["alice", "chat:1", "ok", "ok", "ok"],
  ["alice", "news:1", "ok", "forbidden", "forbidden"], // clientPublish: false
  ["alice", "private:x", "ok", "forbidden", "forbidden"],
  ["alice", "nowhere", "unknown_channel", "unknown_channel", "unknown_channel"],
  ["bob", "chat:team-a", "ok", "ok", "ok"],
  ["bob", "chat:other", "forbidden", "forbidden", "forbidden"], // claim limits
  ["bob", "news:1", "ok", "forbidden", "forbidden"],
  ["bob", "private:bob", "ok", "forbidden", "forbidden"],
  ["bob", "private:alice", "forbidden", "forbidden", "forbidden"],
  ["bob", "nowhere", "unknown_channel", "unknown_channel", "unknown_channel"], // rules first
  ["carol", "chat:1", "forbidden", "forbidden", "forbidden"], // an empty claim allows nothing
];

describe("permissions", () => {
  for (const [who, channel, sub, pub, pres] of cases) {
    const [label, id] = WHO[who]!;
    it(`${label} on ${JSON.stringify(channel)}: subscribe ${sub}, publish ${pub}, presence ${pres}`, () => {
      const code = (d: ReturnType<typeof canSubscribe>): string => (d.ok ? "ok" : d.code);
      assert.equal(code(canSubscribe(rules, id, channel)), sub);
      assert.equal(code(canPublish(rules, id, channel)), pub);
      assert.equal(code(canPresence(rules, id, channel)), pres);
    });
  }

  it("returns the matching rule when allowed", () => {
    const d = canSubscribe(rules, alice, "chat:9");
    assert.ok(d.ok);
    assert.equal(d.rule.match, "chat:*");
  });

  it("explains every refusal", () => {
    const msg = (d: ReturnType<typeof canSubscribe>): string => (d.ok ? "" : d.message);
    assert.match(msg(canPublish(rules, ANONYMOUS, "public:1")), /anonymous connections may not publish/);
    assert.match(msg(canSubscribe(rules, ANONYMOUS, "chat:1")), /anonymous connections may not subscribe to "chat:1" \(rule "chat:\*" is not anonymous\)/);
    assert.match(msg(canPublish(rules, alice, "news:1")), /clientPublish: false/);
    assert.match(msg(canSubscribe(rules, limited, "chat:x")), /channels claim does not allow "chat:x"/);
    assert.match(msg(canPresence(rules, alice, "news:1")), /has no presence/);
    assert.match(msg(canSubscribe(rules, alice, "zzz")), /no channel rule matches "zzz"/);
    assert.match(msg(canPublish(rules, alice, "bad name")), /channel name has a character not allowed \(" " at 3\)/);
  });
});

describe("identityFromClaims", () => {
  const cases: [claims: unknown, result: RegExp | Partial<Identity>][] = [
    [{ sub: "u1" }, { anonymous: false, user: "u1", channels: null, expiresAt: undefined }],
    [{ sub: "u1", exp: 1767225600, info: { name: "U" } }, { user: "u1", expiresAt: 1767225600000, info: { name: "U" } }],
    [null, /not an object/],
    ["token", /not an object/],
    [{}, /no sub/],
    [{ sub: "" }, /no sub/],
    [{ sub: 7 }, /no sub/],
    [{ sub: "u", channels: "chat:*" }, /list of strings/],
    [{ sub: "u", channels: ["a", 1] }, /list of strings/],
    [{ sub: "u", exp: "soon" }, /exp must be a number/],
  ];
  for (const [claims, result] of cases) {
    it(`${JSON.stringify(claims)} → ${result instanceof RegExp ? result : "ok"}`, () => {
      const r = identityFromClaims(claims);
      if (result instanceof RegExp) {
        assert.equal(r.ok, false);
        assert.match(r.ok ? "" : r.message, result);
      } else {
        assert.ok(r.ok);
        for (const [k, v] of Object.entries(result)) assert.deepEqual(r.identity[k as keyof Identity], v, k);
      }
    });
  }
  it("compiles the channels claim", () => {
    assert.deepEqual(limited.channels?.map((g) => g.source), ["chat:team-*", "news:*", "private:bob"]);
  });
  it("expiry is judged against the given clock", () => {
    const id = identity({ sub: "u", exp: 100 });
    assert.equal(isExpired(id, 99_999), false);
    assert.equal(isExpired(id, 100_000), true);
    assert.equal(isExpired(alice, Number.MAX_SAFE_INTEGER), false);
    assert.equal(isExpired(ANONYMOUS, 0), false);
  });
});
