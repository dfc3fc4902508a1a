// holdfast_errors_total{code}: the answers a real gateway gives itself, counted by their
// HF_ERR_* code and read back from the admin server's /metrics text.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:http2";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CACHE_MS, startAdmin } from "../../src/admin/server.ts";
import { ERROR_CODE_LIST, ERROR_CODES } from "../../src/errors.ts";
import { parseExposition } from "../support/admin.ts";
import { deadPort, httpBackend } from "../support/backends.ts";
import { startGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";

/** Every code a client can get, at 0. */
const ZEROS = Object.fromEntries(ERROR_CODE_LIST.filter((c) => ERROR_CODES[c].status !== undefined).map((c) => [c, 0]));

test("holdfast_errors_total counts a 404 (HTTP/1.1 and h2c), a 400 and a 502 through a real gateway by their HF_ERR_* codes, and nothing for a 200", async () => {
  const ok = await httpBackend("ok");
  const dead = await deadPort();
  const gw = await startGateway(`
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    protocols: [http1, h2c]
    routes:
      - { match: { pathPrefix: /ok }, backend: ok }
      - { match: { pathPrefix: /dead }, backend: dead }
backends:
  ok: { servers: [ { name: ok1, address: 127.0.0.1:${ok.port} } ] }
  dead: { servers: [ { name: dead1, address: 127.0.0.1:${dead} } ] }
`);
  const admin = await startAdmin(gw.gw, { listen: { host: "127.0.0.1", port: 0 }, token: undefined });
  const scrape = async (): Promise<Record<string, number>> => {
    await sleep(CACHE_MS + 10); // a fresh rendering, not the cached one
    const { samples, types } = parseExposition(await (await fetch(`${admin.url}/metrics`)).text());
    assert.equal(types.get("holdfast_errors_total"), "counter");
    return Object.fromEntries(samples.filter((s) => s.name === "holdfast_errors_total").map((s) => [s.labels.code!, s.value]));
  };
  try {
    assert.deepEqual(await scrape(), ZEROS, "one series per code a client can get, all 0 before any request");
    const base = `http://127.0.0.1:${gw.port()}`;
    const fine = await fetch(`${base}/ok`);
    assert.equal(fine.status, 200);
    await fine.text();
    const lost = await fetch(`${base}/nowhere`);
    assert.equal(lost.status, 404);
    await lost.text();
    const down = await fetch(`${base}/dead`);
    assert.equal(down.status, 502);
    await down.text();
    // Content-Length and Transfer-Encoding together: ambiguous framing, refused.
    const bad = await rawExchange(gw.port(), "GET /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert.match(bad.text, /^HTTP\/1\.1 400 /);
    assert.deepEqual(await scrape(), { ...ZEROS, HF_ERR_NO_ROUTE: 1, HF_ERR_BAD_REQUEST: 1, HF_ERR_CONNECT_REFUSED: 1 });
    // An HTTP/2 stream refused before any exchange counts the same way.
    const h2 = connect(base);
    try {
      const stream = h2.request({ ":path": "/nowhere" });
      const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
      assert.equal(headers[":status"], 404);
      stream.resume();
      await once(stream, "end");
    } finally {
      h2.close();
    }
    assert.deepEqual(await scrape(), { ...ZEROS, HF_ERR_NO_ROUTE: 2, HF_ERR_BAD_REQUEST: 1, HF_ERR_CONNECT_REFUSED: 1 });
  } finally {
    await admin.close();
    await gw.close();
    await ok.close();
  }
});
