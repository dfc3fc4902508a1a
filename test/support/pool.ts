// Small helpers for the holdfast/pool tests.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Pools } from "../../src/pool/index.ts";

/** GET `url` through `pools`, expecting 200; resolves to the body text. */
export async function okText(pools: Pools, url: string): Promise<string> {
  const res = await pools.request(url);
  assert.equal(res.statusCode, 200);
  return res.body.text();
}

/** Polls `cond` every 10 ms; fails with `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
