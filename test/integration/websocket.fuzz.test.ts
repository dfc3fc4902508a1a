import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fuzzSeed, hostileStream, modelFrames, mulberry32 } from "../../src/codec/ws/fuzz.kit.ts";
import { randomCuts } from "../../src/codec/ws/testing.kit.ts";
import { tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway } from "../support/gateway.ts";
import { rawExchange } from "../support/raw.ts";

/**
 * WebSocket frames through the frame-aware tunnel of a real gateway, both directions
 * hostile (reserved opcodes, fragmented and over-long control frames, huge lengths,
 * garbage), sent in random chunks while the gateway injects pings every 100 ms:
 * - the server gets the client's bytes exactly;
 * - the client gets the server's bytes exactly, plus the gateway's pings, each at a
 *   frame boundary of the server's stream and none after the stream stopped being
 *   frames (the tunnel went blind);
 * - the gateway stays up and its tunnel registry empties.
 * A tunnel not done 20 s after its client sent everything fails the test (a hang, not a slow machine).
 *   FUZZ_SEED=123         replay
 *   FUZZ_WS_TUNNELS=500   more connections (default 16)
 */
const SEED = fuzzSeed();
const TUNNELS = Number(process.env.FUZZ_WS_TUNNELS ?? 16);
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65";

interface Plan {
  toServer: Buffer;
  toClient: Buffer;
  clientCuts: number[];
  serverCuts: number[];
}

/** Writes `bytes` in the chunks `cuts` gives, yielding to the event loop between them. */
async function dribble(s: Socket, bytes: Buffer, cuts: number[], random: () => number): Promise<void> {
  for (let c = 0; c + 1 < cuts.length; c++) {
    s.write(bytes.subarray(cuts[c]!, cuts[c + 1]!));
    if (random() < 0.3) await sleep(Math.floor(random() * 3));
  }
}

/**
 * Walks `got` as `sent` with gateway pings (89 08 'h' 'f' …) spliced in at frame
 * boundaries: how many server bytes it holds, how many pings, and where it first
 * departs from that shape (-1: nowhere).
 */
function splice(sent: Buffer, got: Buffer): { server: number; pings: number; badAt: number } {
  const m = modelFrames(sent);
  const boundaries = new Set([0, ...m.frameEnds]);
  let i = 0, j = 0, pings = 0;
  while (j < got.length) {
    const ping = j + 10 <= got.length && got[j] === 0x89 && got[j + 1] === 8 && got[j + 2] === 0x68 && got[j + 3] === 0x66;
    if (ping && boundaries.has(i) && i < m.breakAt && !got.subarray(j, j + 4).equals(sent.subarray(i, i + 4))) {
      j += 10;
      pings++;
      continue;
    }
    if (i >= sent.length || got[j] !== sent[i]) return { server: i, pings, badAt: j };
    i++;
    j++;
  }
  return { server: i, pings, badAt: -1 };
}

test("WebSocket fuzz through the frame-aware tunnel: hostile frames both ways, pings injected, nothing lost or reordered", async () => {
  const random = mulberry32(SEED);
  const plans = new Map<string, Plan>();
  const received = new Map<string, Buffer[]>();
  const backend = await tcpBackend((s) => {
    let head = Buffer.alloc(0);
    let up: Buffer[] | undefined;
    s.on("data", (c: Buffer) => {
      if (up !== undefined) {
        up.push(c);
        return;
      }
      head = Buffer.concat([head, c]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const text = head.toString("latin1", 0, end);
      const key = /sec-websocket-key: *(\S+)/i.exec(text)?.[1];
      if (key === undefined) {
        s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        return;
      }
      const id = /^GET \/(\S+) /.exec(text)![1]!;
      const plan = plans.get(id)!;
      up = [head.subarray(end + 4)];
      received.set(id, up);
      const accept = createHash("sha1").update(key + GUID).digest("base64");
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      void dribble(s, plan.toClient, plan.serverCuts, random);
    });
    s.on("end", () => s.end());
    s.on("error", () => {});
  });
  const gw = await startGateway(simpleConfig([{ name: "s1", port: backend.port }], "    websocket: { pingInterval: 100ms, pongTimeout: 30s }"));
  try {
    let pings = 0;
    // At most 32 tunnels at a time: a long run (npm run fuzz) opens hundreds, on a shared machine.
    let nextTunnel = 0;
    const one = async (n: number): Promise<void> => {
      const id = `t${n}`;
      const hostility = random() < 0.5 ? 0 : 0.05 + random() * 0.2;
      const toServer = hostileStream(random, { mask: true, hostility, frames: 1 + Math.floor(random() * 12) });
      const toClient = hostileStream(random, { mask: false, hostility, frames: 1 + Math.floor(random() * 12) });
      const plan = { toServer, toClient, clientCuts: randomCuts(random, toServer.length, 10), serverCuts: randomCuts(random, toClient.length, 10) };
      plans.set(id, plan);
      const ctx = `tunnel ${id}, replay: FUZZ_SEED=${SEED}`;
      const c = connect(gw.port(), "127.0.0.1");
      c.on("error", () => {});
      const chunks: Buffer[] = [];
      c.on("data", (d: Buffer) => chunks.push(d));
      c.write(`GET /${id} HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from(id.padEnd(16, "x")).toString("base64")}\r\n\r\n`);
      await dribble(c, toServer, plan.clientCuts, random);
      // Both directions delivered, the ping interval passed a few times, or 5 s.
      const started = Date.now();
      for (;;) {
        const got = Buffer.concat(chunks);
        const head = got.indexOf("\r\n\r\n");
        const up = Buffer.concat(received.get(id) ?? []).length;
        // Server bytes delivered, pings not counted (they would end the wait early).
        const down = head > 0 ? splice(toClient, got.subarray(head + 4)) : { server: 0, badAt: -1 };
        if ((down.server >= toClient.length || down.badAt >= 0) && up >= toServer.length && Date.now() - started > 350) break;
        assert.ok(Date.now() - started < 20_000, `tunnel stalled (client got ${got.length}, server got ${up}): ${ctx}`);
        await sleep(20);
      }
      const got = Buffer.concat(chunks);
      assert.match(got.toString("latin1", 0, 12), /^HTTP\/1\.1 101/, ctx);
      assert.ok(Buffer.concat(received.get(id)!).equals(toServer), `the server got the client's bytes exactly: ${ctx}`);
      const down = splice(toClient, got.subarray(got.indexOf("\r\n\r\n") + 4));
      assert.equal(down.badAt, -1, `client byte ${down.badAt} is neither the next server byte (${down.server}) nor a ping at a frame boundary: ${ctx}`);
      assert.equal(down.server, toClient.length, `the client got all the server's bytes: ${ctx}`);
      pings += down.pings;
      c.destroy();
    };
    await Promise.all(Array.from({ length: Math.min(32, TUNNELS) }, async () => {
      while (nextTunnel < TUNNELS) await one(nextTunnel++);
    }));
    for (let k = 0; k < 100 && gw.gw.tunnels.size > 0; k++) await sleep(20);
    assert.equal(gw.gw.tunnels.size, 0, "every tunnel closed");
    const after = await rawExchange(gw.port(), "GET /still-up HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert.match(after.text, /^HTTP\/1\.1 200 /, "the gateway still answers");
    assert.ok(pings > 0, `the gateway injected pings (seed ${SEED})`);
  } finally {
    await gw.close();
    await backend.close();
  }
});
