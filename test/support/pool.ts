// Small helpers for the holdfast/pool tests.
import assert from "node:assert/strict";
import type { Pools } from "../../src/pool/index.ts";

/** GET `url` through `pools`, expecting 200; resolves to the body text. */
export async function okText(pools: Pools, url: string): Promise<string> {
  const res = await pools.request(url);
  assert.equal(res.statusCode, 200);
  return res.body.text();
}
