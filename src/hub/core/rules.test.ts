import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileGlob, globMatch } from "./glob.ts";
import { checkChannelName, checkRuleGlob, compileRules, matchChannel, MAX_CHANNEL_LENGTH, ruleProblems, type ChannelRule } from "./rules.ts";

describe("glob", () => {
  const cases: [pattern: string, name: string, match: boolean][] = [
    ["chat:*", "chat:1", true],
    ["chat:*", "chat:room:1", true], // * crosses ':'
    ["chat:*", "chat:", true], // * matches the empty run
    ["chat:*", "chat", false],
    ["chat:*", "news:chat:1", false],
    ["*", "", true],
    ["*", "a:b:c", true],
    ["news", "news", true],
    ["news", "news2", false],
    ["news", "new", false],
    ["room-?", "room-1", true],
    ["room-?", "room-10", false],
    ["room-?", "room-", false],
    ["?", "", false],
    ["*:admin", "org:1:admin", true],
    ["*:admin", "org:1:admins", false],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["a*b?c", "ab_b_c", true],
    ["**", "x", true],
    ["*a", "aaaa", true],
    ["*ab", "aaab", true],
    ["*ab", "aaba", false],
    ["user#*", "user#42", true],
  ];
  for (const [pattern, name, match] of cases) {
    it(`${JSON.stringify(pattern)} ${match ? "matches" : "does not match"} ${JSON.stringify(name)}`, () => {
      assert.equal(globMatch(pattern, name), match);
      assert.equal(compileGlob(pattern).test(name), match, "compiled fast path agrees");
    });
  }
});

describe("channel names", () => {
  const cases: [name: string, problem: RegExp | null][] = [
    ["chat:1", null],
    ["user#42", null],
    ["$private:a/b=c,d+e!f~g@h.i_j-k", null],
    ["x".repeat(MAX_CHANNEL_LENGTH), null],
    ["", /is empty/],
    ["x".repeat(MAX_CHANNEL_LENGTH + 1), /longer than 255 characters \(256\)/],
    ["chat room", /not allowed \(" " at 4\)/],
    ["a{b}", /not allowed \("\{" at 1\)/], // Redis Cluster hash tags
    ["chat:*", /not allowed \("\*" at 5\)/], // never a glob
    ["chat:?", /not allowed \("\?" at 5\)/],
    ["café", /not allowed \("é" at 3\)/],
    ["a\nb", /not allowed \("\\n" at 1\)/],
  ];
  for (const [name, problem] of cases) {
    it(`${JSON.stringify(name.length > 20 ? name.slice(0, 10) + "…" : name)} → ${problem ?? "ok"}`, () => {
      const got = checkChannelName(name);
      if (problem === null) assert.equal(got, null);
      else assert.match(got ?? "", problem);
    });
  }
  it("takes a custom length limit", () => {
    assert.match(checkChannelName("abcd", 3) ?? "", /longer than 3/);
  });
  it("rule globs allow * and ? but not other characters", () => {
    assert.equal(checkRuleGlob("chat:*:?"), null);
    assert.match(checkRuleGlob("chat {x}") ?? "", /not allowed \(" " at 4\)/);
    assert.match(checkRuleGlob("") ?? "", /empty/);
  });
});

const rule = (match: string, extra: Partial<ChannelRule> = {}): ChannelRule => ({
  match,
  history: null,
  presence: false,
  clientPublish: false,
  anonymous: false,
  ...extra,
});

describe("matchChannel: first match wins", () => {
  const rules = compileRules([
    rule("chat:admin", { presence: false }),
    rule("chat:*", { presence: true, history: { size: 1000, ttlMs: 3_600_000 } }),
    rule("news-?", { anonymous: true }),
    rule("feed:*:live"),
  ]);
  const cases: [name: string, match: string | undefined][] = [
    ["chat:admin", "chat:admin"],
    ["chat:1", "chat:*"],
    ["chat:a:b", "chat:*"],
    ["news-1", "news-?"],
    ["news-12", undefined],
    ["feed:x:live", "feed:*:live"],
    ["feed:x:y:live", "feed:*:live"],
    ["feed:x:dead", undefined],
    ["other", undefined],
  ];
  for (const [name, match] of cases) {
    it(`${name} → ${match ?? "no rule"}`, () => {
      assert.equal(matchChannel(rules, name)?.match, match);
    });
  }
  it("keeps the rule's settings", () => {
    assert.deepEqual(matchChannel(rules, "chat:1")?.history, { size: 1000, ttlMs: 3_600_000 });
    assert.equal(matchChannel(rules, "chat:1")?.presence, true);
  });
});

describe("ruleProblems", () => {
  it("finds bad globs, bad history and unreachable rules, with their index", () => {
    const problems = ruleProblems([
      rule("chat:*"),
      rule("*", { history: { size: 0, ttlMs: 10 } }),
      rule("news"),
      rule("chat:*"),
      rule("a b"),
    ]);
    assert.deepEqual(
      problems.map((p) => [p.index, p.field]),
      [
        [1, "history.size"],
        [1, "history.ttl"],
        [2, "match"],
        [3, "match"],
        [4, "match"],
        [4, "match"],
      ],
    );
    assert.match(problems[2]!.message, /never used: rule 1 \("\*"\) matches every channel first/);
    assert.match(problems[3]!.message, /rule 0 \("chat:\*"\) has the same glob/);
  });
  it("accepts a sound list", () => {
    assert.deepEqual(ruleProblems([rule("chat:*", { history: { size: 10, ttlMs: 60_000 } }), rule("*")]), []);
  });
});
