/**
 * Channel rules (the hub config's `channels:` list, DESIGN §6) and channel names.
 *
 * A rule says what a channel allows: history (how many publications, for how long),
 * presence, publishing from clients, subscribing without a token. The first rule whose
 * glob matches the channel name wins; a name no rule matches is an `unknown_channel`.
 * Channel names are checked before any rule: at most {@link MAX_CHANNEL_LENGTH}
 * characters from {@link CHANNEL_CHARS}. That keeps names safe inside broker keys
 * (no `{`/`}`, which are Redis Cluster hash tags) and never globs themselves (no `*`/`?`).
 *
 * @example
 * const rules = compileRules([
 *   { match: "chat:*", history: { size: 1000, ttlMs: 3_600_000 }, presence: true, clientPublish: true, anonymous: false },
 *   { match: "*", history: { size: 100, ttlMs: 300_000 }, presence: false, clientPublish: false, anonymous: true },
 * ]);
 * matchChannel(rules, "chat:1")?.presence; // true
 * checkChannelName("chat room");           // "channel name has a character not allowed (' ' at 4); ..."
 */
import type { HistoryOptions } from "../broker/types.ts";
import { compileGlob, type Glob } from "./glob.ts";

/** One entry of `channels:` with defaults applied and durations in ms. */
export interface ChannelRule {
  /** A glob: `*` any run of characters (`:` included), `?` one character. */
  match: string;
  /** null: no history (no offsets, no recovery). */
  history: HistoryOptions | null;
  /** Presence list and join/leave pushes. */
  presence: boolean;
  /** Clients may publish (where their token's `channels` claim allows). */
  clientPublish: boolean;
  /** Connections without a token may subscribe (never publish). */
  anonymous: boolean;
}

/** A rule with its glob compiled (build once per config, not per lookup). */
export interface CompiledRule extends ChannelRule {
  readonly glob: Glob;
}

/** The longest channel name accepted. */
export const MAX_CHANNEL_LENGTH = 255;

/** Every character a channel name may use, besides ASCII letters and digits. */
export const CHANNEL_CHARS = "A-Z a-z 0-9 _ - : . @ / = , + ! ~ # $";

// letters, digits and the punctuation above, indexed by char code
const ALLOWED = new Uint8Array(128);
for (let c = 48; c <= 57; c++) ALLOWED[c] = 1;
for (let c = 65; c <= 90; c++) ALLOWED[c] = 1;
for (let c = 97; c <= 122; c++) ALLOWED[c] = 1;
for (const ch of "_-:.@/=,+!~#$") ALLOWED[ch.charCodeAt(0)] = 1;

/**
 * Why a channel name is refused, or `null` when it is fine.
 *
 * @example
 * checkChannelName("chat:1");  // null
 * checkChannelName("");        // "channel name is empty"
 * checkChannelName("a{b}");    // "channel name has a character not allowed ('{' at 1); allowed: ..."
 */
export function checkChannelName(name: string, maxLength: number = MAX_CHANNEL_LENGTH): string | null {
  if (name.length === 0) return "channel name is empty";
  if (name.length > maxLength) return `channel name is longer than ${maxLength} characters (${name.length})`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || ALLOWED[c] !== 1) {
      return `channel name has a character not allowed (${JSON.stringify(name[i])} at ${i}); allowed: ${CHANNEL_CHARS}`;
    }
  }
  return null;
}

/**
 * Why a rule's glob is refused, or `null`: the same characters as channel names, plus `*`
 * and `?`.
 *
 * @example
 * checkRuleGlob("chat:*"); // null
 * checkRuleGlob("chat:{x}"); // "... not allowed ..."
 */
export function checkRuleGlob(match: string): string | null {
  if (match.length === 0) return "channel glob is empty";
  for (let i = 0; i < match.length; i++) {
    const c = match.charCodeAt(i);
    if (c === 42 || c === 63) continue;
    if (c >= 128 || ALLOWED[c] !== 1) {
      return `channel glob has a character not allowed (${JSON.stringify(match[i])} at ${i}); allowed: ${CHANNEL_CHARS}, * and ?`;
    }
  }
  return null;
}

/**
 * Problems with a rule list, each with its index (for config errors with a path):
 * bad globs, bad history numbers, and rules that can never match because an earlier
 * catch-all (`*`) or identical glob comes first.
 *
 * @example
 * ruleProblems([{ match: "*", ... }, { match: "chat:*", ... }]);
 * // [{ index: 1, message: "never used: rule 0 (\"*\") matches every channel first" }]
 */
export function ruleProblems(rules: readonly ChannelRule[]): { index: number; field: string; message: string }[] {
  const problems: { index: number; field: string; message: string }[] = [];
  rules.forEach((rule, index) => {
    const glob = checkRuleGlob(rule.match);
    if (glob !== null) problems.push({ index, field: "match", message: glob });
    if (rule.history !== null) {
      if (!Number.isSafeInteger(rule.history.size) || rule.history.size < 1) {
        problems.push({ index, field: "history.size", message: `history size must be a positive integer (got ${rule.history.size})` });
      }
      if (!Number.isSafeInteger(rule.history.ttlMs) || rule.history.ttlMs < 1000) {
        problems.push({ index, field: "history.ttl", message: `history ttl must be at least 1s (got ${rule.history.ttlMs} ms)` });
      }
    }
    const earlier = rules.findIndex((r, i) => i < index && (r.match === "*" || r.match === rule.match));
    if (earlier !== -1) {
      const why = rules[earlier]!.match === "*" ? "matches every channel first" : "has the same glob";
      problems.push({ index, field: "match", message: `never used: rule ${earlier} (${JSON.stringify(rules[earlier]!.match)}) ${why}` });
    }
  });
  return problems;
}

/**
 * Compiles every rule's glob, keeping the order (first match wins).
 *
 * @example
 * const rules = compileRules(config.channels);
 */
export function compileRules(rules: readonly ChannelRule[]): readonly CompiledRule[] {
  return rules.map((rule) => ({ ...rule, glob: compileGlob(rule.match) }));
}

/**
 * The first rule matching `name`, or `undefined` (an `unknown_channel`). Does not check
 * the name itself: call {@link checkChannelName} first.
 *
 * @example
 * matchChannel(rules, "chat:lobby")?.history; // { size: 1000, ttlMs: 3600000 }
 */
export function matchChannel(rules: readonly CompiledRule[], name: string): CompiledRule | undefined {
  for (const rule of rules) if (rule.glob.test(name)) return rule;
  return undefined;
}
