import assert from "node:assert/strict";
import { test } from "node:test";
import { parseH2load } from "../../bench/tls.ts";

// The h2load report behind the h2 / h2c workloads (bench/tls.ts): what it reads must be
// what h2load printed, failures and non-2xx included.

const OUT = `finished in 3.03s, 959.33 req/s, 38.67KB/s
requests: 2878 total, 3378 started, 2878 done, 2870 succeeded, 8 failed, 1 errored, 2 timeout
status codes: 2860 2xx, 1 3xx, 4 4xx, 5 5xx
traffic: 116.00KB (118783) total, 29.92KB (30643) headers (space savings 89.25%), 33.73KB (34536) data
                     min         max         mean         sd        +/- sd
time for request:    62.51ms      1.65s    414.89ms    133.34ms    71.96%
time for connect:    26.14ms    396.80ms    250.13ms    119.26ms    54.00%
`;

test("h2load output: req/s, succeeded requests, failures and non-2xx, mean and max request time", () => {
  assert.deepEqual(parseH2load(OUT), { rps: 959.33, requests: 2870, errors: 11, non2xx: 10, mean_ms: 414.89, max_ms: 1650 });
});

test("h2load output that is not a report (h2load could not connect) has no numbers", () => {
  const r = parseH2load("starting benchmark...\nNo protocol negotiated. Aborted.\n");
  assert.equal(r.rps, null);
  assert.equal(r.requests, null);
});
