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

  test("every response a client got is one access-log line, refusals included, with the reason", () => {
    assert.ok(results.size > 0, "the suite ran first");
    for (const [file, r] of results) {
      if (!r.ok) continue;
      const got = clientStatuses(r.log).sort();
      const logged = r.access.map((a) => a.status as number).sort();
      assert.deepEqual(logged, got, `${file}: access-log statuses vs what the clients got`);
      for (const a of r.access) {
        const status = a.status as number;
        if (status >= 400 && a.backend === "") assert.ok(typeof a.reason === "string" && a.reason !== "" && typeof a.error === "string", `${file}: a refusal without its reason: ${JSON.stringify(a)}`);
      }
    }
  });
});

/** The lines of a varnishtest log that say what went wrong (the whole log is long). */
function failureLines(log: string): string {
  const lines = log.split("\n");
  const bad = lines.filter((l) => /^(-{4}|\* {4}top|#)/.test(l) || /rxhdr\|HTTP/.test(l));
  return bad.slice(-40).join("\n");
}
