import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runVtc, type VtcResult } from "../vtc/run.ts";

/**
 * The protocol-abuse regression suite: every `test/vtc/*.vtc` run by varnishtest
 * against a real gateway (see test/vtc/run.ts). Each file states the vector, the status
 * the client must get and what the fake backend must (or must not) receive.
 *
 * KNOWN lists the vectors the gateway still gets wrong, with the issue part that fixes
 * them: each must fail today, and the test says so the day it passes, so the list can
 * only shrink.
 */

const DIR = fileURLToPath(new URL("../vtc/", import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".vtc")).sort();

const KNOWN: Record<string, string> = {
  "chunk-abuse-late.vtc": "a bad chunk after the head was forwarded resets the client instead of answering 400",
  "expect-continue.vtc": "a final response sent before the request body is complete lacks Connection: close",
  "leading-crlf.vtc": "empty lines before a request line are refused instead of skipped (RFC 9112 §2.2)",
};

/** Final statuses the clients received, in the order the log shows them (interim 1xx left out). */
function clientStatuses(log: string): number[] {
  const out: number[] = [];
  for (const m of log.matchAll(/^\*{4} c\d+\s+rxhdr\|HTTP\/1\.[01] (\d{3}) /gm)) {
    const s = Number(m[1]);
    if (s >= 200 || s === 101) out.push(s);
  }
  return out;
}

const results = new Map<string, VtcResult>();

describe("VTest protocol-abuse suite (varnishtest against a real gateway)", { concurrency: 3 }, () => {
  for (const file of FILES) {
    test(file, async () => {
      const r = await runVtc(join(DIR, file), { verbose: true });
      results.set(file, r);
      const known = KNOWN[file];
      if (known === undefined) assert.ok(r.ok, `${file} failed:\n${failureLines(r.log)}`);
      else assert.ok(!r.ok, `${file} passes now: remove it from KNOWN in ${import.meta.url} (it was: ${known})`);
    });
  }
});

describe("VTest suite bookkeeping", () => {
  test("every known failure names a file of the suite", () => {
    for (const f of Object.keys(KNOWN)) assert.ok(FILES.includes(f), `KNOWN names ${f}, which is not in test/vtc/`);
  });

  test("refused requests are missing from the access log (issue 14 part 2 fixes it)", () => {
    // Every response a client got, the gateway's own refusals included, should be one
    // access-log line. Today only exchanges that reached a backend are logged.
    let missing = 0;
    for (const r of results.values()) {
      if (!r.ok) continue;
      const got = clientStatuses(r.log).sort();
      const logged = r.access.map((a) => a.status as number).sort();
      if (got.join() !== logged.join()) missing++;
    }
    assert.ok(results.size > 0, "the suite ran first");
    assert.ok(missing > 0, "every response is in the access log now: turn this test around (assert equality)");
  });
});

/** The lines of a varnishtest log that say what went wrong (the whole log is long). */
function failureLines(log: string): string {
  const lines = log.split("\n");
  const bad = lines.filter((l) => /^(-{4}|\* {4}top|#)/.test(l) || /rxhdr\|HTTP/.test(l));
  return bad.slice(-40).join("\n");
}
